package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/smtptest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/notify"
)

// hookReceiver is a CRM standing in for handoff.webhooks: it verifies
// every signature and keeps what it got.
type hookReceiver struct {
	mu         sync.Mutex
	got        []notify.Payload
	deliveries map[string]int // by X-Longtail-Delivery
	badSig     int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	// Signatures carry the sender's wall-clock time, whatever clock the
	// service's domain runs on.
	if err := notify.VerifySignature(hookSecret, r.Header.Get(notify.HeaderSignature), body, time.Now(), time.Minute); err != nil {
		h.badSig++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var p notify.Payload
	_ = json.Unmarshal(body, &p)
	h.got = append(h.got, p)
	if h.deliveries == nil {
		h.deliveries = map[string]int{}
	}
	h.deliveries[r.Header.Get(notify.HeaderDelivery)]++
}

// types counts the payloads received by type.
func (h *hookReceiver) types() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for _, p := range h.got {
		out[p.Type]++
	}
	return out
}

// redelivered lists the delivery ids received more than once.
func (h *hookReceiver) redelivered() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for id, n := range h.deliveries {
		if n > 1 {
			out = append(out, id)
		}
	}
	return out
}

const hookSecret = "crm-webhook-secret-0123456789"

type queueJSON struct {
	Items []struct {
		PartnerID string              `json:"partner_id"`
		ContactID string              `json:"contact_id"`
		RepID     string              `json:"rep_id"`
		Score     float64             `json:"score"`
		Reasons   map[string][]string `json:"reasons"`
		State     string              `json:"state"`
		QueuedAt  time.Time           `json:"queued_at"`
		DueAt     time.Time           `json:"due_at"`
	} `json:"items"`
}

func (q queueJSON) partners() []string {
	var out []string
	for _, it := range q.Items {
		out = append(out, it.PartnerID)
	}
	return out
}

func doAs(t *testing.T, s *service, token, method, path, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
		}
	}
	return resp.StatusCode
}

