package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/longtailhq/longtail/internal/redistest"
)

// examplesDir is the sample data set the README's quick start uses.
const examplesDir = "../../examples"

var (
	redisLineRE = regexp.MustCompile(`(?m)^export LONGTAIL_REDIS_URL=(\S+)$`)
	keyLineRE   = regexp.MustCompile(`(?m)^KEY=(\S+)$`)
)

// watchWriter is a syncBuffer that closes ready once its text matches
// done: a test waits for serve to have printed something without
// sleeping.
type watchWriter struct {
	syncBuffer
	done  func(string) bool
	ready chan struct{}
	once  sync.Once
}

func newWatchWriter(done func(string) bool) *watchWriter {
	return &watchWriter{done: done, ready: make(chan struct{})}
}

func (w *watchWriter) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	if w.done(w.String()) {
		w.once.Do(func() { close(w.ready) })
	}
	return n, err
}

// serveProcess is `longtail serve` run in-process exactly as a user runs
// it: no test API key added.
type serveProcess struct {
	stdout, stderr *watchWriter
	stop           context.CancelFunc
	done           chan error
}

// startServe runs serve with environ and waits until it has printed
// everything it prints at start (the last line it writes is the end of
// the quick-start block, or "scheduler started" when there is none).
func startServe(t *testing.T, environ []string, printed func(string) bool) *serveProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &serveProcess{stdout: newWatchWriter(printed), stderr: newWatchWriter(func(string) bool { return false }),
		stop: cancel, done: make(chan error, 1)}
	go func() { p.done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0"}, environ, p.stdout, p.stderr) }()
	select {
	case <-p.stdout.ready:
	case err := <-p.done:
		cancel()
		t.Fatalf("serve exited early: %v\nstderr:\n%s", err, p.stderr.String())
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("serve printed no start-up block within 20s\nstdout:\n%s\nstderr:\n%s", p.stdout.String(), p.stderr.String())
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not shut down within 20s")
		}
	})
	return p
}

