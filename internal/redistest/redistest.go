// Package redistest gives tests a real, isolated Redis.
//
// Each test binary starts one redis-server of its own on a unix socket in a
// temporary directory (or uses LONGTAIL_TEST_REDIS_URL when set) and hands
// every test its own logical database, flushed when the test ends. Packages
// call Main from TestMain so the server is stopped when the binary exits
// and so no test leaves a goroutine running behind it.
//
// When no redis-server can be found the tests are skipped on a developer
// machine, and fail when the CI variable is set: CI must never pass by
// skipping the tests that prove behaviour against Redis.
package redistest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// EnvURL names the variable that points tests at an existing Redis instead
// of a server of their own.
const EnvURL = "LONGTAIL_TEST_REDIS_URL"

// databases is how many logical databases a started server has; each test
// takes one, so it bounds the tests per package binary.
const databases = 10000

// shared is the one server of this test binary. It is package state only
// because a test binary is one process with one server; product code never
// does this.
var shared struct {
	mu      sync.Mutex
	started bool
	srv     *Server
	base    *redis.Options
	err     error
	nextDB  int
	maxDB   int
	skipMsg string
}

// Main runs the package's tests, stops the shared server, then fails the
// test binary when a goroutine outlived the tests, as
// goleak.VerifyTestMain does: a client, server or worker a test forgot to
// close shows up here rather than as a slow leak in production. opts are
// goleak's, for a package that must tolerate a goroutine it cannot stop
// (say which and why where you pass them).
// Use it as: func TestMain(m *testing.M) { redistest.Main(m) }
func Main(m *testing.M, opts ...goleak.Option) {
	code := m.Run()
	shared.mu.Lock()
	if shared.srv != nil {
		// Before looking for leaks: the server's process reaper is a
		// goroutine of this package, not of any test.
		shared.srv.stop()
	}
	shared.mu.Unlock()
	if code == 0 {
		if err := goleak.Find(opts...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: goroutines outlived the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// New returns a client on a fresh, empty logical database of a real Redis.
// The database is flushed and the client closed when the test ends.
func New(t testing.TB) *redis.Client {
	t.Helper()
	opt := Options(t)
	c := redis.NewClient(opt)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.FlushDB(ctx).Err()
		_ = c.Close()
	})
	return c
}

// URL returns a redis URL (unix:// or redis://) naming a fresh, empty
// logical database, for code under test that takes its Redis from config.
func URL(t testing.TB) string {
	t.Helper()
	return OptionsURL(Options(t))
}

// OptionsURL renders options back to the URL form config accepts.
func OptionsURL(opt *redis.Options) string {
	if opt.Network == "unix" {
		return "unix://" + opt.Addr + "?db=" + strconv.Itoa(opt.DB)
	}
	u := url.URL{Scheme: "redis", Host: opt.Addr, Path: "/" + strconv.Itoa(opt.DB)}
	if opt.Password != "" {
		u.User = url.UserPassword(opt.Username, opt.Password)
	}
	return u.String()
}

// Options returns connection options for a fresh logical database.
func Options(t testing.TB) *redis.Options {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.started {
		shared.started = true
		shared.base, shared.maxDB, shared.srv, shared.skipMsg, shared.err = connect()
		if shared.base != nil {
			shared.nextDB = shared.base.DB
		}
	}
	if shared.skipMsg != "" {
		unavailable(t, shared.skipMsg)
	}
	if shared.err != nil {
		t.Fatalf("redistest: %v", shared.err)
	}
	if shared.nextDB >= shared.maxDB {
		t.Fatalf("redistest: all %d logical databases are taken; raise databases in redistest", shared.maxDB)
	}
	opt := *shared.base
	opt.DB = shared.nextDB
	shared.nextDB++
	c := redis.NewClient(&opt)
	defer c.Close()
	if err := c.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("redistest: flush db %d: %v", opt.DB, err)
	}
	return &opt
}

