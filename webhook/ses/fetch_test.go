package ses

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
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
		for _, path := range []string{"/missing.pem", "/moved.pem"} {
			if err := handle(p, body(t, path), during); !errors.Is(err, webhook.ErrUnauthorized) {
				t.Errorf("%s: got %v, want ErrUnauthorized", path, err)
			}
		}
		// AWS having a bad moment is not the sender's fault: SNS should
		// retry, so the error is plain (answered 5xx).
		err := handle(p, body(t, "/busy.pem"), during)
		if err == nil || errors.Is(err, webhook.ErrUnauthorized) || errors.Is(err, webhook.ErrBadPayload) {
			t.Errorf("503: got %v, want a plain error", err)
		}
		want := map[string]int{"/missing.pem": 1, "/moved.pem": 1, "/busy.pem": 1}
		if diff := cmp.Diff(want, cs.count()); diff != "" {
			t.Errorf("requests (redirect followed?) (-want, +got):\n%s", diff)
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
