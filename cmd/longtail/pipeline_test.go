package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/webhooktest"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/tracking"
)

type timelineItem struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	OccurredAt time.Time `json:"occurred_at"`
	Topic      string    `json:"topic"`
	Points     float64   `json:"points"`
}

type contactJSON struct {
	ID        string             `json:"id"`
	PartnerID string             `json:"partner_id"`
	Score     float64            `json:"score"`
	Interests map[string]float64 `json:"interests"`
	Timeline  []timelineItem     `json:"timeline"`
}

func postSendGrid(t *testing.T, s *service, sg *webhooktest.SendGrid, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/webhooks/sendgrid", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	sg.Sign(req.Header, body, time.Now())
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// sendgridBatch is a real-shaped SendGrid delivery for one recipient.
func sendgridBatch(email string, at time.Time, prefix string) []byte {
	ts := at.Unix()
	return []byte(fmt.Sprintf(`[`+
		`{"email":%q,"timestamp":%d,"event":"delivered","sg_event_id":"%s-d","sg_message_id":"m1.filter1","category":["newsletter"]},`+
		`{"email":%q,"timestamp":%d,"event":"open","sg_event_id":"%s-o","sg_message_id":"m1.filter1","useragent":"Mozilla/5.0"},`+
		`{"email":%q,"timestamp":%d,"event":"click","sg_event_id":"%s-c","sg_message_id":"m1.filter1","url":"https://vendor.example/security/edr","useragent":"Mozilla/5.0"},`+
		`{"email":%q,"timestamp":%d,"event":"processed","sg_event_id":"%s-p","sg_message_id":"m1.filter1"}`+
		"]\r\n", email, ts-120, prefix, email, ts-60, prefix, email, ts, prefix, email, ts-200, prefix))
}

func TestWebhookTwiceShowsEachEventOnce(t *testing.T) {
	t.Parallel()
	sg := webhooktest.NewSendGrid(t)
	cfg := filepath.Join(t.TempDir(), "longtail.yaml")
	if err := os.WriteFile(cfg, []byte("topics:\n  - topic: security\n    url_contains: [/security/]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startService(t,
		"LONGTAIL_CONFIG="+cfg,
		"LONGTAIL_REDIS_URL="+redistest.URL(t),
		"LONGTAIL_WEBHOOKS_SENDGRID_PUBLIC_KEY="+sg.PublicKey(),
	)
	body := sendgridBatch("Jane.Doe@Acme.example", time.Now(), "twice")
	for i := 0; i < 2; i++ {
		if code, b := postSendGrid(t, s, sg, body); code != 200 || !strings.Contains(b, `"accepted":3`) {
			t.Fatalf("delivery %d: %d %s", i+1, code, b)
		}
	}
	// The second copy is one more task, or none when it met the first
	// still queued under the same task id.
	if n := s.settle(t, jobs.QueueIngest); n < 1 || n > 2 {
		t.Fatalf("two deliveries made %d ingest tasks, want 1 or 2", n)
	}
	var c contactJSON
	if code := s.do(t, "GET", "/v1/contacts/jane.doe@acme.example", "", nil, &c); code != 200 || len(c.Timeline) != 3 {
		t.Fatalf("GET contact = %d, timeline %+v, want 3 items", code, c.Timeline)
	}
	// A third copy after the first was processed: a task of its own (the
	// first one's id is free again), which the scorer's dedup absorbs.
	before := s.settle(t, jobs.QueueIngest)
	if code, _ := postSendGrid(t, s, sg, body); code != 200 {
		t.Fatalf("third delivery: %d", code)
	}
	s.waitTasks(t, jobs.QueueIngest, before+1)
	c = contactJSON{}
	if code := s.do(t, "GET", "/v1/contacts/jane.doe@acme.example", "", nil, &c); code != 200 {
		t.Fatal(code)
	}
	seen := map[string]int{}
	for _, it := range c.Timeline {
		seen[it.ID]++
		if it.OccurredAt.IsZero() || it.Type == "" {
			t.Errorf("timeline item lacks fields: %+v", it)
		}
	}
	want := map[string]string{"sendgrid:twice-d": "email.delivered", "sendgrid:twice-o": "email.open", "sendgrid:twice-c": "email.click"}
	if len(c.Timeline) != len(want) {
		t.Errorf("timeline has %d items, want %d: %+v", len(c.Timeline), len(want), c.Timeline)
	}
	for id, typ := range want {
		if seen[id] != 1 {
			t.Errorf("event %s appears %d times in the timeline, want once", id, seen[id])
		}
		for _, it := range c.Timeline {
			if it.ID == id && it.Type != typ {
				t.Errorf("event %s has type %s, want %s", id, it.Type, typ)
			}
		}
	}
	for _, it := range c.Timeline {
		if it.Type == "email.click" && it.Topic != "security" {
			t.Errorf("click topic = %q, want security (topic rule on the URL)", it.Topic)
		}
	}
	if c.PartnerID != "unassigned" {
		t.Errorf("unknown email filed under %q, want the unassigned partner", c.PartnerID)
	}
	if c.Score < 5.9 || c.Score > 6.01 {
		t.Errorf("contact score %.3f, want 6 (open 1 + click 5), counted once", c.Score)
	}
}

func TestRedisOutageLosesNothing(t *testing.T) {
	t.Parallel()
	sg := webhooktest.NewSendGrid(t)
	srv := redistest.StartServer(t)
	s := startService(t,
		"LONGTAIL_REDIS_URL="+srv.URL(),
		"LONGTAIL_WEBHOOKS_SENDGRID_PUBLIC_KEY="+sg.PublicKey(),
	)
	body := sendgridBatch("ops@partner.example", time.Now(), "outage")
	srv.Stop()
	code, b := postSendGrid(t, s, sg, body)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("delivery with Redis down: %d %s, want 503", code, b)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	// The provider retries: accepted, processed, all three events there.
	eventually(t, 10*time.Second, func() error {
		code, b := postSendGrid(t, s, sg, body)
		if code != 200 {
			return errorf("retry: %d %s", code, b)
		}
		return nil
	})
	// The restarted Redis started empty: the accepted retry is its one task.
	s.waitTasks(t, jobs.QueueIngest, 1)
	var c contactJSON
	if code := s.do(t, "GET", "/v1/contacts/ops@partner.example", "", nil, &c); code != 200 || len(c.Timeline) != 3 {
		t.Fatalf("GET contact = %d, timeline %+v, want 3 items", code, c.Timeline)
	}
}

func TestEventsAPIScoresOnce(t *testing.T) {
	t.Parallel()
	s := startService(t, "LONGTAIL_REDIS_URL="+redistest.URL(t))
	if code := s.do(t, "PUT", "/v1/partners/acme", "application/json", strings.NewReader(`{"name":"Acme","type":"MSP","tier":"silver"}`), nil); code != 200 {
		t.Fatalf("put partner: %d", code)
	}
	if code := s.do(t, "PUT", "/v1/contacts/jane", "application/json", strings.NewReader(`{"partner_id":"acme","email":"jane@acme.example","persona":"technical"}`), nil); code != 200 {
		t.Fatalf("put contact: %d", code)
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	var body strings.Builder
	for i, typ := range []string{"email.open", "web.visit", "email.click", "webinar.attended"} {
		fmt.Fprintf(&body, `{"id":"api-%d","type":%q,"email":"jane@acme.example","occurred_at":%q,"message_id":"m-%d"}`+"\n", i, typ, now, i)
	}
	type partnerJSON struct {
		Score            float64 `json:"score"`
		HottestContactID string  `json:"hottest_contact_id"`
	}
	for round := 1; round <= 2; round++ {
		// Round 2 repeats round 1's events in a task of its own (round 1's
		// task id is free again once it ran): the scorer must count them once.
		before := s.settle(t, jobs.QueueIngest)
		var resp struct{ Accepted int }
		if code := s.do(t, "POST", "/v1/events", "application/x-ndjson", strings.NewReader(body.String()), &resp); code != 200 || resp.Accepted != 4 {
			t.Fatalf("round %d: POST /v1/events = %d %+v", round, code, resp)
		}
		s.waitTasks(t, jobs.QueueIngest, before+1)
		var p partnerJSON
		if code := s.do(t, "GET", "/v1/partners/acme", "", nil, &p); code != 200 {
			t.Fatalf("round %d: GET partner: %d", round, code)
		}
		if p.Score < 18.99 || p.Score > 19.01 {
			t.Errorf("round %d: partner score %.4f, want 19", round, p.Score)
		}
		if p.HottestContactID != "jane" {
			t.Errorf("round %d: hottest contact %q, want jane", round, p.HottestContactID)
		}
	}

	// The explanation, from the API and the CLI.
	var ex struct {
		Score    float64
		Contacts []struct {
			ContactID string `json:"contact_id"`
			Items     []struct{ Type string }
		}
	}
	if code := s.do(t, "GET", "/v1/partners/acme/score", "", nil, &ex); code != 200 || len(ex.Contacts) != 1 || len(ex.Contacts[0].Items) != 4 {
		t.Errorf("explain = %d %+v, want one contact with four items", code, ex)
	}
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"score", "explain", "acme"}, s.env, &out, &errOut); err != nil {
		t.Fatalf("score explain: %v %s", err, errOut.String())
	}
	for _, want := range []string{"score 19.00", "webinar.attended", "10.00", "jane"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("score explain output lacks %q:\n%s", want, out.String())
		}
	}
	// RFM on demand through the API: the worker ranks, the partner shows it.
	if code := s.do(t, "POST", "/v1/scoring/rfm", "", nil, nil); code != http.StatusAccepted {
		t.Fatalf("POST /v1/scoring/rfm = %d", code)
	}
	eventually(t, 10*time.Second, func() error {
		var p struct {
			RFM *struct {
				R, F    int
				Segment string
			} `json:"rfm"`
		}
		s.do(t, "GET", "/v1/partners/acme", "", nil, &p)
		if p.RFM == nil || p.RFM.Segment == "" {
			return errorf("no RFM on the partner yet: %+v", p.RFM)
		}
		return nil
	})
}

