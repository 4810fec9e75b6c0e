package brevo_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/webhook"
	"github.com/longtailhq/longtail/webhook/brevo"
)

const (
	fixtures = "../../testdata/webhooks/brevo"
	token    = "brevo-hook-token"
)

func readFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newProvider(t testing.TB, tok string) *brevo.Provider {
	t.Helper()
	p, err := brevo.New(brevo.Config{Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func request(authorization string, body []byte) *webhook.Request {
	h := http.Header{}
	if authorization != "" {
		h.Set("Authorization", authorization)
	}
	return &webhook.Request{Method: http.MethodPost, URL: "/webhooks/brevo", Header: h, Body: body, Now: time.Unix(1700000000, 0)}
}

func authed(body []byte) *webhook.Request { return request("Bearer "+token, body) }

func basic(userPass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))
}

func TestName(t *testing.T) {
	t.Parallel()
	if got := newProvider(t, token).Name(); got != "brevo" {
		t.Fatalf("Name() = %q", got)
	}
}

func TestNewRejectsEmptyToken(t *testing.T) {
	t.Parallel()
	for _, tok := range []string{"", " \n"} {
		if _, err := brevo.New(brevo.Config{Token: tok}); err == nil || !strings.Contains(err.Error(), "Token: required") {
			t.Errorf("New(Token %q) error = %v, want one naming Token", tok, err)
		}
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	body := readFile(t, "anymail-live-captured-transcribed/delivered.json")
	bearer := newProvider(t, token)
	basicP := newProvider(t, "hook:pa:ss")
	tests := []struct {
		name string
		p    *brevo.Provider
		auth string
		body []byte
		ok   bool
	}{
		{"bearer", bearer, "Bearer " + token, body, true},
		{"bearer scheme is case-insensitive", bearer, "bearer " + token, body, true},
		{"basic user:pass equal to the token", basicP, basic("hook:pa:ss"), body, true},
		{"token also works as bearer for a user:pass token", basicP, "Bearer hook:pa:ss", body, true},
		{"no header", bearer, "", body, false},
		{"wrong bearer", bearer, "Bearer " + token + "x", body, false},
		{"empty bearer", bearer, "Bearer ", body, false},
		{"bearer prefix of the token", bearer, "Bearer " + token[:5], body, false},
		{"wrong basic password", basicP, basic("hook:pa:sx"), body, false},
		{"basic not base64", basicP, "Basic !!!", body, false},
		{"token without a scheme", bearer, token, body, false},
		{"other scheme", bearer, "Token " + token, body, false},
		{"refused before the body is read", bearer, "Bearer nope", []byte("not json"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.p.Handle(context.Background(), request(tt.auth, tt.body))
			if tt.ok && err != nil {
				t.Fatalf("Handle() error = %v, want success", err)
			}
			if !tt.ok && !errors.Is(err, webhook.ErrUnauthorized) {
				t.Fatalf("Handle() error = %v, want ErrUnauthorized", err)
			}
		})
	}
}

func TestFixtures(t *testing.T) {
	t.Parallel()
	const (
		msgID = "<201803011158.9876543210@smtp-relay.mailin.fr>"
		epoch = "1520363423000"
	)
	live := time.UnixMilli(1520363423000).UTC()
	tests := []struct {
		file        string
		want        []event.Event
		wantIgnored map[string]int
	}{
		{file: "deferred.json", wantIgnored: map[string]int{"deferred": 1}},
		{file: "request.json", wantIgnored: map[string]int{"request": 1}},
		{file: "delivered.json", want: []event.Event{{
			ID:   event.HashID("brevo", "email.delivered", msgID, "recipient@example.com", epoch, ""),
			Type: event.EmailDelivered, Email: "recipient@example.com", OccurredAt: live, Source: "brevo", MessageID: msgID,
		}}},
		{file: "hard_bounce.json", want: []event.Event{{
			ID:   event.HashID("brevo", "email.bounce", msgID, "not-a-user@example.com", epoch, ""),
			Type: event.EmailBounce, Bounce: event.BounceHard, Email: "not-a-user@example.com", OccurredAt: live,
			Source: "brevo", MessageID: msgID, Tags: []string{"header-tag"},
		}}},
		{file: "soft_bounce.json", want: []event.Event{{
			ID:   event.HashID("brevo", "email.bounce", msgID, "recipient@no-mx.example.com", epoch, ""),
			Type: event.EmailBounce, Bounce: event.BounceSoft, Email: "recipient@no-mx.example.com", OccurredAt: live,
			Source: "brevo", MessageID: msgID,
		}}},
	}
	p := newProvider(t, token)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			res, err := p.Handle(context.Background(), authed(readFile(t, filepath.Join("anymail-live-captured-transcribed", tt.file))))
			if err != nil {
				t.Fatalf("Handle() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, res.Events); diff != "" {
				t.Errorf("events (-want, +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantIgnored, res.Ignored); diff != "" {
				t.Errorf("ignored (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestDocumentedSampleAsCrawled(t *testing.T) {
	t.Parallel()
	raw := readFile(t, "developers-brevo-docs/sent-request.as-crawled.txt")
	p := newProvider(t, token)
	if _, err := p.Handle(context.Background(), authed(raw)); !errors.Is(err, webhook.ErrBadPayload) {
		t.Fatalf("raw sample: error = %v, want ErrBadPayload", err)
	}
	// The mechanical fix: the elided webhook id becomes a number.
	fixed := strings.Replace(string(raw), `"id": xxxxx`, `"id": 1`, 1)
	res, err := p.Handle(context.Background(), authed([]byte(fixed)))
	if err != nil {
		t.Fatalf("fixed sample: %v", err)
	}
	if diff := cmp.Diff(map[string]int{"request": 1}, res.Ignored); diff != "" || len(res.Events) != 0 {
		t.Fatalf("fixed sample: events %v, ignored (-want, +got):\n%s", res.Events, diff)
	}
	// The same sample as an open shows how its fields normalise: ts_epoch is
	// in seconds here, tags is an array, X-Mailin-custom is not JSON.
	asOpen := strings.Replace(strings.Replace(fixed, `"event":"request"`, `"event":"opened"`, 1), "[email protected]", "jane@acme.example", -1)
	res, err = p.Handle(context.Background(), authed([]byte(asOpen)))
	if err != nil {
		t.Fatalf("sample as an open: %v", err)
	}
	want := event.Event{
		ID:   event.HashID("brevo", "email.open", "jane@acme.example", "jane@acme.example", "1604933654", ""),
		Type: event.EmailOpen, Email: "jane@acme.example", OccurredAt: time.Unix(1604933654, 0).UTC(), Source: "brevo",
		MessageID: "jane@acme.example", Title: "My first Transactional", Tags: []string{"transac_messages"},
	}
	if diff := cmp.Diff([]event.Event{want}, res.Events); diff != "" {
		t.Fatalf("sample as an open (-want, +got):\n%s", diff)
	}
}

func TestEventKinds(t *testing.T) {
	t.Parallel()
	at := time.Unix(1700000000, 0).UTC()
	item := func(kind, extra string) string {
		return `{"event":"` + kind + `","email":"a@example.com","message-id":"<m1@x>","ts_epoch":1700000000000` + extra + `}`
	}
	tests := []struct {
		name        string
		body        string
		want        func(*event.Event)
		wantIgnored string
	}{
		{"opened", item("opened", ""), func(e *event.Event) { e.Type = event.EmailOpen }, ""},
		{"unique_opened", item("unique_opened", ""), func(e *event.Event) { e.Type = event.EmailOpen }, ""},
		{"proxy_open", item("proxy_open", `,"user_agent":"GoogleImageProxy"`), func(e *event.Event) {
			e.Type, e.Machine, e.MachineReason, e.UserAgent = event.EmailOpen, true, "brevo proxy_open", "GoogleImageProxy"
		}, ""},
		{"unique_proxy_open", item("unique_proxy_open", ""), func(e *event.Event) {
			e.Type, e.Machine, e.MachineReason = event.EmailOpen, true, "brevo unique_proxy_open"
		}, ""},
		{"click", item("click", `,"link":"https://x.example/a"`), func(e *event.Event) { e.Type, e.URL = event.EmailClick, "https://x.example/a" }, ""},
		{"marketing click", item("click", `,"URL":"https://x.example/b"`), func(e *event.Event) { e.Type, e.URL = event.EmailClick, "https://x.example/b" }, ""},
		{"spam", item("spam", ""), func(e *event.Event) { e.Type = event.EmailSpam }, ""},
		{"unsubscribed", item("unsubscribed", ""), func(e *event.Event) { e.Type = event.EmailUnsubscribe }, ""},
		{"tag holding a JSON array", item("spam", `,"tag":"[\"t1\",\"t2\"]"`), func(e *event.Event) { e.Type, e.Tags = event.EmailSpam, []string{"t1", "t2"} }, ""},
		{"correlation in X-Mailin-custom", item("click", `,"link":"https://x.example/a","X-Mailin-custom":"{\"lt_contact\":\"c-1\",\"lt_flow\":\"msp\",\"lt_step\":\"s1\",\"lt_message\":\"m-9\"}"`),
			func(e *event.Event) {
				e.Type, e.URL, e.ContactID, e.Flow, e.Step, e.MessageID = event.EmailClick, "https://x.example/a", "c-1", "msp", "s1", "m-9"
			}, ""},
		{"X-Mailin-custom inline object", item("opened", `,"X-Mailin-custom":{"lt_contact":12}`), func(e *event.Event) { e.Type, e.ContactID = event.EmailOpen, "12" }, ""},
		{"ts_event only", `{"event":"opened","email":"a@example.com","message-id":"<m1@x>","ts_event":1700000000}`, func(e *event.Event) { e.Type = event.EmailOpen }, ""},
		{"blocked", item("blocked", ""), nil, "blocked"},
		{"invalid_email", item("invalid_email", ""), nil, "invalid_email"},
		{"error", item("error", ""), nil, "error"},
	}
	p := newProvider(t, token)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := p.Handle(context.Background(), authed([]byte(tt.body)))
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantIgnored != "" {
				if diff := cmp.Diff(map[string]int{tt.wantIgnored: 1}, res.Ignored); diff != "" || len(res.Events) != 0 {
					t.Fatalf("events %v, ignored (-want, +got):\n%s", res.Events, diff)
				}
				return
			}
			want := event.Event{Email: "a@example.com", OccurredAt: at, Source: "brevo", MessageID: "<m1@x>"}
			tt.want(&want)
			stamp := "1700000000000"
			if strings.Contains(tt.body, "ts_event") {
				stamp = "1700000000"
			}
			want.ID = event.HashID("brevo", string(want.Type), "<m1@x>", "a@example.com", stamp, want.URL)
			if diff := cmp.Diff([]event.Event{want}, res.Events); diff != "" {
				t.Fatalf("events (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestBatchAndIDs(t *testing.T) {
	t.Parallel()
	body := `[
		{"event":"opened","email":"a@example.com","message-id":"<m1@x>","ts_epoch":1700000000000},
		{"event":"unique_opened","email":"A@example.com","message-id":"<m1@x>","ts_epoch":1700000000000},
		{"event":"proxy_open","email":"a@example.com","message-id":"<m1@x>","ts_epoch":1700000000000},
		{"event":"opened","email":"a@example.com","message-id":"<m1@x>","ts_epoch":1700000000001},
		{"event":"opened","email":"b@example.com","message-id":"<m1@x>","ts_epoch":1700000000000},
		{"event":"opened","email":"a@example.com","message-id":"<m2@x>","ts_epoch":1700000000000},
		{"event":"click","email":"a@example.com","message-id":"<m1@x>","ts_epoch":1700000000000,"link":"https://x.example/"},
		{"event":"request","email":"a@example.com","message-id":"<m1@x>","ts_epoch":1700000000000}
	]`
	res, err := newProvider(t, token).Handle(context.Background(), authed([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 7 || res.Ignored["request"] != 1 {
		t.Fatalf("got %d events and %v ignored, want 7 and one request", len(res.Events), res.Ignored)
	}
	ids := make([]string, len(res.Events))
	for i, e := range res.Events {
		ids[i] = e.ID
	}
	// One open reported three ways counts once; the rest are other facts.
	if ids[0] != ids[1] || ids[0] != ids[2] {
		t.Errorf("opened/unique_opened/proxy_open of one open got ids %v", ids[:3])
	}
	seen := map[string]bool{ids[0]: true}
	for i, id := range ids[3:] {
		if seen[id] {
			t.Errorf("event %d (a different fact) repeats id %s", i+3, id)
		}
		seen[id] = true
	}
}

func TestBadPayload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		wantMsg string
	}{
		{"not JSON", `nope`, "neither a JSON object nor an array"},
		{"missing event", `{"email":"a@example.com","ts_epoch":1}`, "item 0: event: missing"},
		{"missing email in a batch", `[{"event":"spam","email":"a@example.com","ts":1700000000},{"event":"spam","ts":1700000000}]`, "item 1: invalid event: email"},
		{"missing time", `{"event":"spam","email":"a@example.com"}`, "item 0: ts_epoch: missing"},
		{"bad time", `{"event":"spam","email":"a@example.com","ts_epoch":-5}`, "item 0: ts_epoch"},
		{"bad custom value", `{"event":"spam","email":"a@example.com","ts":1700000000,"X-Mailin-custom":"{\"lt_flow\":[1]}"}`, "X-Mailin-custom.lt_flow"},
	}
	p := newProvider(t, token)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := p.Handle(context.Background(), authed([]byte(tt.body)))
			if !errors.Is(err, webhook.ErrBadPayload) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Handle() error = %v, want ErrBadPayload containing %q", err, tt.wantMsg)
			}
		})
	}
}
