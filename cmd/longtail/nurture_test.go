package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/smtptest"
	"github.com/longtailhq/longtail/internal/webhooktest"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/redisconn"
)

// e2eFlow waits seconds on the wall clock: the whole service runs it,
// asynq schedules the steps, a real SMTP server receives the mail.
const e2eFlow = `id: e2e
name: End to end
triggers:
  - {event: webinar.registered, topic: security}
window: always
steps:
  - {id: welcome, send: hello}
  - {id: pause, wait: 1s}
  - id: clicked
    wait_for: {event: email.click, step: welcome, within: 6s}
    then: thanks
    else: stop
  - {id: thanks, send: hello}
  - {id: more, wait: 3s}
  - {id: last, send: hello}
  - {id: stop, exit: true}
`

const e2eTemplate = `{{define "subject"}}Hello {{with .Contact.FirstName}}{{.}}{{else}}there{{end}}{{end -}}
Hi {{with .Contact.FirstName}}{{.}}{{else}}there{{end}},
{{track "https://vendor.example/security" "security"}}
{{.Rep.Name}}
`

// nurtureFiles writes flows (file name → body) and the e2e "hello"
// template into a new temporary directory, as nurture.flows_dir and
// nurture.templates_dir, and returns the directory and those two.
func nurtureFiles(t *testing.T, flows map[string]string) (dir, flowsDir, tmplsDir string) {
	t.Helper()
	dir = t.TempDir()
	flowsDir, tmplsDir = filepath.Join(dir, "flows"), filepath.Join(dir, "templates")
	files := map[string]string{filepath.Join(tmplsDir, "hello.en.txt"): e2eTemplate}
	for name, body := range flows {
		files[filepath.Join(flowsDir, name)] = body
	}
	for p, body := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, flowsDir, tmplsDir
}

var unsubRE = regexp.MustCompile(`<(https?://[^>]+/u/[^>]+)>`)

