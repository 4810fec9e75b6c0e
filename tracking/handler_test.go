package tracking

import (
	"bytes"
	"context"
	"errors"
	"image/gif"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/testclock"
)

// memSink keeps what it is given, or fails with err when set.
type memSink struct {
	mu     sync.Mutex
	err    error
	block  bool
	events []event.Event
}

func (s *memSink) Record(ctx context.Context, events []event.Event) error {
	s.mu.Lock()
	err, block := s.err, s.block
	s.mu.Unlock()
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, events...)
	return nil
}

func (s *memSink) got() []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event.Event(nil), s.events...)
}

// lockedBuffer is a log destination shared with the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type bundle struct {
	srv    *httptest.Server
	h      *Handler
	sink   *memSink
	signer *Signer
	clock  *testclock.Clock
	log    *lockedBuffer
	client *http.Client
}

var t0 = time.Date(2026, 11, 20, 9, 31, 2, 400_000_000, time.UTC)

func setup(t *testing.T, configure func(*HandlerConfig)) *bundle {
	t.Helper()
	b := &bundle{
		sink:   &memSink{},
		signer: newTestSigner(t, testSecret(0)),
		clock:  testclock.New(t0),
		log:    &lockedBuffer{},
	}
	cfg := HandlerConfig{
		Signer: b.signer,
		Sink:   b.sink,
		Clock:  b.clock.Now,
		Log:    zerolog.New(b.log).Level(zerolog.InfoLevel),
	}
	if configure != nil {
		configure(&cfg)
	}
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	b.h = h
	mux := http.NewServeMux()
	h.Register(mux)
	b.srv = httptest.NewServer(mux)
	t.Cleanup(b.srv.Close)
	// The server's own client, not one on http.DefaultTransport: closing
	// a parallel test's server closes that transport's idle connections
	// and can break a request in flight.
	b.client = b.srv.Client()
	b.client.Timeout = 10 * time.Second
	b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return b
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (b *bundle) do(t *testing.T, method, path string, header http.Header) response {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// alter changes one character in the middle of the payload part.
func alter(tok string) string {
	i := len(tok) / 3
	r := byte('A')
	if tok[i] == 'A' {
		r = 'B'
	}
	return tok[:i] + string([]byte{r}) + tok[i+1:]
}

func assertPixel(t *testing.T, r response) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200", r.status)
	}
	if got := r.header.Get("Content-Type"); got != "image/gif" {
		t.Errorf("Content-Type = %q, want image/gif", got)
	}
	if got := r.header.Get("Cache-Control"); got != "no-store, private" {
		t.Errorf("Cache-Control = %q", got)
	}
	if got := r.header.Get("Content-Length"); got != strconv.Itoa(len(r.body)) {
		t.Errorf("Content-Length = %q, body is %d bytes", got, len(r.body))
	}
	img, err := gif.Decode(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("pixel is not a GIF: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1 || b.Dy() != 1 {
		t.Fatalf("pixel is %dx%d, want 1x1", b.Dx(), b.Dy())
	}
	if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
		t.Errorf("pixel alpha = %d, want transparent", a)
	}
}

