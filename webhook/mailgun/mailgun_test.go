package mailgun_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/webhook"
	"github.com/longtailhq/longtail/webhook/mailgun"
)

func TestMain(m *testing.M) { redistest.Main(m) }

const (
	fixtures = "../../testdata/webhooks/mailgun"
	testKey  = "test-signing-key"
	// signedAt is the signature timestamp of test envelopes.
	signedAt = 1700000000
)

func readFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sign(key, timestamp, token string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(timestamp + token))
	return hex.EncodeToString(mac.Sum(nil))
}

// envelope wraps event-data bytes, unchanged, the way Mailgun posts them.
func envelope(timestamp, token, signature string, eventData []byte) []byte {
	sig, _ := json.Marshal(map[string]string{"timestamp": timestamp, "token": token, "signature": signature})
	return append(append([]byte(`{"signature":`+string(sig)+`,"event-data":`), eventData...), '}')
}

// signed wraps eventData in an envelope signed with testKey.
func signed(token string, eventData []byte) []byte {
	ts := strconv.Itoa(signedAt)
	return envelope(ts, token, sign(testKey, ts, token), eventData)
}

func request(body []byte) *webhook.Request {
	return &webhook.Request{Method: http.MethodPost, URL: "/webhooks/mailgun", Header: http.Header{}, Body: body, Now: time.Unix(signedAt, 0)}
}