// startNurture runs serve with the e2e flow, a real SMTP server and a
// real Redis, and seeds a rep, a partner and a contact (jane).
func startNurture(t *testing.T) (*service, *smtptest.Server, *nurture.Store, *webhooktest.SendGrid) {
	t.Helper()
	smtp := smtptest.Start(t)
	sg := webhooktest.NewSendGrid(t)
	dir, flows, tmpls := nurtureFiles(t, map[string]string{"e2e.yaml": e2eFlow})
	cfgPath := filepath.Join(dir, "longtail.yaml")
	cfg := fmt.Sprintf(`
smtp:
  url: %q
  from: "Vendor Partners <partners@vendor.example>"
tracking:
  secret: %q
webhooks:
  sendgrid:
    public_key: %q
nurture:
  flows_dir: %q
  templates_dir: %q
  frequency_cap: {count: 10, per: 7d}
`, smtp.URL, strings.Repeat("k", 32), sg.PublicKey(), flows, tmpls)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	redisURL := redistest.URL(t)
	s := startService(t, "LONGTAIL_CONFIG="+cfgPath, "LONGTAIL_REDIS_URL="+redisURL)
	// In order: the contact's partner must exist first.
	for _, put := range [][2]string{
		{"/v1/reps/rep-a", `{"name":"Anne Martin","email":"anne@vendor.example","daily_capacity":5,"active":true}`},
		{"/v1/partners/acme", `{"name":"Acme Networks","type":"MSP","tier":"silver","owner_rep_id":"rep-a"}`},
		{"/v1/contacts/jane", `{"partner_id":"acme","email":"jane@acme.example","first_name":"Jane","persona":"technical","consent":"granted"}`},
	} {
		path, body := put[0], put[1]
		if code := doAs(t, s, testAPIKey, "PUT", path, body, nil); code != 200 {
			t.Fatalf("PUT %s = %d", path, code)
		}
	}
	rdb, _, err := redisconn.Open(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	store, err := nurture.NewStore(rdb)
	if err != nil {
		t.Fatal(err)
	}
	return s, smtp, store, sg
}

func TestNurtureEndToEnd(t *testing.T) {
	t.Parallel()
	s, smtp, store, sg := startNurture(t)
	// The same registration twice (a webinar platform's retry under two
	// ids): one enrollment, one welcome.
	now := time.Now().UTC().Format(time.RFC3339)
	reg := fmt.Sprintf(`{"id":"zoom-1","type":"webinar.registered","email":"jane@acme.example","topic":"security","occurred_at":%q}
{"id":"zoom-2","type":"webinar.registered","email":"jane@acme.example","topic":"security","occurred_at":%q}
`, now, now)
	if code := doAs(t, s, testAPIKey, "POST", "/v1/events", reg, nil); code != 200 {
		t.Fatalf("POST /v1/events = %d", code)
	}
	enrollmentID := nurture.EnrollmentID("acme", "e2e", "jane")
	// The welcome is sent, the pause passes, the flow waits for a click.
	eventually(t, 15*time.Second, func() error {
		en, err := store.Get(context.Background(), enrollmentID)
		if err != nil {
			return err
		}
		if en.Status != nurture.StatusWaiting {
			return errorf("enrollment %s at %s", en.Status, en.Step)
		}
		return nil
	})
	msgs := smtp.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages before the click, want the welcome", len(msgs))
	}
	h := mailHeaders(t, msgs[0])
	if from, err := mail.ParseAddress(h.Get("From")); err != nil || from.Address != "anne@vendor.example" || from.Name != "Anne Martin" {
		t.Errorf("From %q, want the owner rep", h.Get("From"))
	}
	if !strings.Contains(h.Get("Reply-To"), "anne@vendor.example") || h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" ||
		!strings.Contains(h.Get("X-Smtpapi"), `"lt_step":"welcome"`) || !strings.Contains(h.Get("List-Unsubscribe"), "mailto:partners@vendor.example") {
		t.Errorf("headers of the welcome: %v", h)
	}
	// The click on the welcome arrives as SendGrid posts it: a signed
	// webhook whose event carries, at its top level, the unique_args the
	// welcome's X-SMTPAPI header gave (lt_contact, lt_flow, lt_step,
	// lt_message). It resumes the wait_for and scores for Jane.
	var smtpapi struct {
		UniqueArgs map[string]string `json:"unique_args"`
	}
	if err := json.Unmarshal([]byte(h.Get("X-Smtpapi")), &smtpapi); err != nil || smtpapi.UniqueArgs["lt_contact"] != "jane" {
		t.Fatalf("X-SMTPAPI %q: %v", h.Get("X-Smtpapi"), err)
	}
	ev := map[string]any{"email": "jane@acme.example", "timestamp": time.Now().Unix(), "event": "click",
		"url": "https://vendor.example/security", "sg_event_id": "sg-click-1", "sg_message_id": "sg-msg-1.filter0001",
		"useragent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"}
	for k, v := range smtpapi.UniqueArgs {
		ev[k] = v
	}
	body, _ := json.Marshal([]any{ev})
	req, _ := http.NewRequest("POST", s.URL+"/webhooks/sendgrid", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	sg.Sign(req.Header, body, time.Now())
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("SendGrid click webhook = %d", resp.StatusCode)
	}
	eventually(t, 15*time.Second, func() error {
		if n := len(smtp.Messages()); n != 2 {
			return errorf("%d messages, want the thanks", n)
		}
		return nil
	})
	// The click scored for Jane (the contact the metadata names), once.
	var jane struct {
		Timeline []struct {
			ID     string  `json:"id"`
			Type   string  `json:"type"`
			Points float64 `json:"points"`
		} `json:"timeline"`
	}
	if code := doAs(t, s, testAPIKey, "GET", "/v1/contacts/jane", "", &jane); code != 200 {
		t.Fatalf("GET /v1/contacts/jane = %d", code)
	}
	clicks := 0
	for _, it := range jane.Timeline {
		if it.Type == "email.click" {
			clicks++
			if it.ID != "sendgrid:sg-click-1" || it.Points != 5 {
				t.Errorf("Jane's click %+v, want sendgrid:sg-click-1 scoring 5", it)
			}
		}
	}
	if clicks != 1 {
		t.Errorf("Jane's timeline has %d clicks, want the webhook's one: %+v", clicks, jane.Timeline)
	}
	thanks := mailHeaders(t, smtp.Messages()[1])
	if !strings.Contains(thanks.Get("X-Smtpapi"), `"lt_step":"thanks"`) {
		t.Fatalf("second message: %v", thanks)
	}
	// One-click unsubscribe from the thanks, before the last step runs.
	m := unsubRE.FindStringSubmatch(thanks.Get("List-Unsubscribe"))
	if m == nil {
		t.Fatalf("no unsubscribe URL in %q", thanks.Get("List-Unsubscribe"))
	}
	u := strings.Replace(m[1], "http://localhost:8080", s.URL, 1)
	u = s.URL + u[strings.Index(u, "/u/"):]
	resp, err = s.HTTP.Post(u, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("one-click unsubscribe = %d", resp.StatusCode)
	}
	// Every step runs out (the last one finds the contact unsubscribed),
	// and the click's timeout, when it comes, does nothing.
	eventually(t, 15*time.Second, func() error {
		en, err := store.Get(context.Background(), enrollmentID)
		if err != nil {
			return err
		}
		if !en.Status.Over() {
			return errorf("enrollment %s at %s", en.Status, en.Step)
		}
		return nil
	})
	settleSlow(t, s, jobs.QueueNurture)
	if n := len(smtp.Messages()); n != 2 {
		t.Errorf("%d messages, want welcome and thanks only", n)
	}
	en, _ := store.Get(context.Background(), enrollmentID)
	if en.Status != nurture.StatusExited {
		t.Errorf("enrollment %s (%s), want exited by the unsubscribe", en.Status, en.Reason)
	}
	list, err := store.OfPartner(context.Background(), "acme", "jane")
	if err != nil || len(list) != 1 {
		t.Errorf("enrollments %d %v, want one (the duplicate trigger enrolled once)", len(list), err)
	}
}

