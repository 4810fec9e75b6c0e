package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/httpapi"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/webhooktest"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/webhook"
	"github.com/longtailhq/longtail/webhook/sendgrid"
)

// queued returns the events of every pending ingest task.
func (f *fixture) queued(t *testing.T) [][]string {
	t.Helper()
	tasks, err := f.ins.ListPendingTasks(jobs.QueueIngest)
	if err != nil && !strings.Contains(err.Error(), "not found") {
		t.Fatal(err)
	}
	var out [][]string
	for _, task := range tasks {
		var p jobs.IngestEventsPayload
		if err := json.Unmarshal(task.Payload, &p); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, ev := range p.Events {
			ids = append(ids, string(ev.Type)+" "+ev.ID+" "+ev.Topic)
		}
		out = append(out, ids)
	}
	return out
}

func TestPostEvents(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Format(time.RFC3339)
	ev := func(id, typ string) string {
		return fmt.Sprintf(`{"id":%q,"type":%q,"email":"jane@acme.example","occurred_at":%q,"url":"https://v.example/x?lt_topic=storage"}`, id, typ, now)
	}
	tests := []struct {
		name, ctype, body string
		status            int
		accepted          int
		rejected          []int // indexes
		code              string
	}{
		{"array", "application/json", "[" + ev("a1", "email.open") + "," + ev("a2", "web.visit") + "]", 200, 2, nil, ""},
		{"ndjson with a bad item", "application/x-ndjson", ev("n1", "email.open") + "\n\n" + `{"id":"n2","type":"email.opne","email":"j@a.example","occurred_at":"` + now + `"}` + "\n" + ev("n3", "email.click") + "\n", 200, 2, []int{1}, ""},
		{"item that is not an event", "application/json", "[" + ev("b1", "email.open") + `,{"id":"b2","colour":"blue"}, 7]`, 200, 1, []int{1, 2}, ""},
		{"all invalid", "application/json", `[{"id":"x","type":"purchase","occurred_at":"` + now + `"}]`, 422, 0, []int{0}, ""},
		{"nothing parses", "application/x-ndjson", "not json\nnor this\n", 400, 0, nil, "bad_json"},
		{"broken array", "application/json", `[{"id":`, 400, 0, nil, "bad_json"},
		{"empty", "application/json", ``, 400, 0, nil, "bad_json"},
		{"too many events", "application/json", "[" + strings.Repeat(ev("m", "email.open")+",", 3) + ev("m4", "email.open") + "]", 413, 0, nil, "too_many_events"},
		{"wrong media type", "text/csv", "a,b", 415, 0, nil, "unsupported_media_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			r := f.call(t, "POST", "/v1/events", adminKey, tc.ctype, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.code != "" {
				if got := errorCode(t, r); got != tc.code {
					t.Errorf("code %q, want %q", got, tc.code)
				}
				if q := f.queued(t); len(q) != 0 {
					t.Errorf("a refused request queued %v", q)
				}
				return
			}
			var got struct {
				Accepted int
				Rejected []struct {
					Index int
					Error string
				}
			}
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Accepted != tc.accepted || len(got.Rejected) != len(tc.rejected) {
				t.Fatalf("got %s, want accepted %d rejected %v", r.body, tc.accepted, tc.rejected)
			}
			for i, idx := range tc.rejected {
				if got.Rejected[i].Index != idx || got.Rejected[i].Error == "" {
					t.Errorf("rejected[%d] = %+v, want index %d with a reason", i, got.Rejected[i], idx)
				}
			}
			q := f.queued(t)
			if tc.accepted == 0 {
				if len(q) != 0 {
					t.Errorf("nothing accepted but %v queued", q)
				}
				return
			}
			if len(q) != 1 || len(q[0]) != tc.accepted {
				t.Fatalf("queued %v, want one task of %d events", q, tc.accepted)
			}
			if !strings.HasSuffix(q[0][0], " storage") {
				t.Errorf("topic not assigned from lt_topic link: %q", q[0][0])
			}
		})
	}
	t.Run("needs the admin key", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		if r := f.call(t, "POST", "/v1/events", "", "application/json", "["+ev("z", "email.open")+"]"); r.status != 401 {
			t.Errorf("status %d", r.status)
		}
	})
}