// The README's quick start, step by step, against the real binary's run:
// serve on the embedded default, import the three example CSVs through
// the printed LONGTAIL_REDIS_URL, post the example events with the printed
// key, see the leaderboard, and find Acme in Anne's queue with reasons.
// The other tools (reps token, score explain, simulate) work on the same
// running instance.
func TestQuickStartLeadsToARepsQueue(t *testing.T) {
	t.Parallel()
	sv := startServe(t, []string{"LONGTAIL_LOG_LEVEL=warn"}, func(s string) bool {
		return keyLineRE.MatchString(s) && strings.Contains(s, "/queue\n")
	})
	out := sv.stdout.String()
	redisURL := redisLineRE.FindStringSubmatch(out)[1]
	key := keyLineRE.FindStringSubmatch(out)[1]
	base := listenRE.FindStringSubmatch(out)[1]
	if !strings.HasPrefix(redisURL, "redis://127.0.0.1:") {
		t.Errorf("embedded Redis URL %q is not on loopback", redisURL)
	}
	if !strings.HasPrefix(key, adminKeyPrefix) || len(key) < 16 {
		t.Errorf("generated key %q", key)
	}
	if n := strings.Count(out+sv.stderr.String(), key); n != 4 {
		// KEY= and the three curl lines, and never in a log line.
		t.Errorf("the key appears %d times in the output, want 4 (the KEY= line and three curl lines):\n%s", n, out)
	}
	if !strings.Contains(out, "curl -s -H 'Authorization: Bearer "+key+"'") {
		t.Errorf("no ready-to-paste curl line with the key:\n%s", out)
	}
	env := []string{"LONGTAIL_REDIS_URL=" + redisURL}
	cli := func(args ...string) (string, string, error) {
		var stdout, stderr syncBuffer
		err := run(context.Background(), args, env, &stdout, &stderr)
		return stdout.String(), stderr.String(), err
	}
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: 10 * time.Second}
	t.Cleanup(hc.CloseIdleConnections)
	call := func(token, method, path, contentType string, body io.Reader, out any) int {
		t.Helper()
		req, err := http.NewRequest(method, base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, data, err)
			}
		}
		return resp.StatusCode
	}

	// 1. import (reps first: partners name their owner rep).
	for _, kind := range []struct {
		name string
		rows int
	}{{"reps", 3}, {"partners", 5}, {"contacts", 6}} {
		stdout, stderr, err := cli("import", kind.name, filepath.Join(examplesDir, kind.name+".csv"), "--quiet")
		if err != nil {
			t.Fatalf("import %s: %v\n%s", kind.name, err, stderr)
		}
		if want := fmt.Sprintf("imported %d, rejected 0", kind.rows); !strings.Contains(stdout, want) {
			t.Errorf("import %s: %q, want %q", kind.name, stdout, want)
		}
	}

	// 2. post the events.
	events, err := os.ReadFile(filepath.Join(examplesDir, "events.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	var posted struct {
		Accepted int               `json:"accepted"`
		Rejected []json.RawMessage `json:"rejected"`
	}
	if code := call(key, "POST", "/v1/events", "application/x-ndjson", strings.NewReader(string(events)), &posted); code != 200 || len(posted.Rejected) != 0 {
		t.Fatalf("POST /v1/events = %d, %+v", code, posted)
	}
	if want := strings.Count(strings.TrimSpace(string(events)), "\n") + 1; posted.Accepted != want {
		t.Fatalf("accepted %d events, want %d", posted.Accepted, want)
	}

	// 3. Anne's queue: poll the state until Acme is there, bounded.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var q queueJSON
	for {
		q = queueJSON{}
		if code := call(key, "GET", "/v1/reps/rep-anne/queue", "", nil, &q); code != 200 {
			t.Fatalf("GET queue = %d", code)
		}
		if len(q.Items) > 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no entry in rep-anne's queue after 20s: %+v", q)
		case <-tick.C:
		}
	}
	if got := q.partners(); len(got) != 1 || got[0] != "acme-it" {
		t.Fatalf("rep-anne's queue = %v, want exactly [acme-it]", got)
	}
	it := q.Items[0]
	if it.ContactID != "c-jane" || it.Score < 30 || len(it.Reasons["en"]) == 0 {
		t.Errorf("entry = %+v, want Jane, score ≥ 30 and reasons", it)
	}
	if !strings.Contains(strings.Join(it.Reasons["en"], "\n"), "Securing SMB storage") {
		t.Errorf("reasons %q do not name the webinar", it.Reasons["en"])
	}

	// 4. the leaderboard has Acme first.
	var lb struct {
		Items []struct {
			PartnerID string  `json:"partner_id"`
			Score     float64 `json:"score"`
		} `json:"items"`
	}
	if code := call(key, "GET", "/v1/leaderboard?limit=5", "", nil, &lb); code != 200 || len(lb.Items) < 2 || lb.Items[0].PartnerID != "acme-it" {
		t.Errorf("leaderboard = %d %+v, want acme-it first", code, lb)
	}

	// The tools reach the running instance: a rep token that sees Anne's
	// queue, the score explained, the simulation attributed through the
	// directory.
	stdout, stderr, err := cli("reps", "token", "rep-anne")
	if err != nil {
		t.Fatalf("reps token: %v\n%s", err, stderr)
	}
	var own queueJSON
	if code := call(strings.TrimSpace(stdout), "GET", "/v1/reps/rep-anne/queue", "", nil, &own); code != 200 || len(own.Items) != 1 {
		t.Errorf("rep token on its queue: %d %+v", code, own)
	}
	// A ready sign-in link: its page names Anne and asks to confirm.
	stdout, stderr, err = cli("reps", "link", "rep-anne", "--ttl", "2h")
	m := regexp.MustCompile(`^http://localhost:8080/ui/login/link\?code=(ltl_\S+)\n$`).FindStringSubmatch(stdout)
	if err != nil || m == nil {
		t.Fatalf("reps link: %v\n%q\n%s", err, stdout, stderr)
	}
	// A link's life is bounded, and only a rep in the directory gets one.
	for _, args := range [][]string{
		{"reps", "link", "rep-anne", "--ttl", "0s"},
		{"reps", "link", "rep-anne", "--ttl", "169h"},
	} {
		if _, _, err := cli(args...); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if out, _, err := cli("reps", "link", "rep-nobody"); err == nil || out != "" {
		t.Errorf("reps link for an unknown rep: %q, %v; want an error and no link", out, err)
	}
	if resp, err := http.Get(base + "/ui/login/link?code=" + m[1]); err != nil {
		t.Fatal(err)
	} else {
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(page), "Sign in as Anne") {
			t.Errorf("the printed sign-in link: %d\n%s", resp.StatusCode, page)
		}
	}
	if stdout, stderr, err = cli("score", "explain", "acme-it"); err != nil || !strings.Contains(stdout, "Acme IT Services") ||
		!strings.Contains(stdout, "half-life 30d, threshold 30") {
		t.Errorf("score explain: %v\n%s%s", err, stdout, stderr)
	}
	stdout, stderr, err = cli("simulate", "--events", filepath.Join(examplesDir, "events.ndjson"), "--json")
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, stderr)
	}
	var sim simulation
	if err := json.Unmarshal([]byte(stdout), &sim); err != nil {
		t.Fatal(err)
	}
	if sim.Unattributed != 0 || len(sim.Runs) != 1 || len(sim.Runs[0].Handoffs) != 1 || sim.Runs[0].Handoffs[0].PartnerID != "acme-it" {
		t.Errorf("simulate on the running instance = %+v, want one hand-off, acme-it", sim)
	}
}

