package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/longtailhq/longtail/notify"
)

const secret = "whsec-0123456789abcdef"

// receiver is a webhook endpoint as a customer would write one: it
// verifies the signature over the raw body before trusting anything.
type receiver struct {
	srv    *httptest.Server
	status func(n int) int // status for the n-th request (1-based)
	header http.Header     // extra response headers

	mu   sync.Mutex
	got  []delivery
	hits int
}

type delivery struct {
	Event, Delivery, ContentType string
	SignatureOK                  bool
	Body                         []byte
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	t.Helper()
	r := &receiver{status: status, header: http.Header{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		err := notify.VerifySignature(secret, req.Header.Get(notify.HeaderSignature), body, time.Now(), 5*time.Minute)
		r.mu.Lock()
		r.hits++
		n := r.hits
		r.got = append(r.got, delivery{
			Event: req.Header.Get(notify.HeaderEvent), Delivery: req.Header.Get(notify.HeaderDelivery),
			ContentType: req.Header.Get("Content-Type"), SignatureOK: err == nil, Body: body,
		})
		r.mu.Unlock()
		if err != nil || req.Method != http.MethodPost {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		for k, v := range r.header {
			w.Header()[k] = v
		}
		w.WriteHeader(r.status(n))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

func always(code int) func(int) int { return func(int) int { return code } }

// sender is NewWebhookSender(hooks, c), failing the test on an error.
func sender(t *testing.T, hooks []notify.Webhook, c *http.Client) *notify.WebhookSender {
	t.Helper()
	s, err := notify.NewWebhookSender(hooks, c)
	if err != nil {
		t.Fatalf("NewWebhookSender: %v", err)
	}
	return s
}

func handoffBody(t *testing.T) ([]byte, notify.Payload) {
	t.Helper()
	p, err := notify.NewHandoffPayload(sampleHandoff("en"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b, p
}

func TestDeliverSignsAndDescribesTheEvent(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, always(http.StatusNoContent))
	other := newReceiver(t, always(http.StatusOK))
	s := sender(t, []notify.Webhook{{URL: other.srv.URL, Secret: "another-secret-0123"}, {URL: rcv.srv.URL + "/hooks/longtail", Secret: secret}}, nil)
	body, p := handoffBody(t)
	if err := s.Deliver(context.Background(), 1, body); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	got := rcv.deliveries()
	want := []delivery{{Event: "handoff.created", Delivery: p.ID, ContentType: "application/json", SignatureOK: true, Body: body}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deliveries (-want, +got):\n%s", diff)
	}
	if n := len(other.deliveries()); n != 0 {
		t.Errorf("hook 0 got %d deliveries; only hook 1 was asked", n)
	}
	var decoded struct {
		Type       string         `json:"type"`
		ID         string         `json:"id"`
		OccurredAt time.Time      `json:"occurred_at"`
		Data       notify.Handoff `json:"data"`
	}
	if err := json.Unmarshal(body, &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded.Type != "handoff.created" || !decoded.OccurredAt.Equal(sampleHandoff("en").QueuedAt) ||
		decoded.Data.PartnerID != "acme" || len(decoded.Data.Reasons) != 3 {
		t.Errorf("payload = %+v", decoded)
	}
}

func TestPayloadIDsAreStable(t *testing.T) {
	t.Parallel()
	a, _ := notify.NewHandoffPayload(sampleHandoff("en"))
	b, _ := notify.NewHandoffPayload(sampleHandoff("fr"))
	if a.ID != b.ID || !strings.HasPrefix(a.ID, "handoff.created.") {
		t.Errorf("hand-off delivery ids %q and %q, want equal and prefixed", a.ID, b.ID)
	}
	o := notify.Outcome{RepID: "rep-7", PartnerID: "acme", Outcome: "connected", Note: "call back Friday", At: time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)}
	x, _ := notify.NewOutcomePayload(o)
	y, _ := notify.NewOutcomePayload(o)
	o.Outcome = "deal"
	z, _ := notify.NewOutcomePayload(o)
	if x.ID != y.ID || x.ID == z.ID || x.Type != notify.EventHandoffOutcome {
		t.Errorf("outcome ids: %q %q %q, type %q", x.ID, y.ID, z.ID, x.Type)
	}
}

func TestDeliverMapsStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status        int
		retryAfter    string
		wantErr       bool
		wantPermanent bool
		wantWait      time.Duration
	}{
		{status: 200}, {status: 201}, {status: 202}, {status: 204},
		{status: 301, wantErr: true, wantPermanent: true},
		{status: 302, wantErr: true, wantPermanent: true},
		{status: 400, wantErr: true, wantPermanent: true},
		{status: 404, wantErr: true, wantPermanent: true},
		{status: 410, wantErr: true, wantPermanent: true},
		{status: 408, wantErr: true},
		{status: 429, retryAfter: "120", wantErr: true, wantWait: 2 * time.Minute},
		{status: 500, wantErr: true},
		{status: 502, wantErr: true},
		{status: 503, retryAfter: "7", wantErr: true, wantWait: 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t, always(tt.status))
			if tt.retryAfter != "" {
				rcv.header.Set("Retry-After", tt.retryAfter)
			}
			if tt.status/100 == 3 {
				rcv.header.Set("Location", rcv.srv.URL+"/elsewhere")
			}
			s := sender(t, []notify.Webhook{{URL: rcv.srv.URL, Secret: secret}}, nil)
			body, _ := handoffBody(t)
			err := s.Deliver(context.Background(), 0, body)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Deliver = %v, want error %v", err, tt.wantErr)
			}
			if got := errors.Is(err, notify.ErrPermanent); got != tt.wantPermanent {
				t.Errorf("permanent = %v, want %v (%v)", got, tt.wantPermanent, err)
			}
			if n := len(rcv.deliveries()); n != 1 {
				t.Errorf("receiver saw %d requests, want 1 (redirects are not followed)", n)
			}
			if !tt.wantErr {
				return
			}
			var he *notify.HTTPError
			if !errors.As(err, &he) || he.Status != tt.status || he.RetryAfter != tt.wantWait {
				t.Errorf("HTTPError = %+v, want status %d retry-after %s", he, tt.status, tt.wantWait)
			}
		})
	}
}