func newProvider(t testing.TB, cfg mailgun.Config) *mailgun.Provider {
	t.Helper()
	if cfg.SigningKey == "" {
		cfg.SigningKey = testKey
	}
	p, err := mailgun.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fixTrailingComma is the minimal mechanical fix the README describes for
// the *.json.txt samples: drop the comma after the last member or object.
func fixTrailingComma(b []byte) []byte {
	s := strings.TrimSuffix(strings.TrimSpace(string(b)), ",")
	return []byte(regexp.MustCompile(`,(\s*)}$`).ReplaceAllString(s, "$1}"))
}

func TestName(t *testing.T) {
	t.Parallel()
	if got := newProvider(t, mailgun.Config{}).Name(); got != "mailgun" {
		t.Fatalf("Name() = %q", got)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	cache := mailgun.NewRedisTokenCache(redistest.New(t))
	tests := []struct {
		name    string
		cfg     mailgun.Config
		wantMsg string
	}{
		{"no key", mailgun.Config{}, "SigningKey: required"},
		{"blank key", mailgun.Config{SigningKey: "  "}, "SigningKey: required"},
		{"negative MaxAge", mailgun.Config{SigningKey: "k", MaxAge: -time.Second}, "MaxAge must not be negative"},
		{"tokens without window", mailgun.Config{SigningKey: "k", Tokens: cache}, "Tokens needs MaxAge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := mailgun.New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("New() error = %v, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}

type phpVector struct {
	Key   string `json:"webhook_signing_key"`
	Valid struct {
		Timestamp, Token, Signature string
	} `json:"valid"`
	Swapped struct {
		Timestamp, Token, Signature string
	} `json:"invalid_token_swapped"`
	Empty struct {
		Timestamp, Token, Signature string
	} `json:"invalid_empty"`
}

func loadVector(t *testing.T) phpVector {
	t.Helper()
	var v phpVector
	if err := json.Unmarshal(readFile(t, "signature-vectors/mailgun-php-vector.json"), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func flip(s string, i int) string {
	b := []byte(s)
	switch c := b[i]; {
	case c == '9', c == 'f', c == 'z':
		b[i] = c - 1
	default:
		b[i] = c + 1
	}
	return string(b)
}

func TestSignatureVector(t *testing.T) {
	t.Parallel()
	v := loadVector(t)
	p := newProvider(t, mailgun.Config{SigningKey: v.Key})
	data := readFile(t, "docs-events-api-structure/delivered.json")
	ctx := context.Background()

	res, err := p.Handle(ctx, request(envelope(v.Valid.Timestamp, v.Valid.Token, v.Valid.Signature, data)))
	if err != nil {
		t.Fatalf("published vector: %v", err)
	}
	if len(res.Events) != 1 || res.Events[0].Type != event.EmailDelivered {
		t.Fatalf("published vector: events %+v", res.Events)
	}
	// Upper-case hex is the same signature.
	if _, err := p.Handle(ctx, request(envelope(v.Valid.Timestamp, v.Valid.Token, strings.ToUpper(v.Valid.Signature), data))); err != nil {
		t.Fatalf("upper-case hex signature: %v", err)
	}

	type sig struct{ ts, token, signature string }
	cases := map[string]sig{
		"token swapped": {v.Swapped.Timestamp, v.Swapped.Token, v.Swapped.Signature},
		"all empty":     {v.Empty.Timestamp, v.Empty.Token, v.Empty.Signature},
		"not hex":       {v.Valid.Timestamp, v.Valid.Token, "zz" + v.Valid.Signature[2:]},
		"truncated":     {v.Valid.Timestamp, v.Valid.Token, v.Valid.Signature[:62]},
	}
	for _, i := range []int{0, 1, 5, len(v.Valid.Timestamp) - 1} {
		cases["timestamp byte "+strconv.Itoa(i)] = sig{flip(v.Valid.Timestamp, i), v.Valid.Token, v.Valid.Signature}
	}
	for _, i := range []int{0, 7, 25, len(v.Valid.Token) - 1} {
		cases["token byte "+strconv.Itoa(i)] = sig{v.Valid.Timestamp, flip(v.Valid.Token, i), v.Valid.Signature}
	}
	for _, i := range []int{0, 13, 32, len(v.Valid.Signature) - 1} {
		cases["signature byte "+strconv.Itoa(i)] = sig{v.Valid.Timestamp, v.Valid.Token, flip(v.Valid.Signature, i)}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := p.Handle(ctx, request(envelope(c.ts, c.token, c.signature, data)))
			if !errors.Is(err, webhook.ErrUnauthorized) {
				t.Fatalf("Handle() error = %v, want ErrUnauthorized", err)
			}
		})
	}
	t.Run("wrong key", func(t *testing.T) {
		t.Parallel()
		other := newProvider(t, mailgun.Config{SigningKey: v.Key + "x"})
		_, err := other.Handle(ctx, request(envelope(v.Valid.Timestamp, v.Valid.Token, v.Valid.Signature, data)))
		if !errors.Is(err, webhook.ErrUnauthorized) {
			t.Fatalf("Handle() error = %v, want ErrUnauthorized", err)
		}
	})
	t.Run("no signature object", func(t *testing.T) {
		t.Parallel()
		_, err := p.Handle(ctx, request(append(append([]byte(`{"event-data":`), data...), '}')))
		if !errors.Is(err, webhook.ErrUnauthorized) {
			t.Fatalf("Handle() error = %v, want ErrUnauthorized", err)
		}
	})
}

func TestReplayWindow(t *testing.T) {
	t.Parallel()
	v := loadVector(t)
	signedTime := time.Unix(1403645220, 0)
	body := envelope(v.Valid.Timestamp, v.Valid.Token, v.Valid.Signature, readFile(t, "docs-events-api-structure/delivered.json"))
	tests := []struct {
		name   string
		maxAge time.Duration
		now    time.Time
		ok     bool
	}{
		{"inside window", 5 * time.Minute, signedTime.Add(299 * time.Second), true},
		{"too old", 5 * time.Minute, signedTime.Add(301 * time.Second), false},
		{"too far in the future", 5 * time.Minute, signedTime.Add(-301 * time.Second), false},
		{"window disabled", 0, signedTime.Add(10 * 365 * 24 * time.Hour), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProvider(t, mailgun.Config{SigningKey: v.Key, MaxAge: tt.maxAge})
			req := request(body)
			req.Now = tt.now
			_, err := p.Handle(context.Background(), req)
			if tt.ok && err != nil {
				t.Fatalf("Handle() error = %v, want success", err)
			}
			if !tt.ok && !errors.Is(err, webhook.ErrUnauthorized) {
				t.Fatalf("Handle() error = %v, want ErrUnauthorized", err)
			}
		})
	}
	t.Run("signed timestamp not an integer", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, mailgun.Config{MaxAge: time.Minute})
		body := envelope("1.5e9", "tok", sign(testKey, "1.5e9", "tok"), readFile(t, "docs-events-api-structure/delivered.json"))
		if _, err := p.Handle(context.Background(), request(body)); !errors.Is(err, webhook.ErrUnauthorized) {
			t.Fatalf("Handle() error = %v, want ErrUnauthorized", err)
		}
	})
}

func at(sec, usec int64) time.Time { return time.Unix(sec, usec*1000).UTC() }

func TestFixtures(t *testing.T) {
	t.Parallel()
	const (
		uaClick = "Mozilla/5.0 (X11; Linux i686) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu Chromium/28.0.1500.71 Chrome/28.0.1500.71 Safari/537.36"
		uaOpen  = "Mozilla/5.0 (iPhone; CPU iPhone OS 6_1 like Mac OS X) AppleWebKit/536.26 (KHTML, like Gecko) Mobile/10B143"
		uaUnsub = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_8_4) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/28.0.1500.95 Safari/537.36"
	)
	tests := []struct {
		file string
		// invalidJSON marks *.json.txt samples: the raw bytes must be
		// refused and the trailing-comma fix accepted.
		invalidJSON bool
		want        []event.Event
		wantIgnored map[string]int
	}{
		{file: "docs-events-api-structure/accepted.json", wantIgnored: map[string]int{"accepted": 1}},
		{file: "docs-events-api-structure/accepted-routed.json", wantIgnored: map[string]int{"accepted": 1}},
		{file: "docs-events-api-structure/stored.json", wantIgnored: map[string]int{"stored": 1}},
		{file: "docs-events-api-structure/delivered.json", want: []event.Event{{
			ID: "mailgun:hK7mQVt1QtqRiOfQXta4sw", Type: event.EmailDelivered, Email: "john@example.com",
			OccurredAt: at(1529692199, 626182), Source: "mailgun",
			MessageID: "20180622182958.1.48906CB188F1A454@exmple.org", Title: "Test Subject",
		}}},
		{file: "docs-events-api-structure/failed-permanent.json", want: []event.Event{{
			ID: "mailgun:pl271FzxTTmGRW8Uj3dUWw", Type: event.EmailBounce, Bounce: event.BounceHard, Email: "slava@mailgun.com",
			OccurredAt: at(1529701969, 818328), Source: "mailgun",
			MessageID: "20180622211249.1.2A6098970A380E12@example.org", Title: "Test Subject",
		}}},
		{file: "docs-events-api-structure/failed-temporary.json", want: []event.Event{{
			ID: "mailgun:xYrATi63Rke8EC_s7EoJeA", Type: event.EmailBounce, Bounce: event.BounceSoft, Email: "test@test.com",
			OccurredAt: at(1665066523, 871657), Source: "mailgun",
			MessageID: "20221006142837.1618e01bf42da9fa@test.com", Title: "Test send",
		}}},
		{file: "docs-events-api-structure/failed-permanent-delayed-bounce.json.txt", invalidJSON: true, want: []event.Event{{
			ID: "mailgun:ZDMqRgjLTDi6rQcy7K60aA", Type: event.EmailBounce, Bounce: event.BounceHard, Email: "christest123@test.com",
			// 1666214138.4046676, rounded to Mailgun's microseconds.
			OccurredAt: at(1666214138, 404668), Source: "mailgun",
			MessageID: "20221019211537.93011d31ea99c5a8@test.com", Title: "Testing delayed bounce",
		}}},
		{file: "docs-events-api-structure/opened.json.txt", invalidJSON: true, want: []event.Event{{
			ID: "mailgun:-laxIqj9QWubsjY_3pTq_g", Type: event.EmailOpen, Email: "recipient@example.com",
			OccurredAt: at(1377047343, 42277), Source: "mailgun",
			MessageID: "20130821005614.19826.35976@samples.mailgun.org", UserAgent: uaOpen, IP: "111.111.111.111",
		}}},
		{file: "docs-events-api-structure/clicked.json.txt", invalidJSON: true, want: []event.Event{{
			ID: "mailgun:G5zMz2ysS6OxZ2C8xb2Tqg", Type: event.EmailClick, Email: "recipient@example.com",
			OccurredAt: at(1377075564, 94891), Source: "mailgun", URL: "http://example.com/signup",
			MessageID: "20130821085807.30688.67706@samples.mailgun.org", UserAgent: uaClick, IP: "123.123.123.321",
		}}},
		{file: "docs-events-api-structure/complained.json.txt", invalidJSON: true, want: []event.Event{{
			ID: "mailgun:ncV2XwymRUKbPek_MIM-Gw", Type: event.EmailSpam, Email: "foo@example.com",
			OccurredAt: at(1377214260, 49634), Source: "mailgun",
			MessageID: "20130718032413.263EE2E0926@example.com", Title: "This is the subject.",
		}}},
		{file: "docs-events-api-structure/unsubscribed.json.txt", invalidJSON: true, want: []event.Event{{
			ID: "mailgun:W3X4JOhFT-OZidZGKKr9iA", Type: event.EmailUnsubscribe, Email: "recipient@example.com",
			OccurredAt: at(1377213791, 421473), Source: "mailgun",
			MessageID: "20130822232216.13966.79700@samples.mailgun.org", UserAgent: uaUnsub, IP: "23.23.23.345",
		}}},
		{file: "docs-opened-bot-detection-fragment.json.txt", invalidJSON: true, want: []event.Event{{
			// No event id in the fragment: the documented hash rule applies.
			ID:   event.HashID("mailgun", "opened", "bot@apple.com", "1652883435.279025", "", ""),
			Type: event.EmailOpen, Email: "bot@apple.com", OccurredAt: at(1652883435, 279025), Source: "mailgun",
			UserAgent: "Mozilla/5.0", Machine: true, MachineReason: "mailgun client-info.bot=apple",
		}}},
	}
	p := newProvider(t, mailgun.Config{MaxAge: time.Minute})
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			data := readFile(t, tt.file)
			if tt.invalidJSON {
				_, err := p.Handle(context.Background(), request(signed("tok-raw", data)))
				if !errors.Is(err, webhook.ErrBadPayload) {
					t.Fatalf("raw sample: error = %v, want ErrBadPayload", err)
				}
				data = fixTrailingComma(data)
			}
			res, err := p.Handle(context.Background(), request(signed("tok", data)))
			if err != nil {
				t.Fatalf("Handle() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, res.Events); diff != "" {
				t.Errorf("events (-want, +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantIgnored, res.Ignored); diff != "" {
				t.Errorf("ignored (-want, +got):\n%s", diff)
			}
			if res.Release != nil {
				t.Errorf("Release set without a token cache")
			}
		})
	}
}

