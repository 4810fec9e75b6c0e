package httpapi_test

// Abuse tests: each reproduces an attack an abuse probe got through the
// edge, over real HTTP with real Redis, and fails if it comes back.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/httpapi"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/webhook"
	"github.com/longtailhq/longtail/webhook/mailgun"
)

// edgeSink is the real event queue, failing the first `fail` calls as
// Redis going away mid-request would, and holding every call at a barrier
// when one is set.
type edgeSink struct {
	next    *jobs.EventQueue
	fail    atomic.Int32
	calls   atomic.Int32
	barrier *barrier
}

func (s *edgeSink) Record(ctx context.Context, evs []event.Event) error {
	s.calls.Add(1)
	if s.barrier != nil {
		if err := s.barrier.wait(ctx); err != nil {
			return err
		}
	}
	if s.fail.Add(-1) >= 0 {
		return errors.New("injected: enqueue failed")
	}
	return s.next.Record(ctx, evs)
}

// barrier holds deliveries at the queue until each of n requests is
// decided: waiting at the queue, or answered without reaching it. Copies
// the edge lets through therefore all reach the queue before any is
// queued, which is the widest window a check-then-act replay guard can
// have; a guard that decides at verification lets one through whatever
// the timing.
type barrier struct {
	n       int32
	decided atomic.Int32
	once    sync.Once
	open    chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: int32(n), open: make(chan struct{})} }

func (b *barrier) arrive() {
	if b.decided.Add(1) >= b.n {
		b.once.Do(func() { close(b.open) })
	}
}

