package tracking_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/ingest"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
	"github.com/longtailhq/longtail/tracking"
)

// unsub is an unsubscribe route on a real server, wired as serve wires it:
// the directory on a real Redis behind nurture.Optout, and events applied
// by the real ingest processor and scoring engine. The nurture gate on the
// same Redis says whether the contact may be mailed.
type unsub struct {
	srv    *httptest.Server
	client *http.Client
	signer *tracking.Signer
	h      *tracking.Handler
	dir    *directory.Store
	engine *scoring.Engine
	gate   *nurture.Gate
	sink   *switchSink
}

// switchSink hands events to the ingest processor, or fails while fail
// is set: Redis going away between the consent write and the event.
type switchSink struct {
	proc *ingest.Processor
	mu   sync.Mutex
	fail bool
}

func (s *switchSink) Record(ctx context.Context, evs []event.Event) error {
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	if fail {
		return errors.New("queue unavailable")
	}
	_, err := s.proc.Process(ctx, evs)
	return err
}

func (s *switchSink) setFail(v bool) {
	s.mu.Lock()
	s.fail = v
	s.mu.Unlock()
}

const (
	partnerID = "acme-it"
	contactID = "c-jane"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func setupUnsub(t *testing.T, locale string) *unsub {
	t.Helper()
	ctx := context.Background()
	rdb := redistest.New(t)
	clk := testclock.New(t0)
	dir, err := directory.New(rdb, directory.Config{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := scoring.NewEngine(rdb, scoring.Config{}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	reps, err := repqueue.New(rdb, dir, engine, repqueue.Config{}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	gate, err := nurture.NewGate(dir, engine, reps)
	if err != nil {
		t.Fatal(err)
	}
	proc, err := ingest.NewProcessor(ingest.Config{}, dir, engine)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := dir.PutPartner(ctx, directory.Partner{ID: partnerID, Name: "Acme IT Services", Type: "MSP"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := dir.PutContact(ctx, directory.Contact{ID: contactID, PartnerID: partnerID, Email: "jane@acme.example",
		FirstName: "Jane", Locale: locale, Consent: directory.ConsentGranted}); err != nil {
		t.Fatal(err)
	}
	optout, err := nurture.NewOptout(dir)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := tracking.NewSigner([]byte(strings.Repeat("s", 32)))
	if err != nil {
		t.Fatal(err)
	}
	u := &unsub{signer: signer, dir: dir, engine: engine, gate: gate, sink: &switchSink{proc: proc}}
	u.h, err = tracking.NewHandler(tracking.HandlerConfig{
		Signer: signer, Sink: u.sink, Clock: clk.Now, Log: zerolog.Nop(), Unsubscriber: optout,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	u.h.Register(mux)
	u.srv = httptest.NewServer(mux)
	t.Cleanup(u.srv.Close)
	u.client = u.srv.Client()
	u.client.Timeout = 10 * time.Second
	return u
}

// token is the unsubscribe token of the welcome email of a flow.
func (u *unsub) token(t *testing.T) string {
	t.Helper()
	tok, err := u.signer.Sign(tracking.KindUnsubscribe, tracking.Claims{
		ContactID: contactID, PartnerID: partnerID, Flow: "dealreg-owner-manager", Step: "welcome", MessageID: "n.1.welcome@longtail",
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type reply struct {
	status int
	header http.Header
	body   string
}

// oneClick POSTs as a mailbox provider does under RFC 8058: the form body,
// no cookie, nothing else.
func (u *unsub) oneClick(t *testing.T, path string) reply {
	t.Helper()
	return u.do(t, http.MethodPost, path, "List-Unsubscribe=One-Click", nil)
}

func (u *unsub) do(t *testing.T, method, path, body string, header http.Header) reply {
	t.Helper()
	req, err := http.NewRequest(method, u.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := u.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// state is what an unsubscribe may change: the gate's answer, the
// contact's consent, suppression and its email.unsubscribe events.
type state struct {
	mailable    nurture.Decision
	consent     string
	suppressed  string
	unsubscribe []scoring.TimelineItem
}

func (u *unsub) state(t *testing.T) state {
	t.Helper()
	ctx := context.Background()
	d, err := u.gate.MayMail(ctx, contactID)
	if err != nil {
		t.Fatal(err)
	}
	c, err := u.dir.GetContact(ctx, contactID)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := u.engine.Contact(ctx, partnerID, contactID)
	if err != nil {
		t.Fatal(err)
	}
	s := state{mailable: d, consent: c.Consent, suppressed: cs.Suppressed}
	for _, it := range cs.Timeline {
		if it.Type == event.EmailUnsubscribe {
			s.unsubscribe = append(s.unsubscribe, it)
		}
	}
	return s
}

func (s state) untouched(t *testing.T) {
	t.Helper()
	if !s.mailable.Allowed || s.consent != directory.ConsentGranted || s.suppressed != "" || len(s.unsubscribe) != 0 {
		t.Fatalf("state changed: %+v", s)
	}
}

func TestUnsubscribePageChangesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, locale, acceptLanguage string
		wantLang, wantButton         string
	}{
		{"english contact", "en", "fr-FR,fr;q=0.9", "en", "Unsubscribe"},
		{"french contact", "fr-CA", "", "fr", "Me désabonner"},
		{"no locale: the browser's language", "", "de-DE, fr;q=0.8, en;q=0.5", "fr", "Me désabonner"},
		{"no locale, no header: english", "", "", "en", "Unsubscribe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := setupUnsub(t, tt.locale)
			path := tracking.KindUnsubscribe.Path(u.token(t))
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				r := u.do(t, method, path, "", http.Header{"Accept-Language": {tt.acceptLanguage}})
				if r.status != http.StatusOK {
					t.Fatalf("%s: status %d, want 200", method, r.status)
				}
				if method == http.MethodHead {
					continue
				}
				for _, want := range []string{`<html lang="` + tt.wantLang + `">`, `<form method="post">`,
					`name="List-Unsubscribe" value="One-Click"`, ">" + tt.wantButton + "</button>"} {
					if !strings.Contains(r.body, want) {
						t.Errorf("page lacks %q:\n%s", want, r.body)
					}
				}
				if got := r.header.Get("Cache-Control"); got != "no-store, private" {
					t.Errorf("Cache-Control %q", got)
				}
				if got := r.header.Get("Referrer-Policy"); got != "no-referrer" {
					t.Errorf("Referrer-Policy %q: the token would leak to linked sites", got)
				}
				if r.header.Get("Set-Cookie") != "" {
					t.Errorf("the page sets a cookie")
				}
			}
			u.state(t).untouched(t)
			if got := u.h.Stats().Unsubscribes; got != 0 {
				t.Errorf("Unsubscribes = %d after a GET", got)
			}
		})
	}
}

func TestOneClickUnsubscribe(t *testing.T) {
	t.Parallel()
	u := setupUnsub(t, "")
	u.state(t).untouched(t)
	path := tracking.KindUnsubscribe.Path(u.token(t))

	r := u.oneClick(t, path)
	if r.status != http.StatusOK || !strings.Contains(r.body, "You are unsubscribed.") {
		t.Fatalf("POST: %d %s", r.status, r.body)
	}
	// Effective at once: the gate refuses right after the 200.
	s := u.state(t)
	if s.mailable.Allowed || s.mailable.Reason != nurture.ReasonConsentWithdrawn {
		t.Fatalf("gate after the one-click POST: %+v, want refused for %s", s.mailable, nurture.ReasonConsentWithdrawn)
	}
	if s.consent != directory.ConsentWithdrawn {
		t.Errorf("consent %q, want withdrawn", s.consent)
	}
	if s.suppressed != "unsubscribe" {
		t.Errorf("scoring suppression %q, want unsubscribe", s.suppressed)
	}
	if len(s.unsubscribe) != 1 {
		t.Fatalf("%d email.unsubscribe events in the timeline, want 1: %+v", len(s.unsubscribe), s.unsubscribe)
	}

	// Again, and once more from the page's own button: still one event.
	if r := u.oneClick(t, path); r.status != http.StatusOK {
		t.Fatalf("second POST: %d %s", r.status, r.body)
	}
	if r := u.do(t, http.MethodPost, path, "", nil); r.status != http.StatusOK {
		t.Fatalf("POST without a body: %d %s", r.status, r.body)
	}
	again := u.state(t)
	if len(again.unsubscribe) != 1 || again.unsubscribe[0].ID != s.unsubscribe[0].ID {
		t.Fatalf("after three POSTs the timeline has %+v, want the one event %s", again.unsubscribe, s.unsubscribe[0].ID)
	}
	if again.mailable.Allowed || again.consent != directory.ConsentWithdrawn {
		t.Errorf("after the repeats: %+v", again)
	}
}

func TestUnsubscribeEventCarriesTheEmail(t *testing.T) {
	t.Parallel()
	u := setupUnsub(t, "")
	// A handler of its own whose sink keeps the event, to read it whole.
	rec := &recordingSink{}
	h, err := tracking.NewHandler(tracking.HandlerConfig{Signer: u.signer, Sink: rec, Clock: func() time.Time { return t0 }, Unsubscriber: mustOptout(t, u.dir)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tok := u.token(t)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/u/"+tok, strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("User-Agent", "Gmail one-click")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	seen := rec.got()
	if len(seen) != 1 {
		t.Fatalf("%d events recorded, want 1", len(seen))
	}
	e := seen[0]
	want := event.Event{
		ID: event.HashID("tracking", "unsubscribe", tok), Type: event.EmailUnsubscribe, ContactID: contactID, PartnerID: partnerID,
		OccurredAt: t0, Source: "tracking", Flow: "dealreg-owner-manager", Step: "welcome", MessageID: "n.1.welcome@longtail",
		UserAgent: "Gmail one-click", IP: "127.0.0.1",
	}
	if e.ID != want.ID || e.Type != want.Type || e.ContactID != want.ContactID || e.PartnerID != want.PartnerID ||
		!e.OccurredAt.Equal(want.OccurredAt) || e.Source != want.Source || e.Flow != want.Flow || e.Step != want.Step ||
		e.MessageID != want.MessageID || e.UserAgent != want.UserAgent || e.IP != want.IP {
		t.Fatalf("event\n got %+v\nwant %+v", e, want)
	}
}

type recordingSink struct {
	mu  sync.Mutex
	evs []event.Event
}

func (s *recordingSink) Record(_ context.Context, evs []event.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evs = append(s.evs, evs...)
	return nil
}

func (s *recordingSink) got() []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event.Event(nil), s.evs...)
}

func mustOptout(t *testing.T, dir *directory.Store) *nurture.Optout {
	t.Helper()
	o, err := nurture.NewOptout(dir)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestForgedUnsubscribeChangesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		token func(t *testing.T, u *unsub) string
	}{
		{"one character changed", func(t *testing.T, u *unsub) string {
			tok := []byte(u.token(t))
			tok[10] ^= 'A' ^ 'B'
			if tok[10] == '.' {
				tok[10] = 'x'
			}
			return string(tok)
		}},
		{"signed with another secret", func(t *testing.T, u *unsub) string {
			other, err := tracking.NewSigner([]byte(strings.Repeat("o", 32)))
			if err != nil {
				t.Fatal(err)
			}
			tok, err := other.Sign(tracking.KindUnsubscribe, tracking.Claims{ContactID: contactID, PartnerID: partnerID})
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}},
		{"an open token on the unsubscribe route", func(t *testing.T, u *unsub) string {
			tok, err := u.signer.Sign(tracking.KindOpen, tracking.Claims{ContactID: contactID, PartnerID: partnerID})
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}},
		{"no signature", func(t *testing.T, u *unsub) string { tok, _, _ := strings.Cut(u.token(t), "."); return tok }},
		{"garbage", func(*testing.T, *unsub) string { return "not-a-token" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := setupUnsub(t, "")
			path := "/u/" + tt.token(t, u)
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				body := ""
				if method == http.MethodPost {
					body = "List-Unsubscribe=One-Click"
				}
				r := u.do(t, method, path, body, nil)
				if r.status != http.StatusNotFound || !strings.Contains(r.body, "This unsubscribe link is not valid.") {
					t.Errorf("%s: %d %s, want 404 and the invalid-link page", method, r.status, r.body)
				}
			}
			u.state(t).untouched(t)
			if st := u.h.Stats(); st.Forged != 2 || st.Unsubscribes != 0 {
				t.Errorf("stats %+v, want 2 forged and no unsubscribe", st)
			}
		})
	}
}

func TestUnsubscribeRetriesAfterAFailedEvent(t *testing.T) {
	t.Parallel()
	u := setupUnsub(t, "fr")
	path := tracking.KindUnsubscribe.Path(u.token(t))
	u.sink.setFail(true)
	r := u.oneClick(t, path)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("with the queue away: %d (Retry-After %q), want 503 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
	// The consent write came first, so the gate already refuses.
	s := u.state(t)
	if s.mailable.Allowed || len(s.unsubscribe) != 0 {
		t.Fatalf("after the failed POST: %+v, want refused and no event yet", s)
	}
	u.sink.setFail(false)
	if r := u.oneClick(t, path); r.status != http.StatusOK || !strings.Contains(r.body, "vous êtes désabonné") {
		t.Fatalf("retry: %d %s", r.status, r.body)
	}
	if s := u.state(t); len(s.unsubscribe) != 1 || s.suppressed != "unsubscribe" {
		t.Fatalf("after the retry: %+v, want the one event", s)
	}
}