func unavailable(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("redistest: %s (CI is set, so this is a failure, not a skip)", msg)
	}
	t.Skipf("redistest: %s", msg)
}

func connect() (base *redis.Options, maxDB int, srv *Server, skip string, err error) {
	if u := os.Getenv(EnvURL); u != "" {
		opt, err := redis.ParseURL(u)
		if err != nil {
			return nil, 0, nil, "", fmt.Errorf("%s: %w", EnvURL, err)
		}
		c := redis.NewClient(opt)
		defer c.Close()
		n := 16
		if v, err := c.ConfigGet(context.Background(), "databases").Result(); err == nil {
			if d, err := strconv.Atoi(v["databases"]); err == nil {
				n = d
			}
		}
		// Start above the given db so a developer's data in db 0 is never flushed.
		opt.DB++
		return opt, n, nil, "", nil
	}
	bin, err := Binary()
	if err != nil {
		return nil, 0, nil, err.Error(), nil
	}
	s, err := start(bin, databases)
	if err != nil {
		return nil, 0, nil, "", err
	}
	return s.Options(), databases, s, "", nil
}

// Binary finds redis-server on PATH or in the Debian location.
func Binary() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/bin/redis-server", "/usr/sbin/redis-server", "/usr/local/bin/redis-server"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("redis-server not found (apt-get install redis-server, or set " + EnvURL + ")")
}

// Server is a redis-server process owned by a test. Tests that must see
// Redis go away and come back (503 handling, retries) start their own.
type Server struct {
	bin   string
	dir   string
	sock  string
	dbs   int
	cmd   *exec.Cmd
	waitc chan struct{}
}

// StartServer starts a private redis-server for one test and stops it when
// the test ends. It skips or fails like New when redis-server is missing.
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		unavailable(t, err.Error())
	}
	s, err := start(bin, 16)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(s.stop)
	return s
}

// Start starts a private redis-server outside any test, for an example
// (which has no *testing.T); Close stops it. It fails when redis-server is
// missing.
func Start() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	return start(bin, 16)
}

func start(bin string, dbs int) (*Server, error) {
	// A short directory under the system temp dir: unix socket paths are
	// limited to about 100 bytes and t.TempDir() paths can be longer.
	dir, err := os.MkdirTemp("", "ltredis")
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir, sock: filepath.Join(dir, "redis.sock"), dbs: dbs}
	if err := s.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// Options returns options for database 0 of this server.
func (s *Server) Options() *redis.Options {
	return &redis.Options{Network: "unix", Addr: s.sock}
}

// URL returns the unix:// URL of database 0 of this server.
func (s *Server) URL() string { return OptionsURL(s.Options()) }

// Start starts the server (again, after Stop) and waits until it answers.
func (s *Server) Start() error {
	if s.cmd != nil {
		return errors.New("redistest: server already running")
	}
	cmd := exec.Command(s.bin,
		"--port", "0",
		"--unixsocket", s.sock,
		"--unixsocketperm", "700",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", "no",
		"--databases", strconv.Itoa(s.dbs),
		"--maxmemory-policy", "noeviction",
		"--daemonize", "no",
		"--loglevel", "warning",
		"--logfile", filepath.Join(s.dir, "redis.log"),
	)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	s.cmd = cmd
	s.waitc = make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.waitc) }()
	c := redis.NewClient(s.Options())
	defer c.Close()
	// redis-server says nothing when it is ready (short of systemd's
	// notify protocol, which not every build has), so ask it: a bounded
	// poll for a server to come up, the one wait here that is not on work.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.waitc:
			s.cmd = nil
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			return fmt.Errorf("redis-server exited during start-up:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("redis-server did not answer within 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server; its data is gone. Start brings up an empty one on
// the same socket.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.waitc
	s.cmd = nil
	_ = os.Remove(s.sock)
}

// Close stops the server for good and removes its files.
func (s *Server) Close() { s.stop() }

func (s *Server) stop() {
	s.Stop()
	os.RemoveAll(s.dir)
}