func dbsize(t *testing.T, rdb *redis.Client) int64 {
	t.Helper()
	n, err := rdb.DBSize(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWebhookSignatureAndState(t *testing.T) {
	t.Parallel()
	sg := webhooktest.NewSendGrid(t)
	p, err := sendgrid.New(sendgrid.Config{PublicKey: sg.PublicKey(), MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f := setup(t, p)
	body := webhooktest.SendGridEvents(5, 5, time.Now(), "sig")
	post := func(body []byte, mutate func(h http.Header)) response {
		req, _ := http.NewRequest("POST", f.srv.URL+"/webhooks/sendgrid", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		sg.Sign(req.Header, body, time.Now())
		if mutate != nil {
			mutate(req.Header)
		}
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return response{resp.StatusCode, b, resp.Header}
	}
	before := dbsize(t, f.rdb)
	flipped := bytes.Clone(body)
	flipped[len(flipped)/2] ^= 0x01
	refusals := map[string]func() response{
		"flipped signature byte": func() response {
			return post(body, func(h http.Header) {
				s := []byte(h.Get("X-Twilio-Email-Event-Webhook-Signature"))
				s[10] ^= 0x01
				h.Set("X-Twilio-Email-Event-Webhook-Signature", string(s))
			})
		},
		"flipped timestamp": func() response {
			return post(body, func(h http.Header) {
				h.Set("X-Twilio-Email-Event-Webhook-Timestamp", h.Get("X-Twilio-Email-Event-Webhook-Timestamp")+"1")
			})
		},
		"no signature": func() response {
			return post(body, func(h http.Header) { h.Del("X-Twilio-Email-Event-Webhook-Signature") })
		},
	}
	for name, do := range refusals {
		r := do()
		if r.status != 401 || errorCode(t, r) != "unauthorized" {
			t.Errorf("%s: status %d %s, want 401", name, r.status, r.body)
		}
	}
	if r := postSigned(t, f, sg, body, flipped); r.status != 401 {
		t.Errorf("flipped body byte: status %d, want 401", r.status)
	}
	if after := dbsize(t, f.rdb); after != before {
		t.Errorf("refused deliveries changed Redis: %d keys before, %d after", before, after)
	}
	if r := post(body, nil); r.status != 200 || !bytes.Contains(r.body, []byte(`"accepted":5`)) {
		t.Fatalf("valid delivery: %d %s", r.status, r.body)
	}
	if q := f.queued(t); len(q) != 1 || len(q[0]) != 5 {
		t.Errorf("queued %v, want one task of 5 events", q)
	}
	// The same delivery again is absorbed by the task id while queued.
	if r := post(body, nil); r.status != 200 {
		t.Fatalf("redelivery: %d %s", r.status, r.body)
	}
	if q := f.queued(t); len(q) != 1 {
		t.Errorf("redelivery queued a second task: %v", q)
	}
	wrongType := post(body, func(h http.Header) { h.Set("Content-Type", "text/html") })
	if wrongType.status != 415 {
		t.Errorf("text/html body: %d", wrongType.status)
	}
	if r := f.call(t, "POST", "/webhooks/mailgun", "", "application/json", "{}"); r.status != 404 {
		t.Errorf("unconfigured provider: %d, want 404", r.status)
	}
}

// postSigned signs signedBody but sends sentBody.
func postSigned(t *testing.T, f *fixture, sg *webhooktest.SendGrid, signedBody, sentBody []byte) response {
	t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+"/webhooks/sendgrid", bytes.NewReader(sentBody))
	req.Header.Set("Content-Type", "application/json")
	sg.Sign(req.Header, signedBody, time.Now())
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, b, resp.Header}
}

func TestRedisDownAnswers503(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	rdb := redis.NewClient(srv.Options())
	defer rdb.Close()
	client := asynq.NewClientFromRedisClient(rdb)
	defer client.Close()
	sg := webhooktest.NewSendGrid(t)
	p, err := sendgrid.New(sendgrid.Config{PublicKey: sg.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Keys: []string{adminKey}}, httpapi.Deps{
		Ready:     func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		Sink:      topicEdge(t, jobs.NewEventQueue(client, 2*time.Second)),
		Providers: []webhook.Provider{p},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(api.Handler())
	defer hs.Close()
	f := &fixture{srv: hs, rdb: rdb, ins: asynq.NewInspectorFromRedisClient(rdb)}
	body := webhooktest.SendGridEvents(3, 3, time.Now(), "down")

	srv.Stop()
	r := postSigned(t, f, sg, body, body)
	if r.status != 503 || r.header.Get("Retry-After") == "" || errorCode(t, r) != "unavailable" {
		t.Errorf("webhook with Redis down: %d %s (Retry-After %q), want 503 with Retry-After", r.status, r.body, r.header.Get("Retry-After"))
	}
	if r := f.call(t, "GET", "/readyz", "", "", ""); r.status != 503 {
		t.Errorf("/readyz with Redis down: %d", r.status)
	}
	if r := f.call(t, "GET", "/healthz", "", "", ""); r.status != 200 {
		t.Errorf("/healthz with Redis down: %d (the process is alive)", r.status)
	}

	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	// The provider retries the same delivery: now it is queued.
	if r := postSigned(t, f, sg, body, body); r.status != 200 {
		t.Fatalf("retry after Redis is back: %d %s", r.status, r.body)
	}
	if q := f.queued(t); len(q) != 1 || len(q[0]) != 3 {
		t.Errorf("queued %v, want the 3 events", q)
	}
}

// Authentic items longtail does not score are acknowledged and counted per
// provider and type, not refused.
func TestWebhookCountsUnmappedTypes(t *testing.T) {
	t.Parallel()
	sg := webhooktest.NewSendGrid(t)
	p, err := sendgrid.New(sendgrid.Config{PublicKey: sg.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	f := setup(t, p)
	ts := time.Now().Unix()
	body := []byte(fmt.Sprintf(`[{"email":"a@b.example","timestamp":%d,"event":"processed","sg_event_id":"p1"},`+
		`{"email":"a@b.example","timestamp":%d,"event":"deferred","sg_event_id":"p2"},`+
		`{"email":"a@b.example","timestamp":%d,"event":"open","sg_event_id":"p3"}]`+"\r\n", ts, ts, ts))
	if r := postSigned(t, f, sg, body, body); r.status != 200 || !bytes.Contains(r.body, []byte(`"accepted":1,"ignored":2`)) {
		t.Fatalf("delivery: %d %s", r.status, r.body)
	}
	m := f.call(t, "GET", "/metrics", "", "", "")
	for _, want := range []string{
		`longtail_webhook_ignored_total{provider="sendgrid",type="processed"} 1`,
		`longtail_webhook_ignored_total{provider="sendgrid",type="deferred"} 1`,
		`longtail_webhook_events_total{provider="sendgrid"} 1`,
	} {
		if !bytes.Contains(m.body, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