// serve generates a key only where nobody could have set one: on the
// embedded default with api.keys empty. A configured key is never
// replaced, and a real Redis gets no quick-start block.
func TestServePrintsQuickStartOnlyOnTheEmbeddedDefault(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		env        []string
		redisLine  bool
		keyPrinted bool
		// status of GET /v1/leaderboard with testAPIKey
		status int
	}{
		{"embedded, no key", nil, true, true, http.StatusUnauthorized},
		{"embedded, key configured", []string{"LONGTAIL_API_KEYS=" + testAPIKey}, true, false, http.StatusOK},
		// No api.keys with a real Redis: the operator's to set, shared by
		// every api process, so none is made up.
		{"real redis", []string{"LONGTAIL_REDIS_URL=" + redistest.URL(t)}, false, false, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sv := startServe(t, append([]string{"LONGTAIL_LOG_LEVEL=warn"}, tc.env...), func(s string) bool {
				return strings.Contains(s, "scheduler started") && (!tc.redisLine || redisLineRE.MatchString(s)) &&
					(!tc.keyPrinted || strings.Contains(s, "/queue\n"))
			})
			out := sv.stdout.String()
			if got := redisLineRE.MatchString(out); got != tc.redisLine {
				t.Errorf("LONGTAIL_REDIS_URL line printed: %v, want %v\n%s", got, tc.redisLine, out)
			}
			if got := keyLineRE.MatchString(out); got != tc.keyPrinted {
				t.Errorf("KEY line printed: %v, want %v\n%s", got, tc.keyPrinted, out)
			}
			base := listenRE.FindStringSubmatch(out)[1]
			req, _ := http.NewRequest("GET", base+"/v1/leaderboard", nil)
			req.Header.Set("Authorization", "Bearer "+testAPIKey)
			hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
			defer hc.CloseIdleConnections()
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("GET /v1/leaderboard with %s = %d, want %d", testAPIKey, resp.StatusCode, tc.status)
			}
		})
	}
}

// The curl lines serve prints use an address a client can dial: the
// default ":8080" listens on every interface, which is localhost to curl.
func TestClientURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ listen, want string }{
		{"0.0.0.0:8080", "http://localhost:8080"},
		{"[::]:8080", "http://localhost:8080"},
		{"127.0.0.1:9000", "http://127.0.0.1:9000"},
		{"[::1]:9000", "http://[::1]:9000"},
	} {
		addr, err := net.ResolveTCPAddr("tcp", tc.listen)
		if err != nil {
			t.Fatal(err)
		}
		if got := clientURL(addr); got != tc.want {
			t.Errorf("clientURL(%s) = %q, want %q", tc.listen, got, tc.want)
		}
	}
}
