package sendgrid_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/webhook"
	"github.com/longtailhq/longtail/webhook/sendgrid"
)

const fixtures = "../../testdata/webhooks/sendgrid"

func readFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signer stands in for SendGrid on fixtures that were never signed with a
// published key.
type signer struct {
	key *ecdsa.PrivateKey
}

func newSigner(t testing.TB) signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signer{key: k}
}

func (s signer) publicKey(t testing.TB) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&s.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func (s signer) provider(t testing.TB, maxAge time.Duration) *sendgrid.Provider {
	t.Helper()
	p, err := sendgrid.New(sendgrid.Config{PublicKey: s.publicKey(t), MaxAge: maxAge})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (s signer) request(t testing.TB, body []byte, ts int64) *webhook.Request {
	t.Helper()
	tsText := strconv.FormatInt(ts, 10)
	digest := sha256.Sum256(append([]byte(tsText), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(sendgrid.HeaderTimestamp, tsText)
	h.Set(sendgrid.HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	return &webhook.Request{Method: http.MethodPost, URL: "/webhooks/sendgrid", Header: h, Body: body, Now: time.Unix(ts, 0)}
}

func TestName(t *testing.T) {
	t.Parallel()
	if got := newSigner(t).provider(t, 0).Name(); got != "sendgrid" {
		t.Fatalf("Name() = %q, want sendgrid", got)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rsaDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	good := newSigner(t).publicKey(t)

	tests := []struct {
		name    string
		cfg     sendgrid.Config
		wantMsg string
	}{
		{"empty key", sendgrid.Config{}, "PublicKey: required"},
		{"not base64", sendgrid.Config{PublicKey: "not base64!"}, "PublicKey: not base64"},
		{"not DER", sendgrid.Config{PublicKey: base64.StdEncoding.EncodeToString([]byte("hello"))}, "PublicKey: not a DER PKIX"},
		{"RSA key", sendgrid.Config{PublicKey: base64.StdEncoding.EncodeToString(rsaDER)}, "PublicKey: want an ECDSA P-256 key"},
		{"P-384 key", sendgrid.Config{PublicKey: base64.StdEncoding.EncodeToString(p384DER)}, "PublicKey: want an ECDSA P-256 key"},
		{"negative MaxAge", sendgrid.Config{PublicKey: good, MaxAge: -time.Second}, "MaxAge must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := sendgrid.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("New() error = %v, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
	if _, err := sendgrid.New(sendgrid.Config{PublicKey: "  " + good + "\n"}); err != nil {
		t.Fatalf("New() with surrounding whitespace: %v", err)
	}
}

// vector is the published SendGrid signature vector (vectors.json).
type vector struct {
	PublicKey string `json:"public_key_base64_der"`
	Signature string `json:"header_X-Twilio-Email-Event-Webhook-Signature"`
	Timestamp string `json:"header_X-Twilio-Email-Event-Webhook-Timestamp"`
	BodyFile  string `json:"body_file"`
}

type negatives struct {
	WrongPublicKey string `json:"wrong_public_key"`
	WrongSignature string `json:"wrong_signature_for_single_event"`
}

func loadVector(t *testing.T) (vector, negatives, []byte) {
	t.Helper()
	var file struct {
		Single    vector    `json:"single-event"`
		Negatives negatives `json:"negative-cases (sendgrid-nodejs spec)"`
	}
	if err := json.Unmarshal(readFile(t, "signature-vectors/vectors.json"), &file); err != nil {
		t.Fatal(err)
	}
	return file.Single, file.Negatives, readFile(t, filepath.Join("signature-vectors", file.Single.BodyFile))
}

func vectorRequest(body []byte, ts, sig string) *webhook.Request {
	h := http.Header{}
	h.Set(sendgrid.HeaderTimestamp, ts)
	h.Set(sendgrid.HeaderSignature, sig)
	return &webhook.Request{Method: http.MethodPost, Header: h, Body: body, Now: time.Unix(1600112502, 0)}
}

func TestSignatureVector(t *testing.T) {
	t.Parallel()
	v, neg, body := loadVector(t)
	if !bytes.HasSuffix(body, []byte("\r\n")) {
		t.Fatal("fixture body lost its trailing CRLF")
	}
	p, err := sendgrid.New(sendgrid.Config{PublicKey: v.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Handle(context.Background(), vectorRequest(body, v.Timestamp, v.Signature))
	if err != nil {
		t.Fatalf("published vector: %v", err)
	}
	if diff := cmp.Diff(map[string]int{"dropped": 1}, res.Ignored); diff != "" || len(res.Events) != 0 {
		t.Fatalf("published vector: events %v, ignored (-want, +got):\n%s", res.Events, diff)
	}

	wrongKey, err := sendgrid.New(sendgrid.Config{PublicKey: neg.WrongPublicKey})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    *sendgrid.Provider
		req  *webhook.Request
	}{
		{"trailing CRLF dropped", p, vectorRequest(bytes.TrimSuffix(body, []byte("\r\n")), v.Timestamp, v.Signature)},
		{"wrong public key", wrongKey, vectorRequest(body, v.Timestamp, v.Signature)},
		{"wrong signature", p, vectorRequest(body, v.Timestamp, neg.WrongSignature)},
		{"body 'payload'", p, vectorRequest([]byte("payload"), v.Timestamp, v.Signature)},
		{"timestamp 'timestamp'", p, vectorRequest(body, "timestamp", v.Signature)},
		{"no signature header", p, vectorRequest(body, v.Timestamp, "")},
		{"no timestamp header", p, vectorRequest(body, "", v.Signature)},
		{"signature not base64", p, vectorRequest(body, v.Timestamp, "%%%")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := tt.p.Handle(context.Background(), tt.req); !errors.Is(err, webhook.ErrUnauthorized) {
				t.Fatalf("Handle() error = %v, want ErrUnauthorized", err)
			}
		})
	}
}

// flip returns s with the byte at i changed to a different byte that keeps
// the value in the same alphabet where possible (a digit stays a digit, a
// base64 character stays base64), so the failure is the signature's, not a
// parse error.
func flip(s []byte, i int) []byte {
	out := append([]byte(nil), s...)
	switch c := out[i]; {
	case c >= '0' && c <= '8', c >= 'a' && c <= 'y', c >= 'A' && c <= 'Y':
		out[i] = c + 1
	case c == '9', c == 'z', c == 'Z':
		out[i] = c - 1
	default:
		out[i] = c ^ 0x01
	}
	return out
}

func TestSignatureVectorTamper(t *testing.T) {
	t.Parallel()
	v, _, body := loadVector(t)
	p, err := sendgrid.New(sendgrid.Config{PublicKey: v.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	positions := func(n int) []int { return []int{0, 1, n / 3, n / 2, n - 3, n - 2, n - 1} }
	for _, i := range positions(len(body)) {
		req := vectorRequest(flip(body, i), v.Timestamp, v.Signature)
		if _, err := p.Handle(context.Background(), req); !errors.Is(err, webhook.ErrUnauthorized) {
			t.Errorf("body byte %d flipped: error = %v, want ErrUnauthorized", i, err)
		}
	}
	// The last base64 characters before "=" carry padding bits: a lenient
	// decoder would map a flipped one back to the same signature.
	for _, i := range positions(len(v.Signature) - 1) {
		req := vectorRequest(body, v.Timestamp, string(flip([]byte(v.Signature), i)))
		if _, err := p.Handle(context.Background(), req); !errors.Is(err, webhook.ErrUnauthorized) {
			t.Errorf("signature byte %d flipped: error = %v, want ErrUnauthorized", i, err)
		}
	}
	for i := range len(v.Timestamp) {
		req := vectorRequest(body, string(flip([]byte(v.Timestamp), i)), v.Signature)
		if _, err := p.Handle(context.Background(), req); !errors.Is(err, webhook.ErrUnauthorized) {
			t.Errorf("timestamp byte %d flipped: error = %v, want ErrUnauthorized", i, err)
		}
	}
}

func TestReplayWindow(t *testing.T) {
	t.Parallel()
	v, _, body := loadVector(t)
	signed := time.Unix(1600112502, 0)
	tests := []struct {
		name   string
		maxAge time.Duration
		now    time.Time
		ok     bool
	}{
		{"inside window", 5 * time.Minute, signed.Add(4 * time.Minute), true},
		{"too old", 5 * time.Minute, signed.Add(6 * time.Minute), false},
		{"too far in the future", 5 * time.Minute, signed.Add(-6 * time.Minute), false},
		{"window disabled", 0, signed.Add(24 * 365 * time.Hour), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := sendgrid.New(sendgrid.Config{PublicKey: v.PublicKey, MaxAge: tt.maxAge})
			if err != nil {
				t.Fatal(err)
			}
			req := vectorRequest(body, v.Timestamp, v.Signature)
			req.Now = tt.now
			_, err = p.Handle(context.Background(), req)
			if tt.ok && err != nil {
				t.Fatalf("Handle() error = %v, want success", err)
			}
			if !tt.ok && !errors.Is(err, webhook.ErrUnauthorized) {
				t.Fatalf("Handle() error = %v, want ErrUnauthorized", err)
			}
		})
	}
}

// docEvent is the event the 2021 docs' per-type examples describe, before
// the type-specific fields.
func docEvent(id string, typ event.Type) event.Event {
	return event.Event{
		ID:         "sendgrid:" + id,
		Type:       typ,
		Email:      "example@test.com",
		OccurredAt: time.Unix(1513299569, 0).UTC(),
		Source:     "sendgrid",
		MessageID:  "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
		Tags:       []string{"cat facts"},
	}
}

const (
	msie    = "Mozilla/4.0 (compatible; MSIE 6.1; Windows XP; .NET CLR 1.1.4322; .NET CLR 2.0.50727)"
	docsURL = "http://www.sendgrid.com/"
)

func withUA(e event.Event) event.Event {
	e.UserAgent, e.IP = msie, "255.255.255.255"
	return e
}

func TestFixtures(t *testing.T) {
	t.Parallel()
	all := func(typ event.Type) event.Event {
		e := docEvent("sg_event_id", typ)
		e.MessageID = "sg_message_id"
		return e
	}
	allOpen, allClick, allBounce, allGroupUnsub := withUA(all(event.EmailOpen)), withUA(all(event.EmailClick)), all(event.EmailBounce), withUA(all(event.EmailUnsubscribe))
	allClick.URL, allBounce.Bounce = docsURL, event.BounceHard

	open, click, bounce, blocked, groupUnsub := withUA(docEvent("FOTFFO0ecsBE-zxFXfs6WA==", event.EmailOpen)),
		withUA(docEvent("kCAi1KttyQdEKHhdC-nuEA==", event.EmailClick)),
		docEvent("6g4ZI7SA-xmRDv57GoPIPw==", event.EmailBounce),
		docEvent("6g4ZI7SA-xmRDv57GoPIPw==", event.EmailBounce),
		withUA(docEvent("ahSCB7xYcXFb-hEaawsPRw==", event.EmailUnsubscribe))
	click.URL, bounce.Bounce, blocked.Bounce = docsURL, event.BounceHard, event.BounceSoft

	tests := []struct {
		file        string
		wantEvents  []event.Event
		wantIgnored map[string]int
	}{
		{
			file: "all-event-types.json",
			wantEvents: []event.Event{all(event.EmailDelivered), allOpen, allClick, allBounce,
				all(event.EmailSpam), all(event.EmailUnsubscribe), allGroupUnsub},
			wantIgnored: map[string]int{"processed": 1, "deferred": 1, "dropped": 1, "group_resubscribe": 1},
		},
		{file: "blocked.json", wantEvents: []event.Event{blocked}},
		{file: "bounce.json", wantEvents: []event.Event{bounce}},
		{file: "click.json", wantEvents: []event.Event{click}},
		{
			file: "click-with-url-offset.json",
			wantEvents: []event.Event{{
				ID: "sendgrid:sendgrid_internal_event_id", Type: event.EmailClick, Email: "email@example.com",
				OccurredAt: time.Unix(1249948800, 0).UTC(), URL: "http://yourdomain.com/blog/news.html",
				Source: "sendgrid", MessageID: "sendgrid_internal_message_id", Tags: []string{"category1", "category2"},
				UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like Gecko) Version/7.0 Mobile/11D257 Safari/9537.53",
				IP:        "255.255.255.255",
			}},
		},
		{file: "deferred.json", wantIgnored: map[string]int{"deferred": 1}},
		{file: "delivered.json", wantEvents: []event.Event{docEvent("rWVYmVk90MjZJ9iohOBa3w==", event.EmailDelivered)}},
		{file: "dropped.json", wantIgnored: map[string]int{"dropped": 1}},
		{file: "groupresubscribe.json", wantIgnored: map[string]int{"group_resubscribe": 1}},
		{file: "groupunsubscribe.json", wantEvents: []event.Event{groupUnsub}},
		{
			file: "open-single-send.json",
			wantEvents: []event.Event{{
				ID: "sendgrid:sendgrid_internal_event_id", Type: event.EmailOpen, Email: "email@example.com",
				// The documented timestamp 1591726752372 is in milliseconds.
				OccurredAt: time.UnixMilli(1591726752372).UTC(), Source: "sendgrid",
				MessageID: "sendgrid_internal_message_id", Title: "Example Single Send", UserAgent: msie, IP: "127.0.0.1",
			}},
		},
		{file: "open.json", wantEvents: []event.Event{open}},
		{file: "processed-ab-test.json", wantIgnored: map[string]int{"processed": 1}},
		{file: "processed.json", wantIgnored: map[string]int{"processed": 1}},
		{file: "spamreport.json", wantEvents: []event.Event{docEvent("37nvH5QBz858KGVYCM4uOA==", event.EmailSpam)}},
		{
			file: "unsubscribe-legacy-marketing.json",
			wantEvents: []event.Event{{
				// No sg_event_id: the documented hash rule applies.
				ID:   event.HashID("sendgrid", "unsubscribe", "nick@sendgrid.com", "1380822437", "", ""),
				Type: event.EmailUnsubscribe, Email: "nick@sendgrid.com", OccurredAt: time.Unix(1380822437, 0).UTC(),
				Source: "sendgrid", Tags: []string{"Tests", "Newsletter"},
			}},
		},
		{file: "unsubscribe.json", wantEvents: []event.Event{docEvent("zz_BjPgU_5pS-J8vlfB1sg==", event.EmailUnsubscribe)}},
	}
	s := newSigner(t)
	p := s.provider(t, time.Minute)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			body := readFile(t, filepath.Join("docs-2021", tt.file))
			res, err := p.Handle(context.Background(), s.request(t, body, 1700000000))
			if err != nil {
				t.Fatalf("Handle() error = %v", err)
			}
			if diff := cmp.Diff(tt.wantEvents, res.Events); diff != "" {
				t.Errorf("events (-want, +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantIgnored, res.Ignored); diff != "" {
				t.Errorf("ignored (-want, +got):\n%s", diff)
			}
			if res.Release != nil || res.Reply != nil {
				t.Errorf("unexpected Release or Reply")
			}
		})
	}
}

func TestFixtureDirectoryCovered(t *testing.T) {
	t.Parallel()
	// A fixture added later must be added to TestFixtures too.
	entries, err := os.ReadDir(filepath.Join(fixtures, "docs-2021"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 17 {
		t.Fatalf("docs-2021 holds %d files, TestFixtures covers 17: extend it", len(entries))
	}
}

func TestNormalisation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		item string
		want func(*event.Event)
	}{
		{
			name: "machine open",
			item: `{"event":"open","email":"A@Example.com","timestamp":1700000000,"sg_event_id":"e1","sg_machine_open":true,"useragent":"Mozilla/5.0"}`,
			want: func(e *event.Event) {
				e.ID, e.Type, e.Machine, e.MachineReason, e.UserAgent = "sendgrid:e1", event.EmailOpen, true, "sendgrid sg_machine_open", "Mozilla/5.0"
			},
		},
		{
			name: "custom args correlate and lt_message wins over sg_message_id",
			item: `{"event":"click","email":"a@example.com","timestamp":1700000000,"sg_event_id":"e2","sg_message_id":"sg1","url":"https://x.example/p",
				"lt_contact":"c-9","lt_flow":"msp-onboarding","lt_step":"welcome","lt_message":"m-77","category":"security"}`,
			want: func(e *event.Event) {
				e.ID, e.Type, e.URL, e.ContactID, e.Flow, e.Step, e.MessageID, e.Tags = "sendgrid:e2", event.EmailClick, "https://x.example/p",
					"c-9", "msp-onboarding", "welcome", "m-77", []string{"security"}
			},
		},
		{
			name: "numeric custom arg",
			item: `{"event":"delivered","email":"a@example.com","timestamp":1700000000,"sg_event_id":"e3","lt_contact":42}`,
			want: func(e *event.Event) { e.ID, e.Type, e.ContactID = "sendgrid:e3", event.EmailDelivered, "42" },
		},
		{
			name: "campaign name as title",
			item: `{"event":"spamreport","email":"a@example.com","timestamp":1700000000,"sg_event_id":"e4","marketing_campaign_name":"Q3 push"}`,
			want: func(e *event.Event) { e.ID, e.Type, e.Title = "sendgrid:e4", event.EmailSpam, "Q3 push" },
		},
	}
	s := newSigner(t)
	p := s.provider(t, 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := p.Handle(context.Background(), s.request(t, []byte("["+tt.item+"]"), 1700000000))
			if err != nil {
				t.Fatal(err)
			}
			want := event.Event{Email: "a@example.com", OccurredAt: time.Unix(1700000000, 0).UTC(), Source: "sendgrid"}
			tt.want(&want)
			if diff := cmp.Diff([]event.Event{want}, res.Events); diff != "" {
				t.Fatalf("events (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestHashIDIdentifiesTheFact(t *testing.T) {
	t.Parallel()
	s := newSigner(t)
	p := s.provider(t, 0)
	id := func(item string) string {
		t.Helper()
		res, err := p.Handle(context.Background(), s.request(t, []byte(item), 1700000000))
		if err != nil || len(res.Events) != 1 {
			t.Fatalf("Handle(%s) = %v, %v", item, res, err)
		}
		return res.Events[0].ID
	}
	base := id(`{"event":"unsubscribe","email":"a@example.com","timestamp":1700000000}`)
	if again := id(`{"event":"unsubscribe","email":"A@example.com","timestamp":1700000000}`); again != base {
		t.Errorf("retry gave id %s, first delivery %s", again, base)
	}
	for _, other := range []string{
		`{"event":"unsubscribe","email":"a@example.com","timestamp":1700000001}`,
		`{"event":"unsubscribe","email":"b@example.com","timestamp":1700000000}`,
		`{"event":"group_unsubscribe","email":"a@example.com","timestamp":1700000000}`,
		`{"event":"unsubscribe","email":"a@example.com","timestamp":1700000000,"sg_message_id":"m2"}`,
	} {
		if got := id(other); got == base {
			t.Errorf("different fact %s got the same id %s", other, got)
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
		{"not JSON", `payload`, "neither a JSON object nor an array"},
		{"array of strings", `["x"]`, "item 0"},
		{"missing recipient", `[{"event":"open","timestamp":1700000000,"sg_event_id":"a","email":"a@example.com"},{"event":"open","timestamp":1700000000,"sg_event_id":"b"}]`, "item 1: invalid event: email"},
		{"bad recipient", `[{"event":"open","timestamp":1700000000,"sg_event_id":"a","email":"not an address"}]`, "item 0: invalid event: email"},
		{"missing event", `[{"email":"a@example.com","timestamp":1700000000}]`, "item 0: event: missing"},
		{"missing timestamp", `[{"event":"open","email":"a@example.com"}]`, "item 0: timestamp: missing"},
		{"fractional timestamp", `[{"event":"open","email":"a@example.com","timestamp":1.5}]`, "item 0: timestamp"},
		{"bad category", `[{"event":"open","email":"a@example.com","timestamp":1700000000,"category":{"a":1}}]`, "item 0: category"},
		{"bad custom arg", `[{"event":"open","email":"a@example.com","timestamp":1700000000,"lt_flow":["x"]}]`, "item 0: lt_flow"},
	}
	s := newSigner(t)
	p := s.provider(t, 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := p.Handle(context.Background(), s.request(t, []byte(tt.body), 1700000000))
			if !errors.Is(err, webhook.ErrBadPayload) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Handle() = %v, %v; want ErrBadPayload containing %q", res, err, tt.wantMsg)
			}
		})
	}
}