func TestTrackingPixelAndClickReachTheTimeline(t *testing.T) {
	t.Parallel()
	secret := strings.Repeat("s", 40)
	s := startService(t, "LONGTAIL_REDIS_URL="+redistest.URL(t), "LONGTAIL_TRACKING_SECRET="+secret)
	if code := s.do(t, "PUT", "/v1/partners/acme", "application/json", strings.NewReader(`{"name":"Acme"}`), nil); code != 200 {
		t.Fatal(code)
	}
	if code := s.do(t, "PUT", "/v1/contacts/jane", "application/json", strings.NewReader(`{"partner_id":"acme","email":"jane@acme.example"}`), nil); code != 200 {
		t.Fatal(code)
	}
	signer, err := tracking.NewSigner([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	claims := tracking.Claims{ContactID: "jane", PartnerID: "acme", Flow: "msp-onboarding", Step: "welcome", MessageID: "m-42", Topic: "security"}
	open, err := signer.Sign(tracking.KindOpen, claims)
	if err != nil {
		t.Fatal(err)
	}
	claims.URL = "https://vendor.example/security"
	click, err := signer.Sign(tracking.KindClick, claims)
	if err != nil {
		t.Fatal(err)
	}
	noRedirect := s.NoRedirect()
	for path, want := range map[string]int{
		tracking.KindOpen.Path(open):                         200,
		tracking.KindClick.Path(click):                       302,
		tracking.KindClick.Path(click[:len(click)-2] + "AA"): 404, // forged: recorded nowhere, redirected nowhere
	} {
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		// A person's browser: Go's own user agent is on the scanner list.
		req.Header.Set("User-Agent", "Mozilla/5.0 (Macintosh) Safari/605.1.15")
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
		if want == 302 && resp.Header.Get("Location") != "https://vendor.example/security" {
			t.Errorf("click redirected to %q", resp.Header.Get("Location"))
		}
	}
	// One task per recorded hit; the forged one queued nothing.
	s.waitTasks(t, jobs.QueueIngest, 2)
	var c contactJSON
	if code := s.do(t, "GET", "/v1/contacts/jane", "", nil, &c); code != 200 || len(c.Timeline) != 2 {
		t.Fatalf("GET contact = %d, timeline %+v, want the open and the click", code, c.Timeline)
	}
	if c.Score < 5.99 || c.Score > 6.01 || c.Interests["security"] < 5.99 {
		t.Errorf("score %.2f interests %v, want 6 on security (open 1 + click 5)", c.Score, c.Interests)
	}
}