func (b *barrier) wait(ctx context.Context) error {
	b.arrive()
	select {
	case <-b.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// answered counts a request the handler finished without reaching the
// queue.
func (b *barrier) answered(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &reachedWriter{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status != http.StatusOK {
			b.arrive()
		}
	})
}

type reachedWriter struct {
	http.ResponseWriter
	status int
}

func (w *reachedWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *reachedWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

const mailgunKey = "mailgun-signing-key-for-abuse-tests"

// mailgunEdge is the webhook edge with the Mailgun provider as serve wires
// it by default: a 24h window and the Redis replay cache.
func mailgunEdge(t *testing.T, b *barrier) (*fixture, *edgeSink) {
	t.Helper()
	rdb := redistest.New(t)
	client := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { client.Close() })
	p, err := mailgun.New(mailgun.Config{SigningKey: mailgunKey, MaxAge: 24 * time.Hour, Tokens: mailgun.NewRedisTokenCache(rdb)})
	if err != nil {
		t.Fatal(err)
	}
	sink := &edgeSink{next: jobs.NewEventQueue(client, 2*time.Second), barrier: b}
	api, err := httpapi.New(httpapi.Config{Keys: []string{adminKey}}, httpapi.Deps{
		Ready:     func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		Sink:      sink,
		Providers: []webhook.Provider{p},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := api.Handler()
	if b != nil {
		h = b.answered(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, rdb: rdb, ins: asynq.NewInspectorFromRedisClient(rdb)}, sink
}

// mailgunBody is a delivery signed for token at ts carrying one event.
func mailgunBody(token string, ts time.Time, eventType, id, recipient string) []byte {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(mailgunKey))
	mac.Write([]byte(stamp + token))
	return fmt.Appendf(nil, `{"signature":{"timestamp":%q,"token":%q,"signature":%q},`+
		`"event-data":{"event":%q,"id":%q,"timestamp":%d.5,"recipient":%q,"url":"https://v.example/deal"}}`,
		stamp, token, hex.EncodeToString(mac.Sum(nil)), eventType, id, ts.Unix(), recipient)
}

func (f *fixture) postMailgun(t *testing.T, body []byte) int {
	t.Helper()
	resp, err := f.srv.Client().Post(f.srv.URL+"/webhooks/mailgun", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// queuedEvents counts the events of every pending ingest task.
func (f *fixture) queuedEvents(t *testing.T) int {
	t.Helper()
	n := 0
	for _, task := range f.queued(t) {
		n += len(task)
	}
	return n
}

// Mailgun signs timestamp and token only: one captured signature must not
// carry other events, and copies sent at once must be accepted once.
func TestAbuseMailgunReplay(t *testing.T) {
	t.Parallel()
	now := time.Now()
	t.Run("parallel copies", func(t *testing.T) {
		t.Parallel()
		const n = 30
		f, _ := mailgunEdge(t, newBarrier(n))
		body := mailgunBody("tok-parallel", now, "clicked", "ev-1", "jane@acme.example")
		var wg sync.WaitGroup
		codes := make([]int, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				codes[i] = f.postMailgun(t, body)
			})
		}
		close(start)
		wg.Wait()
		count := map[int]int{}
		for _, c := range codes {
			count[c]++
		}
		if count[http.StatusOK] != 1 || count[http.StatusUnauthorized] != n-1 {
			t.Fatalf("answers %v, want exactly one 200 and %d 401", count, n-1)
		}
		if got := f.queuedEvents(t); got != 1 {
			t.Errorf("queued %d events, want 1", got)
		}
	})
	t.Run("other events under one signature", func(t *testing.T) {
		t.Parallel()
		f, _ := mailgunEdge(t, nil)
		for i, ev := range []string{"clicked", "opened", "complained"} {
			body := mailgunBody("tok-captured", now, ev, fmt.Sprintf("ev-%d", i), "jane@acme.example")
			want := http.StatusUnauthorized
			if i == 0 {
				want = http.StatusOK
			}
			if got := f.postMailgun(t, body); got != want {
				t.Errorf("%s under the captured signature: %d, want %d", ev, got, want)
			}
		}
		if got := f.queuedEvents(t); got != 1 {
			t.Errorf("queued %d events, want the first delivery's 1", got)
		}
	})
	t.Run("retry after a failed enqueue", func(t *testing.T) {
		t.Parallel()
		f, sink := mailgunEdge(t, nil)
		sink.fail.Store(1)
		body := mailgunBody("tok-retry", now, "clicked", "ev-r", "jane@acme.example")
		if got := f.postMailgun(t, body); got != http.StatusServiceUnavailable {
			t.Fatalf("delivery while the queue fails: %d, want 503", got)
		}
		// Mailgun retries the same delivery: it lands, once.
		if got := f.postMailgun(t, body); got != http.StatusOK {
			t.Fatalf("provider retry: %d, want 200", got)
		}
		if got := f.postMailgun(t, body); got != http.StatusUnauthorized {
			t.Fatalf("copy after the retry was queued: %d, want 401", got)
		}
		if got, calls := f.queuedEvents(t), sink.calls.Load(); got != 1 || calls != 2 {
			t.Errorf("queued %d events in %d enqueue calls, want 1 in 2", got, calls)
		}
	})
}

// opsEdge is the API with the asynqmon console mounted as serve mounts it,
// and one pending task in the ingest queue.
func opsEdge(t *testing.T, allowActions bool, extra httpapi.Config) *fixture {
	t.Helper()
	rdb := redistest.New(t)
	client := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { client.Close() })
	if _, err := client.Enqueue(asynq.NewTask("probe", nil), asynq.Queue(jobs.QueueIngest)); err != nil {
		t.Fatal(err)
	}
	mon := asynqmon.New(asynqmon.Options{RootPath: "/ops/queues", RedisConnOpt: sharedRedis{rdb}, ReadOnly: !allowActions})
	cfg := extra
	cfg.Keys, cfg.OpsAllowActions = []string{adminKey}, allowActions
	api, err := httpapi.New(cfg, httpapi.Deps{
		Ready: func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		Sink:  jobs.NewEventQueue(client, time.Second),
		Ops:   mon,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, rdb: rdb, ins: asynq.NewInspectorFromRedisClient(rdb)}
}

// sharedRedis hands asynqmon the test's client.
type sharedRedis struct{ c redis.UniversalClient }

func (s sharedRedis) MakeRedisClient() any { return s.c }

// opsCall sends a request to the console with the admin key as the Basic
// auth password, as a browser re-sends it, plus headers.
func (f *fixture) opsCall(t *testing.T, method, path string, headers map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("x", adminKey)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, b, resp.Header}
}

// opsState is what the forged requests try to change.
func (f *fixture) opsState(t *testing.T) (ingestPaused bool, pending int) {
	t.Helper()
	info, err := f.ins.GetQueueInfo(jobs.QueueIngest)
	if err != nil {
		t.Fatal(err)
	}
	return info.Paused, info.Pending
}

// A page on another site could pause queues or archive every pending task
// of a signed-in admin, whose browser re-sends the Basic credentials.
func TestAbuseOpsConsoleCSRF(t *testing.T) {
	t.Parallel()
	const (
		pause      = "/ops/queues/api/queues/ingest:pause"
		archiveAll = "/ops/queues/api/queues/ingest/pending_tasks:archive_all"
		ok         = 0 // any 2xx: asynqmon answers 204 or 200
	)
	tests := []struct {
		name    string
		allow   bool
		headers map[string]string
		want    int
		code    string
	}{
		{"cross-site form", true, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 403, "cross_site"},
		{"foreign Origin only", true, map[string]string{"Origin": "https://evil.example"}, 403, "cross_site"},
		{"opaque Origin", true, map[string]string{"Origin": "null"}, 403, "cross_site"},
		{"cross-site fetch metadata only", true, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "cross_site"},
		{"sibling subdomain", true, map[string]string{"Sec-Fetch-Site": "same-site"}, 403, "cross_site"},
		{"read-only console, own page", false, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "SELF"}, 403, "read_only"},
		{"read-only console, script", false, nil, 403, "read_only"},
		{"own page", true, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "SELF"}, ok, ""},
		{"public URL origin", true, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://longtail.vendor.example"}, ok, ""},
		{"script with the key (no browser headers)", true, nil, ok, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := opsEdge(t, tc.allow, httpapi.Config{PublicURL: "https://longtail.vendor.example/"})
			headers := map[string]string{}
			for k, v := range tc.headers {
				if v == "SELF" {
					v = f.srv.URL
				}
				headers[k] = v
			}
			for _, path := range []string{pause, archiveAll} {
				r := f.opsCall(t, http.MethodPost, path, headers)
				if (tc.want == ok && r.status/100 != 2) || (tc.want != ok && r.status != tc.want) {
					t.Fatalf("POST %s: %d %s, want %d", path, r.status, r.body, tc.want)
				}
				if tc.code != "" && errorCode(t, r) != tc.code {
					t.Errorf("POST %s: code %s, want %s", path, errorCode(t, r), tc.code)
				}
			}
			paused, pending := f.opsState(t)
			if changed := paused || pending != 1; changed != (tc.want == ok) {
				t.Errorf("after the requests: paused %v, pending %d (answered %d)", paused, pending, tc.want)
			}
			// Reading always works for the key holder.
			if r := f.opsCall(t, http.MethodGet, "/ops/queues/api/queues", nil); r.status != 200 {
				t.Errorf("GET queues: %d", r.status)
			}
		})
	}
}