func TestNewHandlerValidates(t *testing.T) {
	t.Parallel()
	signer := newTestSigner(t, testSecret(0))
	tests := []struct {
		name    string
		cfg     HandlerConfig
		wantErr string
	}{
		{name: "ok", cfg: HandlerConfig{Signer: signer, Sink: &memSink{}}},
		{name: "ok with fallback", cfg: HandlerConfig{Signer: signer, Sink: &memSink{}, FallbackURL: "https://vendor.example/"}},
		{name: "no signer", cfg: HandlerConfig{Sink: &memSink{}}, wantErr: "Signer is required"},
		{name: "no sink", cfg: HandlerConfig{Signer: signer}, wantErr: "Sink is required"},
		{name: "relative fallback", cfg: HandlerConfig{Signer: signer, Sink: &memSink{}, FallbackURL: "/home"}, wantErr: "FallbackURL"},
		{name: "scheme-relative fallback", cfg: HandlerConfig{Signer: signer, Sink: &memSink{}, FallbackURL: "//evil.example"}, wantErr: "FallbackURL"},
		{name: "negative timeout", cfg: HandlerConfig{Signer: signer, Sink: &memSink{}, RecordTimeout: -time.Second}, wantErr: "RecordTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := NewHandler(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || h == nil {
					t.Fatalf("NewHandler: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewHandler error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestOpenPixel(t *testing.T) {
	t.Parallel()
	stranger := newTestSigner(t, testSecret(7))
	tests := []struct {
		name       string
		token      func(b *bundle) string
		wantEvent  bool
		wantForged uint64
	}{
		{name: "valid", token: func(b *bundle) string { return mustSign(t, b.signer, KindOpen, typicalClaims) }, wantEvent: true},
		{name: "altered", token: func(b *bundle) string { return alter(mustSign(t, b.signer, KindOpen, typicalClaims)) }, wantForged: 1},
		{name: "other key", token: func(*bundle) string { return mustSign(t, stranger, KindOpen, typicalClaims) }, wantForged: 1},
		{name: "click token", token: func(b *bundle) string {
			return mustSign(t, b.signer, KindClick, clickClaims("https://vendor.example/"))
		}, wantForged: 1},
		{name: "unsubscribe token", token: func(b *bundle) string {
			return mustSign(t, b.signer, KindUnsubscribe, Claims{ContactID: "c1"})
		}, wantForged: 1},
		{name: "garbage", token: func(*bundle) string { return "hello.world" }, wantForged: 1},
		{name: "escaped junk", token: func(*bundle) string { return "%00%ff%2e%0a" }, wantForged: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			tok := tt.token(b)
			r := b.do(t, http.MethodGet, "/t/o/"+tok, http.Header{"User-Agent": {"Mozilla/5.0 (test)"}})
			assertPixel(t, r)

			var want []event.Event
			if tt.wantEvent {
				want = []event.Event{{
					ID:         event.HashID("tracking", "open", tok, "2026-11-20T09:31:02Z"),
					Type:       event.EmailOpen,
					ContactID:  typicalClaims.ContactID,
					PartnerID:  typicalClaims.PartnerID,
					OccurredAt: t0,
					Topic:      typicalClaims.Topic,
					Source:     "tracking",
					Flow:       typicalClaims.Flow,
					Step:       typicalClaims.Step,
					MessageID:  typicalClaims.MessageID,
					Title:      typicalClaims.Title,
					UserAgent:  "Mozilla/5.0 (test)",
					IP:         "127.0.0.1",
				}}
			}
			got := b.sink.got()
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("events mismatch (-want, +got):\n%s", diff)
			}
			for i := range got {
				if err := got[i].Validate(); err != nil {
					t.Errorf("recorded event does not validate: %v", err)
				}
			}
			wantStats := Stats{Forged: tt.wantForged}
			if tt.wantEvent {
				wantStats.Recorded = 1
			}
			if diff := cmp.Diff(wantStats, b.h.Stats()); diff != "" {
				t.Errorf("stats mismatch (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestOpenIDFoldsDoubleLoadOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	tok := mustSign(t, b.signer, KindOpen, Claims{ContactID: "c1", MessageID: "m1"})
	hits := []time.Time{
		t0,                             // first load
		t0.Add(300 * time.Millisecond), // the client loads it again at once
		t0.Add(2 * time.Hour),          // the person opens the mail again later
	}
	for _, at := range hits {
		b.clock.Set(at)
		assertPixel(t, b.do(t, http.MethodGet, "/t/o/"+tok, nil))
	}
	got := b.sink.got()
	if len(got) != 3 {
		t.Fatalf("recorded %d events, want 3 (dedup is scoring's job)", len(got))
	}
	if got[0].ID != got[1].ID {
		t.Errorf("double load within a second got two ids: %s, %s", got[0].ID, got[1].ID)
	}
	if got[2].ID == got[0].ID {
		t.Errorf("a later open reused the first id %s", got[0].ID)
	}
	for i, at := range hits {
		if !got[i].OccurredAt.Equal(at) {
			t.Errorf("event %d OccurredAt = %s, want %s", i, got[i].OccurredAt, at)
		}
	}
}

func TestClick(t *testing.T) {
	t.Parallel()
	const target = "https://vendor.example/security/edr?utm_source=longtail&x=%2F#top"
	const evil = "https://evil.example/phish"
	attacker := newTestSigner(t, testSecret(9))
	for _, fallback := range []string{"", "https://vendor.example/"} {
		tests := []struct {
			name  string
			token func(b *bundle) string
			valid bool
		}{
			{name: "valid", token: func(b *bundle) string { return mustSign(t, b.signer, KindClick, clickClaims(target)) }, valid: true},
			{name: "altered", token: func(b *bundle) string { return alter(mustSign(t, b.signer, KindClick, clickClaims(evil))) }},
			{name: "attacker key with evil url", token: func(*bundle) string { return mustSign(t, attacker, KindClick, clickClaims(evil)) }},
			{name: "open token", token: func(b *bundle) string { return mustSign(t, b.signer, KindOpen, typicalClaims) }},
			{name: "url as token", token: func(*bundle) string { return "https:%2F%2Fevil.example%2Fphish" }},
			{name: "garbage", token: func(*bundle) string { return "x" }},
		}
		for _, tt := range tests {
			t.Run("fallback="+fallback+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				b := setup(t, func(c *HandlerConfig) { c.FallbackURL = fallback })
				tok := tt.token(b)
				// Every place an open redirect could be smuggled in.
				path := "/t/c/" + tok + "?url=" + evil + "&next=" + evil + "&redirect=//evil.example"
				r := b.do(t, http.MethodGet, path, http.Header{
					"Referer":          {evil},
					"X-Forwarded-Host": {"evil.example"},
					"User-Agent":       {"Mozilla/5.0 (test)"},
				})
				loc := r.header.Get("Location")
				if strings.Contains(loc, "evil") {
					t.Fatalf("redirected to %q taken from the request", loc)
				}
				if got := r.header.Get("Cache-Control"); got != "no-store, private" {
					t.Errorf("Cache-Control = %q", got)
				}
				got := b.sink.got()
				if tt.valid {
					if r.status != http.StatusFound || loc != target {
						t.Fatalf("got %d Location %q, want 302 to %q", r.status, loc, target)
					}
					want := []event.Event{{
						ID:         event.HashID("tracking", "click", tok, "2026-11-20T09:31:02Z"),
						Type:       event.EmailClick,
						ContactID:  typicalClaims.ContactID,
						PartnerID:  typicalClaims.PartnerID,
						OccurredAt: t0,
						Topic:      typicalClaims.Topic,
						URL:        target,
						Source:     "tracking",
						Flow:       typicalClaims.Flow,
						Step:       typicalClaims.Step,
						MessageID:  typicalClaims.MessageID,
						Title:      typicalClaims.Title,
						UserAgent:  "Mozilla/5.0 (test)",
						IP:         "127.0.0.1",
					}}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("events mismatch (-want, +got):\n%s", diff)
					}
					if diff := cmp.Diff(Stats{Recorded: 1}, b.h.Stats()); diff != "" {
						t.Errorf("stats mismatch (-want, +got):\n%s", diff)
					}
					return
				}
				if len(got) != 0 {
					t.Errorf("forged click recorded %v", got)
				}
				if diff := cmp.Diff(Stats{Forged: 1}, b.h.Stats()); diff != "" {
					t.Errorf("stats mismatch (-want, +got):\n%s", diff)
				}
				if fallback != "" {
					if r.status != http.StatusFound || loc != fallback {
						t.Fatalf("got %d Location %q, want 302 to fallback %q", r.status, loc, fallback)
					}
					return
				}
				if r.status != http.StatusNotFound || loc != "" {
					t.Fatalf("got %d Location %q, want 404 without Location", r.status, loc)
				}
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("Content-Type = %q, want text/plain", ct)
				}
				if len(r.body) == 0 || len(r.body) > 100 {
					t.Errorf("404 body = %q, want a short message", r.body)
				}
			})
		}
	}
}

func TestHeadRecordsNothing(t *testing.T) {
	t.Parallel()
	const target = "https://vendor.example/x"
	b := setup(t, nil)
	openTok := mustSign(t, b.signer, KindOpen, typicalClaims)
	clickTok := mustSign(t, b.signer, KindClick, clickClaims(target))

	r := b.do(t, http.MethodHead, "/t/o/"+openTok, nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "image/gif" || len(r.body) != 0 {
		t.Errorf("HEAD pixel = %d %q body %d bytes, want 200 image/gif, no body", r.status, r.header.Get("Content-Type"), len(r.body))
	}
	if got := r.header.Get("Content-Length"); got != strconv.Itoa(len(pixelGIF)) {
		t.Errorf("HEAD pixel Content-Length = %q, want %d", got, len(pixelGIF))
	}
	r = b.do(t, http.MethodHead, "/t/c/"+clickTok, nil)
	if r.status != http.StatusFound || r.header.Get("Location") != target {
		t.Errorf("HEAD click = %d Location %q, want 302 to %q", r.status, r.header.Get("Location"), target)
	}
	r = b.do(t, http.MethodHead, "/t/c/"+alter(clickTok), nil)
	if r.status != http.StatusNotFound || r.header.Get("Location") != "" || len(r.body) != 0 {
		t.Errorf("HEAD forged click = %d Location %q body %q, want bodiless 404", r.status, r.header.Get("Location"), r.body)
	}
	if got := b.sink.got(); len(got) != 0 {
		t.Errorf("HEAD recorded %v", got)
	}
	if diff := cmp.Diff(Stats{Forged: 1}, b.h.Stats()); diff != "" {
		t.Errorf("stats mismatch (-want, +got):\n%s", diff)
	}
}

func TestOtherMethodsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	tok := mustSign(t, b.signer, KindOpen, typicalClaims)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		if r := b.do(t, m, "/t/o/"+tok, nil); r.status != http.StatusMethodNotAllowed {
			t.Errorf("%s pixel = %d, want 405", m, r.status)
		}
	}
	if got := b.sink.got(); len(got) != 0 {
		t.Errorf("recorded %v", got)
	}
}

func TestSinkFailureStillServes(t *testing.T) {
	t.Parallel()
	const target = "https://vendor.example/x"
	b := setup(t, nil)
	b.sink.err = errors.New("redis: connection refused")
	openTok := mustSign(t, b.signer, KindOpen, typicalClaims)
	clickTok := mustSign(t, b.signer, KindClick, clickClaims(target))

	assertPixel(t, b.do(t, http.MethodGet, "/t/o/"+openTok, nil))
	r := b.do(t, http.MethodGet, "/t/c/"+clickTok, nil)
	if r.status != http.StatusFound || r.header.Get("Location") != target {
		t.Errorf("click with failing sink = %d Location %q, want 302 to %q", r.status, r.header.Get("Location"), target)
	}
	if diff := cmp.Diff(Stats{SinkErrors: 2}, b.h.Stats()); diff != "" {
		t.Errorf("stats mismatch (-want, +got):\n%s", diff)
	}
	logs := b.log.String()
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 log lines, got:\n%s", logs)
	}
	for _, l := range lines {
		if !strings.Contains(l, `"level":"warn"`) || !strings.Contains(l, "redis: connection refused") {
			t.Errorf("log line is not a warn carrying the error: %s", l)
		}
		if !strings.Contains(l, typicalClaims.MessageID) {
			t.Errorf("log line does not say which message: %s", l)
		}
		if strings.Contains(l, "@") {
			t.Errorf("log line may hold an email address: %s", l)
		}
	}
}

func TestSlowSinkDoesNotHoldRedirect(t *testing.T) {
	t.Parallel()
	const target = "https://vendor.example/x"
	b := setup(t, func(c *HandlerConfig) { c.RecordTimeout = 50 * time.Millisecond })
	b.sink.block = true
	tok := mustSign(t, b.signer, KindClick, clickClaims(target))
	start := time.Now()
	r := b.do(t, http.MethodGet, "/t/c/"+tok, nil)
	if r.status != http.StatusFound || r.header.Get("Location") != target {
		t.Fatalf("click = %d Location %q", r.status, r.header.Get("Location"))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("redirect took %s with a 50ms record timeout", d)
	}
	if diff := cmp.Diff(Stats{SinkErrors: 1}, b.h.Stats()); diff != "" {
		t.Errorf("stats mismatch (-want, +got):\n%s", diff)
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		trust  bool
		header http.Header
		want   string
	}{
		{name: "peer", want: "127.0.0.1"},
		{name: "untrusted header ignored", header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}, want: "127.0.0.1"},
		{name: "trusted single", trust: true, header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}, want: "203.0.113.9"},
		{name: "trusted takes the proxy's entry", trust: true, header: http.Header{"X-Forwarded-For": {"6.6.6.6, 203.0.113.9"}}, want: "203.0.113.9"},
		{name: "trusted last header line", trust: true, header: http.Header{"X-Forwarded-For": {"6.6.6.6", "2001:db8::7"}}, want: "2001:db8::7"},
		{name: "trusted junk falls back to peer", trust: true, header: http.Header{"X-Forwarded-For": {"not-an-ip"}}, want: "127.0.0.1"},
		{name: "trusted without header", trust: true, want: "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(c *HandlerConfig) { c.TrustProxyHeaders = tt.trust })
			tok := mustSign(t, b.signer, KindOpen, Claims{ContactID: "c1"})
			assertPixel(t, b.do(t, http.MethodGet, "/t/o/"+tok, tt.header))
			got := b.sink.got()
			if len(got) != 1 || got[0].IP != tt.want {
				t.Fatalf("events = %+v, want one with IP %q", got, tt.want)
			}
		})
	}
}

func TestLongUserAgentKeepsEventValid(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	tok := mustSign(t, b.signer, KindOpen, Claims{ContactID: "c1"})
	ua := strings.Repeat("é", 3000) // 6000 bytes, and a cut could land mid-rune
	assertPixel(t, b.do(t, http.MethodGet, "/t/o/"+tok, http.Header{"User-Agent": {ua}}))
	got := b.sink.got()
	if len(got) != 1 {
		t.Fatalf("recorded %d events, want 1", len(got))
	}
	if n := len(got[0].UserAgent); n == 0 || n > maxUserAgentLen || !strings.HasPrefix(ua, got[0].UserAgent) {
		t.Errorf("UserAgent kept %d bytes, want a prefix of at most %d", n, maxUserAgentLen)
	}
	if err := got[0].Validate(); err != nil {
		t.Errorf("event does not validate: %v", err)
	}
}
