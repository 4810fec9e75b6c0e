package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/internal/webhooktest"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/webhook/sendgrid"
)

// queuedEvents returns the occurred_at of every queued event, by id.
func (f *fixture) queuedTimes(t *testing.T) map[string]time.Time {
	t.Helper()
	tasks, err := f.ins.ListPendingTasks(jobs.QueueIngest)
	if err != nil && !strings.Contains(err.Error(), "not found") {
		t.Fatal(err)
	}
	out := map[string]time.Time{}
	for _, task := range tasks {
		var p jobs.IngestEventsPayload
		if err := json.Unmarshal(task.Payload, &p); err != nil {
			t.Fatal(err)
		}
		for _, ev := range p.Events {
			out[ev.ID] = ev.OccurredAt
		}
	}
	return out
}

// metric returns the /metrics lines that contain every one of parts.
func (f *fixture) metric(t *testing.T, parts ...string) []string {
	t.Helper()
	resp, err := f.srv.Client().Get(f.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out []string
next:
	for _, l := range strings.Split(string(body), "\n") {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

// Events dated beyond the future skew (default 24h) are refused one by
// one with a reason; events before 2000 are accepted with a warning and
// counted; an event without occurred_at happened when it was received.
func TestPostEventsJudgesDates(t *testing.T) {
	t.Parallel()
	ev := func(id string, at time.Time) string {
		return fmt.Sprintf(`{"id":%q,"type":"web.visit","email":"jane@acme.example","occurred_at":%q}`, id, at.UTC().Format(time.RFC3339))
	}
	now := time.Now()
	for _, tc := range []struct {
		name     string
		body     string
		accepted []string
		rejected map[int]string // index → part of the reason
		warned   map[int]string // index → flag
		verdict  string         // counted in longtail_event_dates_total
	}{
		{"within a day ahead", "[" + ev("soon", now.Add(20*time.Hour)) + "]", []string{"soon"}, nil, nil, ""},
		{"two days ahead", "[" + ev("ok", now) + "," + ev("ahead", now.Add(49*time.Hour)) + "]", []string{"ok"},
			map[int]string{1: "in the future, beyond the 24h allowed (ingest.max_future_skew)"}, nil, `verdict="future"`},
		{"in 2027", "[" + ev("y2027", time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)) + "]", nil,
			map[int]string{0: "occurred_at: 2027-06-01T00:00:00Z is"}, nil, `verdict="future"`},
		{"in 1999", "[" + ev("ok2", now) + "," + ev("y1999", time.Date(1999, 5, 1, 0, 0, 0, 0, time.UTC)) + "]", []string{"ok2", "y1999"},
			nil, map[int]string{1: "before_2000"}, `verdict="before_2000"`},
		{"no occurred_at", `[{"id":"undated","type":"web.visit","email":"jane@acme.example"}]`, []string{"undated"}, nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			before := time.Now()
			r := f.call(t, "POST", "/v1/events", adminKey, "application/json", tc.body)
			var got struct {
				Accepted int
				Rejected []struct {
					Index int
					Error string
				}
				Warnings []struct {
					Index   int
					Flag    string
					Warning string
				}
			}
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatalf("%d %s: %v", r.status, r.body, err)
			}
			if want := map[bool]int{true: 200, false: 422}[len(tc.accepted) > 0]; r.status != want {
				t.Errorf("status %d, want %d: %s", r.status, want, r.body)
			}
			if got.Accepted != len(tc.accepted) || len(got.Rejected) != len(tc.rejected) || len(got.Warnings) != len(tc.warned) {
				t.Fatalf("got %s, want accepted %v, rejected %v, warned %v", r.body, tc.accepted, tc.rejected, tc.warned)
			}
			for _, rj := range got.Rejected {
				if !strings.Contains(rj.Error, tc.rejected[rj.Index]) || tc.rejected[rj.Index] == "" {
					t.Errorf("rejected %+v, want index in %v with that reason", rj, tc.rejected)
				}
			}
			for _, w := range got.Warnings {
				if w.Flag != tc.warned[w.Index] || !strings.Contains(w.Warning, "before 2000") {
					t.Errorf("warning %+v, want %v", w, tc.warned)
				}
			}
			queued := f.queuedTimes(t)
			if len(queued) != len(tc.accepted) {
				t.Errorf("queued %v, want %v", queued, tc.accepted)
			}
			for _, id := range tc.accepted {
				if _, ok := queued[id]; !ok {
					t.Errorf("%s not queued: %v", id, queued)
				}
			}
			if at, ok := queued["undated"]; ok && (at.Before(before.Add(-time.Second)) || at.After(time.Now().Add(time.Second))) {
				t.Errorf("an undated event was given occurred_at %s, want the time it was received", at)
			}
			if tc.verdict != "" {
				if m := f.metric(t, "longtail_event_dates_total{", `edge="api"`, tc.verdict); len(m) != 1 || !strings.HasSuffix(m[0], " 1") {
					t.Errorf("metric for %s: %q", tc.verdict, m)
				}
			}
		})
	}
}

// A provider's delivery keeps its good events and drops (and counts as
// ignored) the ones dated beyond the skew: refusing it whole would make
// the provider retry the good ones with the bad one forever.
func TestWebhookDropsFutureEvents(t *testing.T) {
	t.Parallel()
	sg := webhooktest.NewSendGrid(t)
	p, err := sendgrid.New(sendgrid.Config{PublicKey: sg.PublicKey(), MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f := setup(t, p)
	good := webhooktest.SendGridEvents(2, 2, time.Now(), "good")
	ahead := webhooktest.SendGridEvents(3, 3, time.Now().Add(72*time.Hour), "ahead")
	body := append(bytes.TrimSuffix(good, []byte("]\r\n")), ',')
	body = append(body, ahead[1:]...)
	r := postSigned(t, f, sg, body, body)
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"accepted":2`)) || !bytes.Contains(r.body, []byte(`"ignored":3`)) {
		t.Fatalf("delivery: %d %s, want 2 accepted, 3 ignored", r.status, r.body)
	}
	queued := f.queuedTimes(t)
	if len(queued) != 2 {
		t.Errorf("queued %v, want the 2 good events", queued)
	}
	for id := range queued {
		if !strings.Contains(id, "good") {
			t.Errorf("queued %s, dated 3 days ahead", id)
		}
	}
	if m := f.metric(t, "longtail_event_dates_total{", `edge="sendgrid"`, `verdict="future"`); len(m) != 1 || !strings.HasSuffix(m[0], " 3") {
		t.Errorf("future metric: %q", m)
	}
	if m := f.metric(t, "longtail_webhook_ignored_total{", `type="future"`); len(m) != 1 || !strings.HasSuffix(m[0], " 3") {
		t.Errorf("ignored metric: %q", m)
	}
}