func TestOpsConsoleHeaders(t *testing.T) {
	t.Parallel()
	f := opsEdge(t, false, httpapi.Config{})
	for _, tc := range []struct {
		path string
		auth bool
	}{{"/ops/queues/", true}, {"/ops/queues/api/queues", true}, {"/ops/queues/", false}} {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+tc.path, nil)
		if tc.auth {
			req.SetBasicAuth("x", adminKey)
		}
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		scriptSrc := ""
		for _, d := range strings.Split(csp, ";") {
			if d = strings.TrimSpace(d); strings.HasPrefix(d, "script-src ") {
				scriptSrc = d
			}
		}
		if h.Get("X-Frame-Options") != "DENY" || !strings.Contains(csp, "frame-ancestors 'none'") ||
			!strings.Contains(scriptSrc, "'sha256-") || strings.Contains(scriptSrc, "unsafe") {
			t.Errorf("GET %s (auth %v): X-Frame-Options %q, CSP %q", tc.path, tc.auth, h.Get("X-Frame-Options"), csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", tc.path)
		}
	}
}

func TestAbuseMetricsToken(t *testing.T) {
	t.Parallel()
	const token = "metrics-token-0123456789"
	tests := []struct {
		name, configured, sent string
		want                   int
	}{
		{"open by default", "", "", 200},
		{"no token sent", token, "", 401},
		{"wrong token", token, "metrics-token-0123456788", 401},
		{"the admin key is not the metrics token", token, adminKey, 401},
		{"the token", token, token, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := opsEdge(t, false, httpapi.Config{MetricsToken: tc.configured})
			f.call(t, "GET", "/healthz", "", "", "") // a request for the latency series to show
			r := f.call(t, "GET", "/metrics", tc.sent, "", "")
			if r.status != tc.want {
				t.Fatalf("GET /metrics: %d, want %d", r.status, tc.want)
			}
			if tc.want == 200 && !bytes.Contains(r.body, []byte("longtail_http_request_duration_seconds")) {
				t.Errorf("GET /metrics: no longtail series in %.200s", r.body)
			}
			if tc.want == 401 && (errorCode(t, r) != "unauthorized" || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer")) {
				t.Errorf("refusal: %s %v", r.body, r.header)
			}
		})
	}
}

// Every JSON answer, success or error, tells browsers not to sniff it.
func TestJSONNosniff(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, c := range []struct{ method, path, key string }{
		{"GET", "/healthz", ""}, {"GET", "/v1/partners/p1", ""}, {"GET", "/v1/partners/nobody", adminKey}, {"POST", "/webhooks/nope", ""},
	} {
		r := f.call(t, c.method, c.path, c.key, "application/json", "")
		if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") || r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: %d Content-Type %q nosniff %q", c.method, c.path, r.status, r.header.Get("Content-Type"), r.header.Get("X-Content-Type-Options"))
		}
	}
}
