package postmark_test

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
	"github.com/longtailhq/longtail/webhook/postmark"
)

const (
	fixtures = "../../testdata/webhooks/postmark"
	creds    = "postmark:s3cret:with-colon"
)

func readFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newProvider(t testing.TB) *postmark.Provider {
	t.Helper()
	p, err := postmark.New(postmark.Config{BasicAuth: creds})
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
	return &webhook.Request{Method: http.MethodPost, URL: "/webhooks/postmark", Header: h, Body: body, Now: time.Unix(1700000000, 0)}
}

func basic(userPass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))
}

func authed(body []byte) *webhook.Request { return request(basic(creds), body) }

func TestName(t *testing.T) {
	t.Parallel()
	if got := newProvider(t).Name(); got != "postmark" {
		t.Fatalf("Name() = %q", got)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, auth := range []string{"", "user", ":pass", "user:"} {
		if _, err := postmark.New(postmark.Config{BasicAuth: auth}); err == nil || !strings.Contains(err.Error(), "BasicAuth") {
			t.Errorf("New(BasicAuth %q) error = %v, want one naming BasicAuth", auth, err)
		}
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	body := readFile(t, "activecampaign-postmark-skills/Delivery.json")
	p := newProvider(t)
	tests := []struct {
		name string
		auth string
		body []byte
		ok   bool
	}{
		{"right credentials", basic(creds), body, true},
		{"scheme is case-insensitive", "basic " + base64.StdEncoding.EncodeToString([]byte(creds)), body, true},
		{"no header", "", body, false},
		{"wrong password", basic("postmark:s3cret:with-colo"), body, false},
		{"wrong user", basic("Postmark:s3cret:with-colon"), body, false},
		{"credentials with a suffix", basic(creds + "x"), body, false},
		{"no colon", basic("postmarks3cret"), body, false},
		{"not base64", "Basic !!!", body, false},
		{"bearer instead of basic", "Bearer " + creds, body, false},
		{"refused before the body is read", "", []byte("not json"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := p.Handle(context.Background(), request(tt.auth, tt.body))
			if tt.ok && err != nil {
				t.Fatalf("Handle() error = %v, want success", err)
			}
			if !tt.ok && !errors.Is(err, webhook.ErrUnauthorized) {
				t.Fatalf("Handle() error = %v, want ErrUnauthorized", err)
			}
		})
	}
}

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

func TestFixtures(t *testing.T) {
	t.Parallel()
	const (
		msgID   = "883953f4-6105-42a2-a16a-77a8eac79483"
		john    = "john@example.com"
		skillAt = "2025-04-05T16:33:54.9070259Z"
	)
	skills := func(typ event.Type) event.Event {
		return event.Event{Type: typ, Email: john, OccurredAt: at(t, skillAt), Source: "postmark", MessageID: msgID, Tags: []string{"welcome-email"}}
	}
	bounce := skills(event.EmailBounce)
	bounce.ID, bounce.Bounce, bounce.Title = "postmark:42", event.BounceHard, "Welcome to our service"
	spam := skills(event.EmailSpam)
	spam.ID, spam.Title = "postmark:42", "Welcome to our service"
	delivery := skills(event.EmailDelivered)
	delivery.ID = event.HashID("postmark", "Delivery", msgID, john, skillAt, "")
	open := skills(event.EmailOpen)
	open.ID, open.UserAgent, open.IP = event.HashID("postmark", "Open", msgID, john, skillAt, ""), "Mozilla/5.0 ...", "203.0.113.1"
	click := skills(event.EmailClick)
	click.ID, click.URL, click.UserAgent, click.IP = event.HashID("postmark", "Click", msgID, john, skillAt, "https://yourdomain.com/pricing"),
		"https://yourdomain.com/pricing", "Mozilla/5.0 ...", "203.0.113.1"
	unsub := skills(event.EmailUnsubscribe)
	unsub.ID, unsub.Tags = event.HashID("postmark", "SubscriptionChange", msgID, john, skillAt, ""), []string{"newsletter"}

	tests := []struct {
		file string
		want event.Event
	}{
		{"activecampaign-postmark-skills/Bounce.json", bounce},
		{"activecampaign-postmark-skills/Click.json", click},
		{"activecampaign-postmark-skills/Delivery.json", delivery},
		{"activecampaign-postmark-skills/Open.json", open},
		{"activecampaign-postmark-skills/SpamComplaint.json", spam},
		{"activecampaign-postmark-skills/SubscriptionChange.json", unsub},
		{"postmarkapp-docs/bounce.why-email-webhooks.json", event.Event{
			// No RecordType: recognised by BouncedAt. The offset is kept exact.
			ID: "postmark:42", Type: event.EmailBounce, Bounce: event.BounceHard, Email: john,
			OccurredAt: at(t, "2014-08-01T17:28:10.2735393Z"), Source: "postmark", MessageID: msgID,
			Title: "Test subject", Tags: []string{"Test"},
		}},
		{"postmarkapp-docs/delivery.support-article-1067.json", event.Event{
			ID:   event.HashID("postmark", "Delivery", "a94dfe84-8ab9-43cf-8a1c-ac234c296e25", "recipeint@example.com", "2016-12-01T15:41:45-05:00", ""),
			Type: event.EmailDelivered, Email: "recipeint@example.com", OccurredAt: at(t, "2016-12-01T20:41:45Z"),
			Source: "postmark", MessageID: "a94dfe84-8ab9-43cf-8a1c-ac234c296e25", Tags: []string{"Your Tag"},
		}},
		{"postmarkapp-docs/delivery.why-email-webhooks.json", event.Event{
			ID:   event.HashID("postmark", "Delivery", msgID, john, "2014-08-01T13:28:10.2735393-04:00", ""),
			Type: event.EmailDelivered, Email: john, OccurredAt: at(t, "2014-08-01T17:28:10.2735393Z"),
			Source: "postmark", MessageID: msgID, Tags: []string{"welcome-email"},
		}},
		{"postmarkapp-docs/spam-complaint.json", event.Event{
			ID: "postmark:42", Type: event.EmailSpam, Email: john, OccurredAt: at(t, "2019-11-05T16:33:54.9070259Z"),
			Source: "postmark", MessageID: "00000000-0000-0000-0000-000000000000", Title: "Test subject", Tags: []string{"Test"},
		}},
		{"postmarkapp-docs/subscription-change.json", event.Event{
			ID:   event.HashID("postmark", "SubscriptionChange", msgID, "bounced-address@wildbit.com", "2020-02-01T10:53:34.416071Z", ""),
			Type: event.EmailUnsubscribe, Email: "bounced-address@wildbit.com", OccurredAt: at(t, "2020-02-01T10:53:34.416071Z"),
			Source: "postmark", MessageID: msgID, Tags: []string{"my-tag"},
		}},
	}
	p := newProvider(t)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			res, err := p.Handle(context.Background(), authed(readFile(t, tt.file)))
			if err != nil {
				t.Fatalf("Handle() error = %v", err)
			}
			if diff := cmp.Diff([]event.Event{tt.want}, res.Events); diff != "" {
				t.Errorf("events (-want, +got):\n%s", diff)
			}
			if res.Ignored != nil || res.Release != nil {
				t.Errorf("unexpected Ignored %v or Release", res.Ignored)
			}
		})
	}
}

