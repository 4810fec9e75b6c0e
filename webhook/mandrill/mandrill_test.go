package mandrill

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/webhook"
)

const fixtures = "../../testdata/webhooks/mandrill"

// The published vector (testdata/webhooks/README.md, mandrill/).
const (
	vectorKey = "f7YEknp5hLvZVw6BNSaM6g"
	vectorURL = "http://requestb.in/wvhpa9wv"
	vectorSig = "NnvRYvKo0gA99/YGgRSb2JS4c/Y="
)

// Key and URL for payloads the tests sign themselves.
const (
	testKey = "test-webhook-key"
	testURL = "https://longtail.example/webhooks/mandrill?tenant=a"
)

func readFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newProvider(t testing.TB, key, u string) *Provider {
	t.Helper()
	p, err := New(Config{Key: key, URL: u})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sign computes the signature the way Mandrill's KB article describes it,
// independently of Provider.verify.
func sign(key, u string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(u)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteString(form[k][0])
	}
	mac := hmac.New(sha1.New, []byte(key))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func post(body, sig string) *webhook.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		h.Set(SignatureHeader, sig)
	}
	return &webhook.Request{Method: http.MethodPost, URL: "/webhooks/mandrill", Header: h, Body: []byte(body), Now: time.Unix(1432328600, 0)}
}

func signedRequest(eventsJSON string) *webhook.Request {
	form := url.Values{eventsField: {eventsJSON}}
	return post(form.Encode(), sign(testKey, testURL, form))
}

func TestVector(t *testing.T) {
	t.Parallel()
	value := readFixture(t, "signature-vector/mandrill_events.value.json")
	body := url.Values{eventsField: {value}}.Encode()
	ctx := context.Background()

	// The computation in this file must agree with the published vector, or
	// the other tests would prove nothing.
	if got := sign(vectorKey, vectorURL, url.Values{eventsField: {value}}); got != vectorSig {
		t.Fatalf("test signer gives %s, vector says %s", got, vectorSig)
	}

	res, err := newProvider(t, vectorKey, vectorURL).Handle(ctx, post(body, vectorSig))
	if err != nil {
		t.Fatalf("vector rejected: %v", err)
	}
	ts := time.Unix(1432328547, 0).UTC()
	want := []event.Event{
		{
			ID: event.HashID("mandrill", "exampleaaaaaaaaaaaaaaaaaaaaaaaaa1", "hard_bounce", "1432328547", ""), Type: event.EmailBounce,
			Email: "example.webhook@mandrillapp.com", OccurredAt: ts, Source: "mandrill", MessageID: "exampleaaaaaaaaaaaaaaaaaaaaaaaaa1",
			Title: "This an example webhook message", Tags: []string{"webhook-example"}, Bounce: event.BounceHard,
		},
		{
			ID: event.HashID("mandrill", "exampleaaaaaaaaaaaaaaaaaaaaaaaaa2", "open", "1432328547", ""), Type: event.EmailOpen,
			Email: "example.webhook@mandrillapp.com", OccurredAt: ts, Source: "mandrill", MessageID: "exampleaaaaaaaaaaaaaaaaaaaaaaaaa2",
			Title: "This an example webhook message", Tags: []string{"webhook-example"}, IP: "127.0.0.1",
			UserAgent: "Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10.6; en-US; rv:1.9.1.8) Gecko/20100317 Postbox/1.1.3",
		},
	}
	if diff := cmp.Diff(want, res.Events); diff != "" {
		t.Errorf("events (-want, +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"send": 1}, res.Ignored); diff != "" {
		t.Errorf("ignored (-want, +got):\n%s", diff)
	}

	t.Run("url with query string", func(t *testing.T) {
		t.Parallel()
		_, err := newProvider(t, vectorKey, vectorURL+"?oof=1").Handle(ctx, post(body, vectorSig))
		if !errors.Is(err, webhook.ErrUnauthorized) {
			t.Fatalf("got %v, want ErrUnauthorized", err)
		}
	})
	t.Run("every flipped body byte", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, vectorKey, vectorURL)
		for i := range len(body) {
			b := []byte(body)
			b[i] ^= 0x01
			if _, err := p.Handle(ctx, post(string(b), vectorSig)); !errors.Is(err, webhook.ErrUnauthorized) {
				t.Fatalf("byte %d (%q) flipped: got %v, want ErrUnauthorized", i, body[i], err)
			}
		}
	})
	t.Run("every flipped signature byte", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, vectorKey, vectorURL)
		raw, _ := base64.StdEncoding.DecodeString(vectorSig)
		for i := range raw {
			s := append([]byte(nil), raw...)
			s[i] ^= 0x80
			if _, err := p.Handle(ctx, post(body, base64.StdEncoding.EncodeToString(s))); !errors.Is(err, webhook.ErrUnauthorized) {
				t.Fatalf("signature byte %d flipped: got %v, want ErrUnauthorized", i, err)
			}
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		t.Parallel()
		_, err := newProvider(t, "another-key", vectorURL).Handle(ctx, post(body, vectorSig))
		if !errors.Is(err, webhook.ErrUnauthorized) {
			t.Fatalf("got %v, want ErrUnauthorized", err)
		}
	})
}