func mailHeaders(t *testing.T, m smtptest.Message) mail.Header {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
	if err != nil {
		t.Fatal(err)
	}
	return msg.Header
}

func TestNurtureAPI(t *testing.T) {
	t.Parallel()
	s, smtp, store, _ := startNurture(t)
	for path, body := range map[string]string{
		"/v1/contacts/omar": `{"partner_id":"acme","email":"omar@acme.example","first_name":"Omar","consent":"granted"}`,
		"/v1/contacts/ivan": `{"partner_id":"acme","email":"ivan@acme.example","consent":"withdrawn"}`,
		"/v1/contacts/zoe":  `{"partner_id":"acme","email":"zoe@acme.example","consent":"granted"}`,
	} {
		if code := doAs(t, s, testAPIKey, "PUT", path, body, nil); code != 200 {
			t.Fatalf("PUT %s = %d", path, code)
		}
	}
	var flows struct {
		Items []struct {
			ID    string `json:"id"`
			Steps int    `json:"steps"`
		} `json:"items"`
	}
	if code := doAs(t, s, testAPIKey, "GET", "/v1/flows", "", &flows); code != 200 || len(flows.Items) != 1 || flows.Items[0].ID != "e2e" || flows.Items[0].Steps != 7 {
		t.Fatalf("GET /v1/flows = %d %+v", code, flows)
	}
	var one map[string]any
	if code := doAs(t, s, testAPIKey, "GET", "/v1/flows/e2e", "", &one); code != 200 || one["id"] != "e2e" {
		t.Fatalf("GET /v1/flows/e2e = %d %v", code, one)
	}
	type errBody struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	var en nurture.Enrollment
	var eb errBody
	for _, tc := range []struct {
		path, body string
		want       int
		out        any
	}{
		{"/v1/flows/e2e/enrollments", `{"email":"omar@acme.example"}`, 201, &en},
		{"/v1/flows/e2e/enrollments", `{"contact_id":"omar"}`, 200, &en},
		{"/v1/flows/nope/enrollments", `{"contact_id":"omar"}`, 404, &eb},
		{"/v1/flows/e2e/enrollments", `{"contact_id":"nobody"}`, 404, &eb},
		{"/v1/flows/e2e/enrollments", `{}`, 400, &eb},
	} {
		if code := doAs(t, s, testAPIKey, "POST", tc.path, tc.body, tc.out); code != tc.want {
			t.Errorf("POST %s %s = %d, want %d", tc.path, tc.body, code, tc.want)
		}
	}
	if en.ID != nurture.EnrollmentID("acme", "e2e", "omar") || en.ContactID != "omar" {
		t.Errorf("enrollment %+v", en)
	}
	eb = errBody{}
	if code := doAs(t, s, testAPIKey, "POST", "/v1/flows/e2e/enrollments", `{"contact_id":"ivan"}`, &eb); code != 422 ||
		eb.Error.Code != "not_mailable" || eb.Error.Message != "consent_withdrawn" {
		t.Errorf("enrol a withdrawn contact = %d %+v, want 422 not_mailable", code, eb)
	}
	// The welcome reaches the SMTP server; then the enrollment is ended.
	eventually(t, 15*time.Second, func() error {
		if n := len(smtp.Messages()); n != 1 {
			return errorf("%d messages", n)
		}
		return nil
	})
	var list struct {
		Items []nurture.Enrollment `json:"items"`
	}
	if code := doAs(t, s, testAPIKey, "GET", "/v1/contacts/omar@acme.example/enrollments", "", &list); code != 200 || len(list.Items) != 1 || len(list.Items[0].History) == 0 {
		t.Errorf("GET enrollments = %d %+v", code, list)
	}
	if code := doAs(t, s, testAPIKey, "DELETE", "/v1/flows/e2e/enrollments/omar", "", nil); code != 200 {
		t.Errorf("DELETE = %d", code)
	}
	if code := doAs(t, s, testAPIKey, "DELETE", "/v1/flows/e2e/enrollments/omar", "", nil); code != 404 {
		t.Errorf("DELETE twice = %d, want 404", code)
	}
	var funnel struct {
		Steps []nurture.FunnelStep `json:"steps"`
	}
	if code := doAs(t, s, testAPIKey, "GET", "/v1/flows/e2e/funnel", "", &funnel); code != 200 || len(funnel.Steps) != 7 ||
		funnel.Steps[0].Counts[nurture.CountSent] != 1 || funnel.Steps[0].Counts[nurture.CountEntered] != 1 {
		t.Errorf("funnel = %d %+v", code, funnel)
	}
	// The command line enrols like the API; a second time it says so.
	out := s.cli(t, "flows", "enroll", "e2e", "zoe@acme.example")
	if !strings.Contains(out, "enrolled zoe in e2e") {
		t.Errorf("flows enroll: %q", out)
	}
	if out := s.cli(t, "flows", "enroll", "e2e", "zoe"); !strings.Contains(out, "zoe was already in e2e") {
		t.Errorf("flows enroll again: %q", out)
	}
	// A preview shows the email and sends nothing (counted below).
	preview := s.cli(t, "flows", "preview", "e2e", "welcome", "--contact", "zoe@acme.example")
	for _, want := range []string{`From: "Anne Martin" <anne@vendor.example>`, "Subject: Hello there", "List-Unsubscribe: <http", "\nHi there,\n"} {
		if !strings.Contains(preview, want) {
			t.Errorf("preview lacks %q:\n%s", want, preview)
		}
	}
	eventually(t, 15*time.Second, func() error {
		if n := len(smtp.Messages()); n != 2 {
			return errorf("%d messages, want zoe's welcome too", n)
		}
		return nil
	})
	// Zoe's click never comes: her wait times out (6 s, then asynq's
	// forwarder, which looks every few seconds) and the flow exits.
	eventually(t, 30*time.Second, func() error {
		en, err := store.Get(context.Background(), nurture.EnrollmentID("acme", "e2e", "zoe"))
		if err != nil {
			return err
		}
		if !en.Status.Over() {
			return errorf("zoe's enrollment %s at %s", en.Status, en.Step)
		}
		return nil
	})
	settleSlow(t, s, jobs.QueueNurture)
	if n := len(smtp.Messages()); n != 2 {
		t.Errorf("%d messages after the end, want omar's and zoe's welcome only", n)
	}
}

// settleSlow is settle for a queue whose last tasks are wait_for timeouts
// seconds away: asynq moves a scheduled task to pending only when its
// forwarder next looks (every few seconds), so the queue may need more
// than settle's budget to empty.
func settleSlow(t *testing.T, s *service, queue string) {
	t.Helper()
	eventually(t, 30*time.Second, func() error {
		st, err := s.queueState(t, queue)
		if err != nil {
			return err
		}
		if st.Waiting > 0 {
			return errorf("queue %s: %+v", queue, st)
		}
		return nil
	})
	s.settle(t, queue)
}
