package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/longtailhq/longtail/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// syncBuffer is a bytes.Buffer safe to read while run writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// service is `longtail serve` running in-process on a real listener.
type service struct {
	URL string
	// HTTP has a transport of its own: closing any httptest.Server closes
	// the idle connections of http.DefaultTransport, which can break a
	// request another parallel test has in flight on it.
	HTTP   *http.Client
	env    []string
	Stderr *syncBuffer
	stop   context.CancelFunc
	done   chan error
}

const testAPIKey = "test-admin-key-0123456789"

var listenRE = regexp.MustCompile(`listening on (http://\S+)`)

// startService runs serve with environ (plus a test API key and a random
// port) and waits until it listens. It stops when the test ends.
func startService(t testing.TB, environ ...string) *service {
	t.Helper()
	return startRole(t, "all", environ...)
}

// startRole runs serve --role role and waits until it is up.
func startRole(t testing.TB, role string, environ ...string) *service {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	env := append([]string{"LONGTAIL_API_KEYS=" + testAPIKey, "LONGTAIL_LOG_LEVEL=warn"}, environ...)
	s := &service{Stderr: stderr, stop: cancel, done: make(chan error, 1), env: env,
		HTTP: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}}
	go func() {
		s.done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--role", role}, env, stdout, stderr)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := listenRE.FindStringSubmatch(stdout.String()); m != nil {
			s.URL = m[1]
			break
		}
		if role == "worker" && strings.Contains(stdout.String(), "worker started") {
			break
		}
		select {
		case err := <-s.done:
			t.Fatalf("serve exited early: %v\nstderr:\n%s", err, stderr)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not listen within 10s\nstderr:\n%s", stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// NoRedirect is s.HTTP returning redirects instead of following them.
func (s *service) NoRedirect() *http.Client {
	c := *s.HTTP
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// Stop shuts the service down and checks it exited cleanly.
func (s *service) Stop(t testing.TB) {
	t.Helper()
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	s.HTTP.CloseIdleConnections()
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("serve did not shut down within 20s")
	}
}

// do sends a request with the admin key and decodes a JSON answer.
func (s *service) do(t testing.TB, method, path, contentType string, body io.Reader, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

// eventually polls f until it returns nil or the deadline passes.
func eventually(t *testing.T, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not true after %s: %v", d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