func TestDocumentedEnvelope(t *testing.T) {
	t.Parallel()
	raw := readFile(t, "docs-webhook-envelope.json.txt")
	p := newProvider(t, mailgun.Config{})
	ctx := context.Background()
	if _, err := p.Handle(ctx, request(raw)); !errors.Is(err, webhook.ErrBadPayload) {
		t.Fatalf("raw envelope: error = %v, want ErrBadPayload", err)
	}
	// The mechanical fix: straight quotes, the missing comma, no comment line.
	fixed := strings.NewReplacer("“", `"`, "”", `"`).Replace(string(raw))
	fixed = regexp.MustCompile(`\n\s*// \.\.\.`).ReplaceAllString(fixed, "")
	fixed = regexp.MustCompile(`}(\s*"event-data")`).ReplaceAllString(fixed, "},$1")
	fixed = regexp.MustCompile(`,(\s*)}`).ReplaceAllString(fixed, "$1}")
	if !json.Valid([]byte(fixed)) {
		t.Fatalf("fixed envelope is still not JSON:\n%s", fixed)
	}
	// Its signing key is not published, so the signature cannot match ours.
	if _, err := p.Handle(ctx, request([]byte(fixed))); !errors.Is(err, webhook.ErrUnauthorized) {
		t.Fatalf("fixed envelope, unpublished key: error = %v, want ErrUnauthorized", err)
	}
	// Re-signed, it authenticates; the elided event data has no recipient,
	// which the whole delivery must fail on.
	var env struct {
		Signature map[string]string `json:"signature"`
		EventData json.RawMessage   `json:"event-data"`
	}
	if err := json.Unmarshal([]byte(fixed), &env); err != nil {
		t.Fatal(err)
	}
	ts, token := env.Signature["timestamp"], env.Signature["token"]
	req := request(envelope(ts, token, sign(testKey, ts, token), env.EventData))
	_, err := p.Handle(ctx, req)
	if !errors.Is(err, webhook.ErrBadPayload) || !strings.Contains(err.Error(), "item 0: invalid event: email") {
		t.Fatalf("re-signed envelope: error = %v, want ErrBadPayload naming item 0 and email", err)
	}
}