func TestDeliverTransientFailures(t *testing.T) {
	t.Parallel()
	var stuckHits atomic.Int32
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stuckHits.Add(1)
		// The server notices a client hanging up only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release: // the test is over: let Close finish
		}
	}))
	t.Cleanup(stuck.Close)
	t.Cleanup(func() { close(release) }) // runs before stuck.Close
	t.Cleanup(func() {
		// Both stuck cases reached the server: they timed out waiting for
		// its answer, not before sending.
		if n := stuckHits.Load(); n != 2 {
			t.Errorf("the stuck server got %d requests, want 2", n)
		}
	})
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL + "/hook?token=sekrit-token"
	down.Close()

	tests := []struct {
		name   string
		url    string
		client *http.Client
		ctx    func() (context.Context, context.CancelFunc)
	}{
		{name: "client timeout", url: stuck.URL, client: &http.Client{Timeout: 200 * time.Millisecond, Transport: &http.Transport{}}},
		{name: "context deadline", url: stuck.URL, ctx: func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 200*time.Millisecond)
		}},
		{name: "connection refused", url: downURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := sender(t, []notify.Webhook{{URL: tt.url, Secret: secret}}, tt.client)
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			body, _ := handoffBody(t)
			start := time.Now()
			err := s.Deliver(ctx, 0, body)
			if err == nil || errors.Is(err, notify.ErrPermanent) {
				t.Fatalf("Deliver = %v, want a transient error", err)
			}
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("Deliver took %s", el)
			}
			if strings.Contains(err.Error(), "sekrit-token") {
				t.Errorf("error reveals the webhook URL: %v", err)
			}
		})
	}
}