func TestFixtureDirectoriesCovered(t *testing.T) {
	t.Parallel()
	n := 0
	for _, dir := range []string{"activecampaign-postmark-skills", "postmarkapp-docs"} {
		entries, err := os.ReadDir(filepath.Join(fixtures, dir))
		if err != nil {
			t.Fatal(err)
		}
		n += len(entries)
	}
	if n != 11 {
		t.Fatalf("%d fixture files, TestFixtures covers 11: extend it", n)
	}
}

func TestRecordKinds(t *testing.T) {
	t.Parallel()
	const base = `"MessageID":"m1","Email":"a@example.com","Recipient":"a@example.com","BouncedAt":"2024-01-02T03:04:05Z","ChangedAt":"2024-01-02T03:04:05Z"`
	tests := []struct {
		name        string
		body        string
		wantType    event.Type
		wantBounce  string
		wantIgnored string
	}{
		{"transient bounce", `{"RecordType":"Bounce","ID":7,"Type":"Transient","TypeCode":2,` + base + `}`, event.EmailBounce, event.BounceSoft, ""},
		{"soft bounce", `{"RecordType":"Bounce","ID":7,"Type":"SoftBounce","TypeCode":4096,` + base + `}`, event.EmailBounce, event.BounceSoft, ""},
		{"DNS error", `{"RecordType":"Bounce","ID":7,"Type":"DnsError",` + base + `}`, event.EmailBounce, event.BounceSoft, ""},
		{"bad address", `{"RecordType":"Bounce","ID":7,"Type":"BadEmailAddress",` + base + `}`, event.EmailBounce, event.BounceHard, ""},
		{"type code only, hard", `{"RecordType":"Bounce","ID":7,"TypeCode":1,` + base + `}`, event.EmailBounce, event.BounceHard, ""},
		{"type code only, soft", `{"RecordType":"Bounce","ID":7,"TypeCode":4096,` + base + `}`, event.EmailBounce, event.BounceSoft, ""},
		{"spam complaint bounce", `{"RecordType":"Bounce","ID":7,"Type":"SpamComplaint","TypeCode":100001,` + base + `}`, event.EmailSpam, "", ""},
		{"auto responder", `{"RecordType":"Bounce","ID":7,"Type":"AutoResponder","TypeCode":64,` + base + `}`, "", "", "Bounce:AutoResponder"},
		{"unnamed other bounce", `{"RecordType":"Bounce","ID":7,"TypeCode":32,` + base + `}`, "", "", "Bounce:32"},
		{"resubscribe", `{"RecordType":"SubscriptionChange","SuppressSending":false,` + base + `}`, "", "", "SubscriptionChange"},
		{"inbound", `{"RecordType":"Inbound",` + base + `}`, "", "", "Inbound"},
	}
	p := newProvider(t)
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
			if len(res.Events) != 1 || res.Events[0].Type != tt.wantType || res.Events[0].Bounce != tt.wantBounce || res.Events[0].ID != "postmark:7" {
				t.Fatalf("events = %+v, want one %s (bounce %q) with id postmark:7", res.Events, tt.wantType, tt.wantBounce)
			}
		})
	}
}