// TestHandoffEndToEnd runs the service on a test clock: the claim SLA
// passes when the test moves the clock, not while it waits.
func TestHandoffEndToEnd(t *testing.T) {
	t.Parallel()
	clock := testclock.New(time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC))
	smtp := smtptest.Start(t)
	hooks := &hookReceiver{}
	crm := httptest.NewServer(hooks)
	defer crm.Close()
	cfgPath := filepath.Join(t.TempDir(), "longtail.yaml")
	cfg := fmt.Sprintf(`
smtp:
  url: %q
  from: "Longtail <noreply@vendor.example>"
handoff:
  claim_sla: 2h
  # The scheduler's own sweep must not get ahead of the one under test.
  sweep_schedule: "@every 24h"
  business_hours: {start: "00:00", end: "24:00", days: [mon, tue, wed, thu, fri, sat, sun]}
  territories:
    - {name: emea, regions: [emea], reps: [rep-b]}
  webhooks:
    - {url: %q, secret: %q}
`, smtp.URL, crm.URL, hookSecret)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"LONGTAIL_CONFIG=" + cfgPath, "LONGTAIL_REDIS_URL=" + redistest.URL(t)}
	s := startOn(t, clock.Now, "all", env...)
	admin := testAPIKey
	tomorrow := clock.Now().Add(24 * time.Hour).Format(time.RFC3339)
	for path, body := range map[string]string{
		"/v1/reps/rep-a": `{"name":"Anne Martin","email":"anne@vendor.example","phone":"+33 1 23 45 67 89","daily_capacity":5,"active":true,"regions":["emea"]}`,
		"/v1/reps/rep-b": `{"name":"Bruno Diaz","email":"bruno@vendor.example","daily_capacity":5,"active":true,"regions":["emea"]}`,
		"/v1/reps/rep-c": `{"name":"Chloe Out","email":"chloe@vendor.example","daily_capacity":5,"active":true,"out_of_office_until":"` + tomorrow + `"}`,
	} {
		if code := doAs(t, s, admin, "PUT", path, body, nil); code != 200 {
			t.Fatalf("PUT %s = %d", path, code)
		}
	}
	for path, body := range map[string]string{
		"/v1/partners/acme":   `{"name":"Acme Networks","type":"MSP","tier":"silver","region":"emea","owner_rep_id":"rep-a"}`,
		"/v1/partners/globex": `{"name":"Globex IT","type":"VAR","tier":"silver","region":"emea","owner_rep_id":"rep-c"}`,
	} {
		if code := doAs(t, s, admin, "PUT", path, body, nil); code != 200 {
			t.Fatalf("PUT %s = %d", path, code)
		}
	}
	for path, body := range map[string]string{
		"/v1/contacts/jane": `{"partner_id":"acme","email":"jane@acme.example","first_name":"Jane","last_name":"Doe","persona":"technical"}`,
		"/v1/contacts/gus":  `{"partner_id":"globex","email":"gus@globex.example","first_name":"Gus","persona":"owner-manager"}`,
	} {
		if code := doAs(t, s, admin, "PUT", path, body, nil); code != 200 {
			t.Fatalf("PUT %s = %d", path, code)
		}
	}

	// Engagement that crosses the default threshold of 30 for both partners.
	now := clock.Now()
	var b strings.Builder
	for _, c := range []string{"jane@acme.example", "gus@globex.example"} {
		for i, title := range []string{"Securing SMB storage", "Zero trust for MSPs", "Deal registration in 3 clicks"} {
			fmt.Fprintf(&b, `{"id":"w-%s-%d","type":"webinar.attended","email":%q,"occurred_at":%q,"title":%q}`+"\n", c, i, c, now.Add(-time.Duration(i)*time.Hour).Format(time.RFC3339), title)
		}
		fmt.Fprintf(&b, `{"id":"c-%s","type":"email.click","email":%q,"occurred_at":%q,"url":"https://vendor.example/security/edr","title":"New security product"}`+"\n", c, c, now.Format(time.RFC3339))
	}
	posted := time.Now()
	if code := doAs(t, s, admin, "POST", "/v1/events", b.String(), nil); code != 200 {
		t.Fatalf("POST /v1/events = %d", code)
	}
	var qa queueJSON
	eventually(t, 5*time.Second, func() error {
		doAs(t, s, admin, "GET", "/v1/reps/rep-a/queue", "", &qa)
		if len(qa.Items) == 0 {
			return errorf("rep-a's queue is empty")
		}
		return nil
	})
	if d := time.Since(posted); d > time.Second {
		t.Errorf("hand-off reached the owner's queue %s after the events were posted, want within 1s", d)
	}
	if fmt.Sprint(qa.partners()) != "[acme]" {
		t.Fatalf("rep-a's queue = %v, want exactly [acme]", qa.partners())
	}
	it := qa.Items[0]
	reasons := strings.Join(it.Reasons["en"], " | ")
	if it.ContactID != "jane" || it.State != "queued" || it.Score < 30 || !strings.Contains(reasons, "Securing SMB storage") {
		t.Errorf("entry = %+v; reasons %q should name the webinar", it, reasons)
	}
	if len(it.Reasons["fr"]) == 0 {
		t.Error("no French reasons")
	}
	// The out-of-office owner's partner went to the territory pool.
	var qb queueJSON
	eventually(t, 5*time.Second, func() error {
		doAs(t, s, admin, "GET", "/v1/reps/rep-b/queue", "", &qb)
		if fmt.Sprint(qb.partners()) != "[globex]" {
			return errorf("rep-b's queue = %v, want [globex]", qb.partners())
		}
		return nil
	})
	// On the test clock the SLA is exact: business hours are all day.
	if g := qb.Items[0]; !g.QueuedAt.Equal(now) || !g.DueAt.Equal(now.Add(2*time.Hour)) {
		t.Errorf("globex queued at %s, due %s; want %s and 2h later", g.QueuedAt, g.DueAt, now)
	}

	// Nurture pauses for a partner in the call queue.
	var d struct {
		Allowed bool
		Reason  string
	}
	if code := doAs(t, s, admin, "GET", "/v1/contacts/jane@acme.example/mailable", "", &d); code != 200 || d.Allowed || d.Reason != "in_call_queue" {
		t.Errorf("mailable while queued = %d %+v, want not allowed, in_call_queue", code, d)
	}

	// Tokens: a rep sees only their own queue.
	var tokA, tokB struct{ Token string }
	if code := doAs(t, s, admin, "POST", "/v1/reps/rep-a/tokens", "", &tokA); code != 201 || tokA.Token == "" {
		t.Fatalf("issue token: %d", code)
	}
	tokB.Token = strings.TrimSpace(s.cli(t, "reps", "token", "rep-b"))
	if code := doAs(t, s, tokB.Token, "GET", "/v1/reps/rep-a/queue", "", nil); code != http.StatusForbidden {
		t.Errorf("rep-b's token on rep-a's queue = %d, want 403", code)
	}
	if code := doAs(t, s, tokB.Token, "POST", "/v1/reps/rep-a/queue/acme/claim", "", nil); code != http.StatusForbidden {
		t.Errorf("rep-b claiming rep-a's entry = %d, want 403", code)
	}
	if code := doAs(t, s, "ltr_forged", "GET", "/v1/reps/rep-a/queue", "", nil); code != http.StatusUnauthorized {
		t.Errorf("forged token = %d, want 401", code)
	}

	// Claim and a converted outcome, twice: the same answer, one deal.
	if code := doAs(t, s, tokA.Token, "POST", "/v1/reps/rep-a/queue/acme/claim", "", nil); code != 200 {
		t.Fatalf("claim = %d", code)
	}
	var o1, o2 map[string]any
	body := `{"outcome":"converted","note":"registering two deals","value":5000}`
	if code := doAs(t, s, tokA.Token, "POST", "/v1/reps/rep-a/queue/acme/outcome", body, &o1); code != 200 {
		t.Fatalf("outcome = %d %v", code, o1)
	}
	if code := doAs(t, s, tokA.Token, "POST", "/v1/reps/rep-a/queue/acme/outcome", body, &o2); code != 200 {
		t.Fatalf("outcome again = %d %v", code, o2)
	}
	if fmt.Sprint(o1) != fmt.Sprint(o2) || o1["state"] != "closed" {
		t.Errorf("outcome not idempotent or not closed:\n%v\n%v", o1, o2)
	}
	// The answer says what the conversion adds to scoring: a deal.won with
	// the rubric's points (0 by default), its value for RFM monetary.
	if rec := fmt.Sprint(o1["recorded_event"]); rec != "map[id:handoff:acme:1:converted points:0 type:deal.won value:5000]" {
		t.Errorf("recorded_event = %s", rec)
	}
	var hist struct {
		Entry    struct{ State, Outcome string }
		Timeline []struct {
			Rep  string `json:"rep_id"`
			Note string
		}
	}
	if code := doAs(t, s, admin, "GET", "/v1/partners/acme/handoff", "", &hist); code != 200 || hist.Entry.Outcome != "converted" {
		t.Errorf("partner hand-off = %d %+v", code, hist)
	}
	found := false
	for _, tr := range hist.Timeline {
		found = found || (tr.Rep == "rep-a" && tr.Note == "registering two deals")
	}
	if !found {
		t.Errorf("the outcome is not in the partner's hand-off timeline with rep and note: %+v", hist.Timeline)
	}
	// The deal reaches scoring once, however many times the outcome came.
	s.settle(t, jobs.QueueIngest)
	var jane contactJSON
	doAs(t, s, admin, "GET", "/v1/contacts/jane", "", &jane)
	deals := 0
	for _, it := range jane.Timeline {
		if it.Type == "deal.won" {
			deals++
		}
	}
	if deals != 1 {
		t.Errorf("%d deal.won events in jane's timeline, want 1", deals)
	}
	// Issue 13: on a directory this small RFM uses the fixed thresholds, and
	// acme, engaged and converted today, is not "at risk": R5 (today), F2
	// (four engagements), M3 (5,000).
	// Through the worker, which runs on the test's clock.
	if code := doAs(t, s, admin, "POST", "/v1/scoring/rfm", "", nil); code != http.StatusAccepted {
		t.Fatalf("POST /v1/scoring/rfm = %d", code)
	}
	if n := s.settle(t, jobs.QueuePeriodic); n < 1 {
		t.Fatalf("%d periodic tasks processed, want the RFM run", n)
	}
	var acme struct {
		RFM struct {
			R, F, M  int
			Segment  string
			Monetary float64
			Basis    struct{ R, F, M string }
		}
	}
	doAs(t, s, admin, "GET", "/v1/partners/acme", "", &acme)
	if r := acme.RFM; r.R != 5 || r.F != 2 || r.M != 3 || r.Segment != "potential" || r.Monetary != 5000 || r.Basis.R != "threshold" {
		t.Errorf("acme's RFM after converting today = %+v, want R5 F2 M3 potential on thresholds", r)
	}

	// SLA: globex stays unclaimed past its claim SLA; the sweep moves it.
	out := s.cli(t, "handoff", "sweep")
	if !strings.Contains(out, "reassigned 0") {
		t.Errorf("sweep within the SLA: %s, want nothing reassigned", out)
	}
	clock.Advance(2*time.Hour + time.Second)
	out = s.cli(t, "handoff", "sweep")
	if !strings.Contains(out, "reassigned 1") {
		t.Errorf("sweep after the SLA: %s, want 1 reassigned", out)
	}
	doAs(t, s, admin, "GET", "/v1/reps/rep-a/queue", "", &qa)
	if fmt.Sprint(qa.partners()) != "[globex]" {
		t.Errorf("after the breach rep-a's queue = %v, want [globex]", qa.partners())
	}

	// Notifications, once every queued task has run: one email per
	// hand-off, one signed webhook per hand-off and per outcome.
	s.settle(t, jobs.QueueIngest)
	s.settle(t, jobs.QueueHandoff)
	to := map[string]int{}
	for _, m := range smtp.Messages() {
		to[strings.Join(m.To, ",")]++
		if strings.Contains(m.To[0], "anne@") && !strings.Contains(string(m.Data), "Acme Networks") {
			t.Errorf("rep-a's email does not name the partner:\n%s", m.Data)
		}
	}
	if want := map[string]int{"anne@vendor.example": 1, "bruno@vendor.example": 1}; !maps.Equal(to, want) {
		t.Errorf("emails by recipient = %v, want %v", to, want)
	}
	if got, want := hooks.types(), map[string]int{notify.EventHandoffCreated: 2, notify.EventHandoffOutcome: 1}; !maps.Equal(got, want) {
		t.Errorf("webhooks received by type = %v, want %v", got, want)
	}
	if again := hooks.redelivered(); len(again) > 0 {
		t.Errorf("webhook deliveries received more than once: %v", again)
	}
	if hooks.badSig != 0 {
		t.Errorf("%d webhook deliveries with a bad signature", hooks.badSig)
	}
	var stats map[string]any
	if code := doAs(t, s, admin, "GET", "/v1/handoffs/stats", "", &stats); code != 200 || stats["handoffs"].(float64) < 2 {
		t.Errorf("stats = %d %v", code, stats)
	}
}

// The page is served by the service itself (its own tests drive it in
// Chromium); here: it is mounted and guarded.
func TestUIMounted(t *testing.T) {
	t.Parallel()
	s := startService(t, "LONGTAIL_REDIS_URL="+redistest.URL(t))
	noRedirect := s.NoRedirect()
	resp, err := noRedirect.Get(s.URL + "/ui/queue")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Errorf("/ui/queue without a session = %d, want a redirect to sign in", resp.StatusCode)
	}
	resp, err = s.HTTP.Get(s.URL + "/ui/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<form") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("/ui/login = %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
}
