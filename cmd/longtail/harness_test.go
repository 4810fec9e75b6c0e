package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/redisconn"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// syncBuffer is a bytes.Buffer safe to read while run writes to it. Each
// write also signals wrote, so a test can wait for a line to appear
// instead of polling for it.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{} // nil: nobody waits
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wrote != nil {
		select {
		case s.wrote <- struct{}{}:
		default: // a signal is already pending; the reader sees this write too
		}
	}
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
	now    func() time.Time
	Stderr *syncBuffer
	stop   context.CancelFunc
	done   chan error
	// tasks is asynq's view of the service's Redis: what tests wait on to
	// know the worker finished its work. Nil on the embedded Redis.
	tasks *asynq.Inspector
}

const testAPIKey = "test-admin-key-0123456789"

var listenRE = regexp.MustCompile(`listening on (http://\S+)`)

// startService runs serve with environ (plus a test API key and a random
// port) on the wall clock and waits until it listens. It stops when the
// test ends.
func startService(t testing.TB, environ ...string) *service {
	t.Helper()
	return startOn(t, time.Now, "all", environ...)
}

// startRole runs serve --role role on the wall clock and waits until it is up.
func startRole(t testing.TB, role string, environ ...string) *service {
	t.Helper()
	return startOn(t, time.Now, role, environ...)
}

// startOn runs serve --role role on the clock now and waits until it
// says it is up (it prints that once its listener or worker runs).
func startOn(t testing.TB, now func() time.Time, role string, environ ...string) *service {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{wrote: make(chan struct{}, 1)}, &syncBuffer{}
	env := append([]string{"LONGTAIL_API_KEYS=" + testAPIKey, "LONGTAIL_LOG_LEVEL=warn"}, environ...)
	s := &service{Stderr: stderr, stop: cancel, done: make(chan error, 1), env: env, now: now,
		HTTP: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}}
	if url := envValue(env, "LONGTAIL_REDIS_URL"); url != "" {
		rdb, _, err := redisconn.Open(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rdb.Close() }) // after Stop: cleanups run last-in first-out
		s.tasks = asynq.NewInspectorFromRedisClient(rdb)
	}
	go func() {
		s.done <- runAt(ctx, now, []string{"serve", "--listen", "127.0.0.1:0", "--role", role}, env, stdout, stderr)
	}()
	// Bounded only so a start-up that hangs fails the test instead of
	// blocking the suite: each write to stdout wakes the loop.
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		out := stdout.String()
		if m := listenRE.FindStringSubmatch(out); m != nil {
			s.URL = m[1]
			break
		}
		if role == "worker" && strings.Contains(out, "worker started") {
			break
		}
		select {
		case <-stdout.wrote:
		case err := <-s.done:
			t.Fatalf("serve exited early: %v\nstderr:\n%s", err, stderr)
		case <-timeout.C:
			cancel()
			t.Fatalf("serve did not start within 10s\nstderr:\n%s", stderr)
		}
	}
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// envValue is the value of the last name=value in environ, as config reads it.
func envValue(environ []string, name string) string {
	v := ""
	for _, kv := range environ {
		if rest, ok := strings.CutPrefix(kv, name+"="); ok {
			v = rest
		}
	}
	return v
}

// cli runs a longtail command against the service's configuration and on
// its clock, fails the test if it fails, and returns what it printed.
func (s *service) cli(t testing.TB, args ...string) string {
	t.Helper()
	var out, errOut syncBuffer
	if err := runAt(context.Background(), s.now, args, s.env, &out, &errOut); err != nil {
		t.Fatalf("longtail %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
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

// eventually polls f until it returns nil, failing the test with f's last
// error after d. It waits for a state the test can read (an HTTP answer,
// a key, a message), never for a guessed duration: the interval is only
// how often it looks and d only bounds a failure.
func eventually(t testing.TB, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("not true after %s: %v", d, err)
		}
	}
}

// queueState is asynq's count of one queue of the service.
type queueState struct {
	// Waiting is every task not yet finished: pending, running, scheduled
	// or waiting for a retry.
	Waiting int
	// Processed counts finished tasks since the queue was created,
	// failed attempts included; Failed counts the failed attempts.
	Processed, Failed int
}

func (s *service) queueState(t testing.TB, queue string) (queueState, error) {
	t.Helper()
	if s.tasks == nil {
		t.Fatal("the service runs on the embedded Redis: no task inspector")
	}
	names, err := s.tasks.Queues()
	if err != nil {
		return queueState{}, err
	}
	if !slices.Contains(names, queue) {
		return queueState{}, nil // no task was ever queued there
	}
	qi, err := s.tasks.GetQueueInfo(queue)
	if err != nil {
		return queueState{}, err
	}
	// One snapshot: asynq reads the counters in one script, and a task
	// leaves "active" and counts as processed in one script too.
	return queueState{
		Waiting:   qi.Pending + qi.Active + qi.Scheduled + qi.Retry + qi.Aggregating,
		Processed: qi.ProcessedTotal,
		Failed:    qi.FailedTotal,
	}, nil
}

// settle waits until queue has no unfinished task and returns how many
// it has finished, failing the test if any attempt failed. A task that
// queues another in the same queue does so before it finishes, so a
// settled queue has nothing left to do.
func (s *service) settle(t testing.TB, queue string) int {
	t.Helper()
	var st queueState
	eventually(t, 15*time.Second, func() error {
		var err error
		if st, err = s.queueState(t, queue); err != nil {
			return err
		}
		if st.Waiting > 0 {
			return errorf("queue %s: %+v", queue, st)
		}
		return nil
	})
	if st.Failed > 0 {
		t.Fatalf("queue %s: %d failed attempts: %+v\nstderr:\n%s", queue, st.Failed, st, s.Stderr)
	}
	return st.Processed
}

// waitTasks waits until queue has finished want tasks in all and has
// nothing left to do, and fails the test if it finished more: the work
// ran, and ran once.
func (s *service) waitTasks(t testing.TB, queue string, want int) {
	t.Helper()
	eventually(t, 15*time.Second, func() error {
		st, err := s.queueState(t, queue)
		if err != nil {
			return err
		}
		if st.Processed < want || st.Waiting > 0 {
			return errorf("queue %s: %+v, want %d processed", queue, st, want)
		}
		return nil
	})
	if got := s.settle(t, queue); got != want {
		t.Fatalf("queue %s processed %d tasks, want %d", queue, got, want)
	}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