func TestAllEvents(t *testing.T) {
	t.Parallel()
	res, err := newProvider(t, testKey, testURL).Handle(context.Background(), signedRequest(readFixture(t, "webhook-example-all-message-and-sync-events.json")))
	if err != nil {
		t.Fatal(err)
	}
	const id = "fa239ebedd0a4831a3eefa59e880d8b2"
	ts := time.Unix(1420303407, 0).UTC()
	ua := "Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10.6; en-US; rv:1.9.1.8) Gecko/20100317 Postbox/1.1.3"
	base := func(name string, typ event.Type, url string) event.Event {
		return event.Event{
			ID: event.HashID("mandrill", id, name, "1420303407", url), Type: typ, Email: "example.webhook@mandrillapp.com",
			OccurredAt: ts, Source: "mandrill", MessageID: id, URL: url,
			Title: "This an example webhook message", Tags: []string{"webhook-example"},
		}
	}
	hard := base("hard_bounce", event.EmailBounce, "")
	hard.Bounce = event.BounceHard
	soft := base("soft_bounce", event.EmailBounce, "")
	soft.Bounce = event.BounceSoft
	open := base("open", event.EmailOpen, "")
	open.IP, open.UserAgent = "127.0.0.1", ua
	click := base("click", event.EmailClick, "http://mandrill.com")
	click.IP, click.UserAgent = "127.0.0.1", ua
	want := []event.Event{hard, soft, open, click, base("spam", event.EmailSpam, ""), base("unsub", event.EmailUnsubscribe, "")}
	if diff := cmp.Diff(want, res.Events); diff != "" {
		t.Errorf("events (-want, +got):\n%s", diff)
	}
	wantIgnored := map[string]int{"send": 1, "deferral": 1, "reject": 1, "blacklist": 3, "whitelist": 2}
	if diff := cmp.Diff(wantIgnored, res.Ignored); diff != "" {
		t.Errorf("ignored (-want, +got):\n%s", diff)
	}
	// One message, six facts: the ids must still be distinct.
	seen := map[string]bool{}
	for _, ev := range res.Events {
		if seen[ev.ID] {
			t.Errorf("duplicate id %s", ev.ID)
		}
		seen[ev.ID] = true
		if err := ev.Validate(); err != nil {
			t.Errorf("%s: %v", ev.Type, err)
		}
	}
}

func TestCorrelation(t *testing.T) {
	t.Parallel()
	payload := `[{"event":"click","_id":"m1","ts":1700000000,"url":"https://vendor.example/security",
	  "msg":{"_id":"m1","email":" Jane@Acme.Example ","subject":"Deal registration","tags":["nurture"," ",""],
	  "metadata":{"lt_contact":"c-42","lt_flow":"msp-onboarding","lt_step":"welcome","lt_message":"lt-msg-9","user_id":111}}},
	 {"event":"open","_id":"m2","ts":1700000001,"msg":{"email":"bob@acme.example","metadata":{"lt_contact":7}}}]`
	res, err := newProvider(t, testKey, testURL).Handle(context.Background(), signedRequest(payload))
	if err != nil {
		t.Fatal(err)
	}
	want := []event.Event{
		{
			ID: event.HashID("mandrill", "m1", "click", "1700000000", "https://vendor.example/security"), Type: event.EmailClick,
			Email: "jane@acme.example", ContactID: "c-42", OccurredAt: time.Unix(1700000000, 0).UTC(), URL: "https://vendor.example/security",
			Source: "mandrill", Flow: "msp-onboarding", Step: "welcome", MessageID: "lt-msg-9", Title: "Deal registration", Tags: []string{"nurture"},
		},
		{
			ID: event.HashID("mandrill", "m2", "open", "1700000001", ""), Type: event.EmailOpen, Email: "bob@acme.example", ContactID: "7",
			OccurredAt: time.Unix(1700000001, 0).UTC(), Source: "mandrill", MessageID: "m2",
		},
	}
	if diff := cmp.Diff(want, res.Events); diff != "" {
		t.Errorf("events (-want, +got):\n%s", diff)
	}
}