func TestNormalisation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		want func(*event.Event)
	}{
		{
			name: "user-variables correlate, lt_message wins",
			data: `{"event":"clicked","id":"c1","timestamp":1700000000.5,"recipient":"A@Example.com","url":"https://x.example/p",
				"tags":["security","nurture"],"user-variables":{"lt_contact":"c-1","lt_flow":"msp","lt_step":"s2","lt_message":"m-9","other":{"x":1}},
				"message":{"headers":{"message-id":"mg-1","subject":"Hello"}}}`,
			want: func(e *event.Event) {
				e.ID, e.Type, e.URL, e.Tags, e.ContactID, e.Flow, e.Step, e.MessageID, e.Title =
					"mailgun:c1", event.EmailClick, "https://x.example/p", []string{"security", "nurture"}, "c-1", "msp", "s2", "m-9", "Hello"
				e.OccurredAt = time.Unix(1700000000, 5e8).UTC()
			},
		},
		{
			name: "numeric user variable",
			data: `{"event":"delivered","id":"d1","timestamp":1700000000,"recipient":"a@example.com","user-variables":{"lt_contact":17}}`,
			want: func(e *event.Event) { e.ID, e.Type, e.ContactID = "mailgun:d1", event.EmailDelivered, "17" },
		},
		{
			name: "bot click",
			data: `{"event":"clicked","id":"c2","timestamp":1700000000,"recipient":"a@example.com","url":"https://x.example/",
				"client-info":{"bot":"google","user-agent":"GoogleImageProxy"}}`,
			want: func(e *event.Event) {
				e.ID, e.Type, e.URL, e.Machine, e.MachineReason, e.UserAgent =
					"mailgun:c2", event.EmailClick, "https://x.example/", true, "mailgun client-info.bot=google", "GoogleImageProxy"
			},
		},
	}
	p := newProvider(t, mailgun.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := p.Handle(context.Background(), request(signed("tok", []byte(tt.data))))
			if err != nil {
				t.Fatal(err)
			}
			want := event.Event{Email: "a@example.com", OccurredAt: time.Unix(1700000000, 0).UTC(), Source: "mailgun"}
			tt.want(&want)
			if diff := cmp.Diff([]event.Event{want}, res.Events); diff != "" {
				t.Fatalf("events (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestHashIDIdentifiesTheFact(t *testing.T) {
	t.Parallel()
	p := newProvider(t, mailgun.Config{})
	id := func(data string) string {
		t.Helper()
		res, err := p.Handle(context.Background(), request(signed("tok", []byte(data))))
		if err != nil || len(res.Events) != 1 {
			t.Fatalf("Handle(%s) = %+v, %v", data, res, err)
		}
		return res.Events[0].ID
	}
	base := id(`{"event":"opened","timestamp":1700000000.25,"recipient":"a@example.com","message":{"headers":{"message-id":"m1"}}}`)
	if again := id(`{"event":"opened","timestamp":1700000000.25,"recipient":"A@example.com","message":{"headers":{"message-id":"m1"}}}`); again != base {
		t.Errorf("retry gave %s, first delivery %s", again, base)
	}
	for _, other := range []string{
		`{"event":"opened","timestamp":1700000000.26,"recipient":"a@example.com","message":{"headers":{"message-id":"m1"}}}`,
		`{"event":"opened","timestamp":1700000000.25,"recipient":"b@example.com","message":{"headers":{"message-id":"m1"}}}`,
		`{"event":"opened","timestamp":1700000000.25,"recipient":"a@example.com","message":{"headers":{"message-id":"m2"}}}`,
		`{"event":"clicked","timestamp":1700000000.25,"recipient":"a@example.com","message":{"headers":{"message-id":"m1"}}}`,
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
		data    string
		wantMsg string
	}{
		{"no event-data", `null`, "event-data: missing"},
		{"event-data not an object", `"x"`, "item 0"},
		{"missing event", `{"timestamp":1700000000,"recipient":"a@example.com"}`, "item 0: event: missing"},
		{"missing recipient", `{"event":"delivered","timestamp":1700000000}`, "item 0: invalid event: email"},
		{"missing timestamp", `{"event":"delivered","recipient":"a@example.com"}`, "item 0: timestamp: missing"},
		{"absurd timestamp", `{"event":"delivered","recipient":"a@example.com","timestamp":1e300}`, "item 0: timestamp"},
		{"bad user-variables", `{"event":"delivered","recipient":"a@example.com","timestamp":1,"user-variables":{"lt_step":[1]}}`, "user-variables.lt_step"},
	}
	p := newProvider(t, mailgun.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := p.Handle(context.Background(), request(signed("tok", []byte(tt.data))))
			if !errors.Is(err, webhook.ErrBadPayload) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Handle() error = %v, want ErrBadPayload containing %q", err, tt.wantMsg)
			}
		})
	}
	if _, err := p.Handle(context.Background(), request([]byte("timestamp=1&token=2"))); !errors.Is(err, webhook.ErrBadPayload) {
		t.Fatalf("form body: error = %v, want ErrBadPayload", err)
	}
}
