package ses

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/longtailhq/longtail/webhook"
)

// certServer serves signing certificates by path and counts the requests.
type certServer struct {
	mu     sync.Mutex
	files  map[string][]byte
	status map[string]int
	hits   map[string]int
}

func (s *certServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits[r.URL.Path]++
	if code, ok := s.status[r.URL.Path]; ok {
		if code == http.StatusFound {
			w.Header().Set("Location", "/"+testCertName)
		}
		w.WriteHeader(code)
		return
	}
	b, ok := s.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	_, _ = w.Write(b)
}

func (s *certServer) count() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.hits {
		out[k] = v
	}
	return out
}

func TestFetchedCertificate(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	validFrom := time.Now().Add(-time.Hour).Truncate(time.Second)
	validTo := validFrom.Add(30 * 24 * time.Hour)
	leaf := pki.signingCert(t, validFrom, validTo)
	during := validFrom.Add(24 * time.Hour)
	after := validTo.Add(time.Hour)
	record := string(readFixture(t, "ses-event-publishing-examples/open.json"))

	// setup starts a server holding the leaf alone (as AWS serves it) under
	// two names; its TLS chain carries the intermediate.
	setup := func(t *testing.T, cfg Config) (*Provider, *certServer) {
		t.Helper()
		cs := &certServer{
			files: map[string][]byte{"/" + testCertName: pemOf(leaf), "/other.pem": pemOf(leaf)},
			status: map[string]int{
				"/missing.pem": http.StatusNotFound, "/busy.pem": http.StatusServiceUnavailable, "/moved.pem": http.StatusFound,
			},
			hits: map[string]int{},
		}
		srv := pki.tlsServer(t, cs)
		cfg.HTTPClient = clientTo(t, srv, pki.roots)
		return newProvider(t, cfg), cs
	}
	body := func(t *testing.T, certPath string) []byte {
		m := notification(record)
		m.SigningCertURL = "https://sns.us-east-1.amazonaws.com" + certPath
		return m.sign(t, pki.signingKey)
	}
	handle := func(p *Provider, b []byte, now time.Time) error {
		_, err := p.Handle(context.Background(), post(b, now))
		return err
	}
	ctx := context.Background()

	t.Run("fetched once, then cached", func(t *testing.T) {
		t.Parallel()
		p, cs := setup(t, Config{Roots: pki.roots})
		for i := range 2 {
			res, err := p.Handle(ctx, post(body(t, "/"+testCertName), during.Add(time.Duration(i)*time.Minute)))
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			if len(res.Events) != 1 {
				t.Fatalf("message %d: events %v", i, res.Events)
			}
		}
		if diff := cmp.Diff(map[string]int{"/" + testCertName: 1}, cs.count()); diff != "" {
			t.Errorf("fetches (-want, +got):\n%s", diff)
		}
	})
	t.Run("expired when fetched", func(t *testing.T) {
		t.Parallel()
		p, _ := setup(t, Config{Roots: pki.roots})
		if err := handle(p, body(t, "/"+testCertName), after); !errors.Is(err, webhook.ErrUnauthorized) {
			t.Fatalf("got %v, want ErrUnauthorized", err)
		}
		if err := handle(p, body(t, "/"+testCertName), validFrom.Add(-time.Minute)); !errors.Is(err, webhook.ErrUnauthorized) {
			t.Fatalf("not yet valid: got %v, want ErrUnauthorized", err)
		}
	})
	t.Run("expires while cached", func(t *testing.T) {
		t.Parallel()
		p, cs := setup(t, Config{Roots: pki.roots})
		if err := handle(p, body(t, "/"+testCertName), during); err != nil {
			t.Fatal(err)
		}
		if err := handle(p, body(t, "/"+testCertName), after); !errors.Is(err, webhook.ErrUnauthorized) {
			t.Fatalf("got %v, want ErrUnauthorized", err)
		}
		// The stale entry was dropped: a later valid use fetches again.
		if err := handle(p, body(t, "/"+testCertName), during); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]int{"/" + testCertName: 2}, cs.count()); diff != "" {
			t.Errorf("fetches (-want, +got):\n%s", diff)
		}
	})
	t.Run("untrusted chain", func(t *testing.T) {
		t.Parallel()
		// nil Roots means the system roots, which do not know the test CA;
		// an empty pool trusts nothing.
		for name, roots := range map[string]*x509.CertPool{"system": nil, "empty": x509.NewCertPool()} {
			p, _ := setup(t, Config{Roots: roots})
			if err := handle(p, body(t, "/"+testCertName), during); !errors.Is(err, webhook.ErrUnauthorized) {
				t.Errorf("%s roots: got %v, want ErrUnauthorized", name, err)
			}
		}
	})
	t.Run("answers other than 200", func(t *testing.T) {
		t.Parallel()
		p, cs := setup(t, Config{Roots: pki.roots})
		// A certificate that cannot be had proves nothing, whatever the
		// reason: 401, never a 5xx that reads as our outage.
		for _, path := range []string{"/missing.pem", "/moved.pem", "/busy.pem"} {
			if err := handle(p, body(t, path), during); !errors.Is(err, webhook.ErrUnauthorized) {
				t.Errorf("%s: got %v, want ErrUnauthorized", path, err)
			}
		}
		want := map[string]int{"/missing.pem": 1, "/moved.pem": 1, "/busy.pem": 1}
		if diff := cmp.Diff(want, cs.count()); diff != "" {
			t.Errorf("requests (redirect followed?) (-want, +got):\n%s", diff)
		}
	})
	t.Run("failures are cached", func(t *testing.T) {
		t.Parallel()
		p, cs := setup(t, Config{Roots: pki.roots, FailureTTL: 10 * time.Minute})
		unreachable := newProvider(t, Config{Roots: pki.roots, HTTPClient: &http.Client{Transport: roundTripFunc(
			func(*http.Request) (*http.Response, error) { return nil, errors.New("connection refused") })}})
		steps := []struct {
			at      time.Time
			fetches int
		}{
			{during, 1},
			{during.Add(time.Minute), 1},
			{during.Add(10*time.Minute - time.Second), 1},
			{during.Add(10 * time.Minute), 2}, // expired: tried again
		}
		for i, s := range steps {
			for _, path := range []string{"/missing.pem", "/busy.pem"} {
				if err := handle(p, body(t, path), s.at); !errors.Is(err, webhook.ErrUnauthorized) {
					t.Fatalf("step %d %s: got %v, want ErrUnauthorized", i, path, err)
				}
			}
			want := map[string]int{"/missing.pem": s.fetches, "/busy.pem": s.fetches}
			if diff := cmp.Diff(want, cs.count()); diff != "" {
				t.Fatalf("step %d: fetches (-want, +got):\n%s", i, diff)
			}
			if err := handle(unreachable, body(t, "/"+testCertName), s.at); !errors.Is(err, webhook.ErrUnauthorized) {
				t.Fatalf("step %d unreachable: got %v, want ErrUnauthorized", i, err)
			}
		}
		// A good certificate is not held back by another URL's failure.
		if err := handle(p, body(t, "/"+testCertName), during); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("failure cache is bounded", func(t *testing.T) {
		t.Parallel()
		p, cs := setup(t, Config{Roots: pki.roots, FailureCacheSize: 1})
		for _, path := range []string{"/missing.pem", "/busy.pem", "/missing.pem"} {
			if err := handle(p, body(t, path), during); !errors.Is(err, webhook.ErrUnauthorized) {
				t.Fatalf("%s: got %v, want ErrUnauthorized", path, err)
			}
		}
		if diff := cmp.Diff(map[string]int{"/missing.pem": 2, "/busy.pem": 1}, cs.count()); diff != "" {
			t.Errorf("fetches (-want, +got):\n%s", diff)
		}
	})
	t.Run("cache is bounded", func(t *testing.T) {
		t.Parallel()
		p, cs := setup(t, Config{Roots: pki.roots, CertCacheSize: 1})
		for _, path := range []string{"/" + testCertName, "/other.pem", "/" + testCertName} {
			if err := handle(p, body(t, path), during); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		if diff := cmp.Diff(map[string]int{"/" + testCertName: 2, "/other.pem": 1}, cs.count()); diff != "" {
			t.Errorf("fetches (-want, +got):\n%s", diff)
		}
	})
	t.Run("signature by another key", func(t *testing.T) {
		t.Parallel()
		p, _ := setup(t, Config{Roots: pki.roots})
		other := newPinnedSigner(t, 1024)
		m := notification(record)
		if err := handle(p, m.sign(t, other.key), during); !errors.Is(err, webhook.ErrUnauthorized) {
			t.Fatalf("got %v, want ErrUnauthorized", err)
		}
	})
}

// gatedServer holds every certificate request until the test opens its
// gate, and reports each arrival.
type gatedServer struct {
	cert    []byte
	arrived chan string
	gate    chan struct{}
}

func (s *gatedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.arrived <- r.URL.Path
	<-s.gate
	_, _ = w.Write(s.cert)
}

func TestFetchesAreBounded(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	validFrom := time.Now().Add(-time.Hour).Truncate(time.Second)
	leaf := pki.signingCert(t, validFrom, validFrom.Add(30*24*time.Hour))
	during := validFrom.Add(time.Hour)
	gs := &gatedServer{cert: pemOf(leaf), arrived: make(chan string, 64), gate: make(chan struct{})}
	srv := pki.tlsServer(t, gs)
	p := newProvider(t, Config{Roots: pki.roots, HTTPClient: clientTo(t, srv, pki.roots), MaxFetches: 2})
	record := string(readFixture(t, "ses-event-publishing-examples/open.json"))
	body := func(path string) []byte {
		m := notification(record)
		m.SigningCertURL = "https://sns.us-east-1.amazonaws.com" + path
		return m.sign(t, pki.signingKey)
	}
	type result struct {
		path string
		err  error
	}
	results := make(chan result, 64)
	send := func(path string) {
		go func() {
			_, err := p.Handle(context.Background(), post(body(path), during))
			results <- result{path, err}
		}()
	}
	// Five copies naming one certificate and one message naming another:
	// two fetches, one per URL, fill both slots.
	for range 5 {
		send("/a.pem")
	}
	send("/b.pem")
	got := map[string]bool{<-gs.arrived: true, <-gs.arrived: true}
	if !got["/a.pem"] || !got["/b.pem"] {
		t.Fatalf("fetches in flight %v, want /a.pem and /b.pem", got)
	}
	// A third URL finds no free slot: refused at once, nothing fetched.
	if _, err := p.Handle(context.Background(), post(body("/c.pem"), during)); !errors.Is(err, webhook.ErrUnauthorized) ||
		!strings.Contains(err.Error(), "in flight") {
		t.Fatalf("third URL: got %v, want ErrUnauthorized for fetches in flight", err)
	}
	close(gs.gate)
	for range 6 {
		if r := <-results; r.err != nil {
			t.Errorf("%s: %v", r.path, r.err)
		}
	}
	select {
	case path := <-gs.arrived:
		t.Fatalf("a second fetch of %s: copies must share one", path)
	default:
	}
	// The slots are free again, and the third URL now fetches.
	if _, err := p.Handle(context.Background(), post(body("/c.pem"), during)); err != nil {
		t.Fatalf("third URL after the others finished: %v", err)
	}
	if path := <-gs.arrived; path != "/c.pem" {
		t.Fatalf("fetched %s, want /c.pem", path)
	}
}