func TestCorrelation(t *testing.T) {
	t.Parallel()
	body := `{"RecordType":"Click","MessageID":"pm-1","Recipient":"A@Example.com","ReceivedAt":"2024-01-02T03:04:05Z",
		"OriginalLink":"https://x.example/a","Metadata":{"lt_contact":"c-1","lt_flow":"msp","lt_step":"s1","lt_message":"m-1","user_id":43}}`
	res, err := newProvider(t).Handle(context.Background(), authed([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	want := event.Event{
		ID:   event.HashID("postmark", "Click", "pm-1", "a@example.com", "2024-01-02T03:04:05Z", "https://x.example/a"),
		Type: event.EmailClick, Email: "a@example.com", ContactID: "c-1", OccurredAt: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		URL: "https://x.example/a", Source: "postmark", Flow: "msp", Step: "s1", MessageID: "m-1",
	}
	if diff := cmp.Diff([]event.Event{want}, res.Events); diff != "" {
		t.Fatalf("events (-want, +got):\n%s", diff)
	}
}

func TestHashIDIdentifiesTheFact(t *testing.T) {
	t.Parallel()
	p := newProvider(t)
	id := func(body string) string {
		t.Helper()
		res, err := p.Handle(context.Background(), authed([]byte(body)))
		if err != nil || len(res.Events) != 1 {
			t.Fatalf("Handle(%s) = %+v, %v", body, res, err)
		}
		return res.Events[0].ID
	}
	base := id(`{"RecordType":"Open","MessageID":"m1","Recipient":"a@example.com","ReceivedAt":"2024-01-02T03:04:05Z"}`)
	if again := id(`{"RecordType":"Open","MessageID":"m1","Recipient":"A@example.com","ReceivedAt":"2024-01-02T03:04:05Z"}`); again != base {
		t.Errorf("retry gave %s, first delivery %s", again, base)
	}
	for _, other := range []string{
		`{"RecordType":"Open","MessageID":"m1","Recipient":"a@example.com","ReceivedAt":"2024-01-02T03:04:06Z"}`,
		`{"RecordType":"Open","MessageID":"m2","Recipient":"a@example.com","ReceivedAt":"2024-01-02T03:04:05Z"}`,
		`{"RecordType":"Open","MessageID":"m1","Recipient":"b@example.com","ReceivedAt":"2024-01-02T03:04:05Z"}`,
		`{"RecordType":"Click","MessageID":"m1","Recipient":"a@example.com","ReceivedAt":"2024-01-02T03:04:05Z"}`,
	} {
		if got := id(other); got == base {
			t.Errorf("different fact %s got the same id", other)
		}
	}
}

func TestBadPayload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		wantMsg string
	}{
		{"not JSON", `not json`, "item 0"},
		{"array", `[{"RecordType":"Open"}]`, "item 0"},
		{"unknown shape", `{"MessageID":"m1"}`, "RecordType: missing"},
		{"no recipient", `{"RecordType":"Open","MessageID":"m1","ReceivedAt":"2024-01-02T03:04:05Z"}`, "invalid event: email"},
		{"no time", `{"RecordType":"Open","MessageID":"m1","Recipient":"a@example.com"}`, "Open: timestamp missing"},
		{"bad time", `{"RecordType":"Open","Recipient":"a@example.com","ReceivedAt":"yesterday"}`, "not RFC 3339"},
		{"bad metadata", `{"RecordType":"Open","Recipient":"a@example.com","ReceivedAt":"2024-01-02T03:04:05Z","Metadata":{"lt_flow":{}}}`, "Metadata.lt_flow"},
	}
	p := newProvider(t)
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