func TestHead(t *testing.T) {
	t.Parallel()
	res, err := newProvider(t, testKey, testURL).Handle(context.Background(), &webhook.Request{Method: http.MethodHead, Header: http.Header{}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Reply == nil || res.Reply.Status != http.StatusOK {
		t.Fatalf("reply = %+v, want status 200", res.Reply)
	}
	if len(res.Events) != 0 || len(res.Ignored) != 0 {
		t.Fatalf("HEAD yielded %v / %v", res.Events, res.Ignored)
	}
}

func TestRejected(t *testing.T) {
	t.Parallel()
	valid := `[{"event":"open","_id":"m","ts":1700000000,"msg":{"email":"a@b.example"}}]`
	signedForm := func(form url.Values) *webhook.Request { return post(form.Encode(), sign(testKey, testURL, form)) }
	tests := []struct {
		name    string
		req     *webhook.Request
		wantErr error
		wantMsg string
	}{
		{"no signature", post(url.Values{eventsField: {valid}}.Encode(), ""), webhook.ErrUnauthorized, "missing"},
		{"signature not base64", post(url.Values{eventsField: {valid}}.Encode(), "%%%"), webhook.ErrUnauthorized, "base64"},
		{"body not a form", post("a=%zz", sign(testKey, testURL, url.Values{"a": {""}})), webhook.ErrUnauthorized, "form"},
		{"repeated field", post("mandrill_events=[]&mandrill_events=[]", sign(testKey, testURL, url.Values{eventsField: {"[]"}})), webhook.ErrUnauthorized, "2 times"},
		{"field missing", signedForm(url.Values{"other": {"x"}}), webhook.ErrBadPayload, "missing"},
		{"not an array", signedForm(url.Values{eventsField: {`{"event":"open"}`}}), webhook.ErrBadPayload, "JSON array"},
		{"no event nor type", signedRequest(`[{"ts":1}]`), webhook.ErrBadPayload, "[0]"},
		{"no email", signedRequest(valid[:len(valid)-1] + `,{"event":"spam","_id":"m","ts":1700000000,"msg":{"email":""}}]`), webhook.ErrBadPayload, "[1]: spam event: msg.email"},
		{"bad email", signedRequest(`[{"event":"open","_id":"m","ts":1700000000,"msg":{"email":"nobody"}}]`), webhook.ErrBadPayload, "[0]"},
		{"no msg", signedRequest(`[{"event":"open","_id":"m","ts":1700000000}]`), webhook.ErrBadPayload, "no msg"},
		{"no ts", signedRequest(`[{"event":"open","_id":"m","msg":{"email":"a@b.example"}}]`), webhook.ErrBadPayload, "ts"},
		{"string ts", signedRequest(`[{"event":"open","_id":"m","ts":"x","msg":{"email":"a@b.example"}}]`), webhook.ErrBadPayload, "[0]"},
		{"no id", signedRequest(`[{"event":"open","ts":1700000000,"msg":{"email":"a@b.example"}}]`), webhook.ErrBadPayload, "_id"},
		{"click without url", signedRequest(`[{"event":"click","_id":"m","ts":1700000000,"msg":{"email":"a@b.example"}}]`), webhook.ErrBadPayload, "url"},
	}
	p := newProvider(t, testKey, testURL)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := p.Handle(context.Background(), tc.req)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v (result %+v), want %v", err, res, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tc.wantMsg)
			}
			if res != nil {
				t.Errorf("a rejected request returned a result: %+v", res)
			}
		})
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{URL: testURL}, "Config.Key"},
		{Config{Key: testKey}, "Config.URL"},
		{Config{Key: testKey, URL: "/webhooks/mandrill"}, "Config.URL"},
		{Config{Key: testKey, URL: "ftp://x.example/"}, "Config.URL"},
		{Config{Key: testKey, URL: "http://x.example/%zz"}, "Config.URL"},
	}
	for _, tc := range tests {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
	p := newProvider(t, testKey, testURL)
	if p.Name() != "mandrill" {
		t.Errorf("Name() = %q", p.Name())
	}
}