func TestDeliverRejectsWhatCannotBeSent(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, always(200))
	s := sender(t, []notify.Webhook{{URL: rcv.srv.URL, Secret: secret}}, nil)
	body, _ := handoffBody(t)
	for name, call := range map[string]func() error{
		"index out of range": func() error { return s.Deliver(context.Background(), 1, body) },
		"negative index":     func() error { return s.Deliver(context.Background(), -1, body) },
		"not json":           func() error { return s.Deliver(context.Background(), 0, []byte("hello")) },
		"no id":              func() error { return s.Deliver(context.Background(), 0, []byte(`{"type":"handoff.created"}`)) },
	} {
		if err := call(); !errors.Is(err, notify.ErrPermanent) {
			t.Errorf("%s: %v, want ErrPermanent", name, err)
		}
	}
	if n := len(rcv.deliveries()); n != 0 {
		t.Errorf("receiver saw %d requests", n)
	}
}

func TestNewWebhookSenderValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		hook notify.Webhook
		want string
	}{
		{name: "relative", hook: notify.Webhook{URL: "/hooks", Secret: secret}, want: "scheme"},
		{name: "ftp", hook: notify.Webhook{URL: "ftp://crm.example/x", Secret: secret}, want: `scheme "ftp"`},
		{name: "no host", hook: notify.Webhook{URL: "https:///x", Secret: secret}, want: "no host"},
		{name: "bad url", hook: notify.Webhook{URL: "https://crm.example/%zz", Secret: secret}, want: "not a URL"},
		{name: "short secret", hook: notify.Webhook{URL: "https://crm.example/x", Secret: "short"}, want: "secret is 5 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := notify.NewWebhookSender([]notify.Webhook{{URL: "https://ok.example/h", Secret: secret}, tt.hook}, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "handoff.webhooks[1]") {
				t.Fatalf("err = %v, want handoff.webhooks[1] … %q", err, tt.want)
			}
		})
	}
	s, err := notify.NewWebhookSender(nil, nil)
	if err != nil || s.Len() != 0 {
		t.Errorf("no hooks: %v, len %d", err, s.Len())
	}
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	body := []byte(`{"type":"handoff.created","id":"x"}`)
	now := time.Unix(1_800_000_000, 0)
	good := notify.Sign(secret, now, body)
	if !strings.HasPrefix(good, "t=1800000000,v1=") || len(good) != len("t=1800000000,v1=")+64 {
		t.Fatalf("Sign = %q", good)
	}
	tests := []struct {
		name   string
		secret string
		header string
		body   []byte
		now    time.Time
		ok     bool
	}{
		{name: "valid", secret: secret, header: good, body: body, now: now, ok: true},
		{name: "valid within skew", secret: secret, header: good, body: body, now: now.Add(4 * time.Minute), ok: true},
		{name: "rotation: second v1 matches", secret: secret, header: good[:len("t=1800000000")] + ",v1=" + strings.Repeat("ab", 32) + good[len("t=1800000000"):], body: body, now: now, ok: true},
		{name: "unknown scheme ignored", secret: secret, header: good + ",v0=zz", body: body, now: now, ok: true},
		{name: "wrong secret", secret: "other-secret-0123456", header: good, body: body, now: now},
		{name: "body changed", secret: secret, header: good, body: append([]byte(" "), body...), now: now},
		{name: "too old", secret: secret, header: good, body: body, now: now.Add(6 * time.Minute)},
		{name: "from the future", secret: secret, header: good, body: body, now: now.Add(-6 * time.Minute)},
		{name: "timestamp swapped", secret: secret, header: strings.Replace(good, "t=1800000000", "t=1800000001", 1), body: body, now: now},
		{name: "no v1", secret: secret, header: "t=1800000000", body: body, now: now},
		{name: "empty", secret: secret, header: "", body: body, now: now},
		{name: "not hex", secret: secret, header: "t=1800000000,v1=xyz", body: body, now: now},
		{name: "two timestamps", secret: secret, header: good + ",t=1800000000", body: body, now: now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := notify.VerifySignature(tt.secret, tt.header, tt.body, tt.now, 5*time.Minute)
			if (err == nil) != tt.ok {
				t.Fatalf("VerifySignature = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, notify.ErrInvalidSignature) {
				t.Errorf("error %v does not wrap ErrInvalidSignature", err)
			}
		})
	}
}
