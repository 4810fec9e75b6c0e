// Package topology starts real Redis deployments on loopback for tests:
// a Sentinel set (master, replica, three sentinels) and a Cluster of
// masters, from the Debian redis-server, redis-sentinel and redis-cli
// binaries. Every process runs in a temporary directory, on free loopback
// ports, and is stopped when the test ends.
//
// Like internal/redistest, a missing binary skips the test on a developer
// machine and fails it when CI is set.
package topology

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/internal/redistest"
)

// Proc is one redis-server or sentinel process.
type Proc struct {
	Addr string // 127.0.0.1:port
	Dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// Stop sends sig (SIGTERM: a graceful shutdown, which on a master waits
// for its replicas to catch up; SIGKILL: a crash) and waits for the exit.
func (p *Proc) Stop(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Client connects to this process alone.
func (p *Proc) Client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: p.Addr, DialTimeout: time.Second, MaxRetries: -1})
}

func (p *Proc) log() string {
	b, _ := os.ReadFile(filepath.Join(p.Dir, "redis.log"))
	return string(b)
}

func unavailable(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("topology: %s (CI is set, so this is a failure, not a skip)", msg)
	}
	t.Skipf("topology: %s", msg)
}

// portMu keeps this process's tests from picking the same port between
// closing the probe listener and the server binding it.
var portMu sync.Mutex

// freePort returns a loopback port that is free, and whose cluster bus
// port (port + 10000) is free too.
func freePort(t testing.TB) int {
	t.Helper()
	portMu.Lock()
	defer portMu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if port+10000 > 65535 {
			continue
		}
		bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		if err != nil {
			continue
		}
		_ = bus.Close()
		return port
	}
	t.Fatal("topology: no free port pair")
	return 0
}

// start runs bin with args (the config) on a free port, in a fresh
// directory, and waits until the process answers PING. Another process
// can take the port between the probe and the bind: then it tries another.
func start(t testing.TB, bin string, args ...string) *Proc {
	t.Helper()
	var err error
	for range 3 {
		var p *Proc
		if p, err = startOn(t, bin, freePort(t), args...); err == nil {
			return p
		}
		if !strings.Contains(err.Error(), "Address already in use") {
			break
		}
	}
	t.Fatalf("topology: %s: %v", filepath.Base(bin), err)
	return nil
}

func startOn(t testing.TB, bin string, port int, args ...string) (*Proc, error) {
	t.Helper()
	dir, err := os.MkdirTemp("", "lttopo")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proc{Addr: "127.0.0.1:" + strconv.Itoa(port), Dir: dir, done: make(chan struct{})}
	args = append(args, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--daemonize", "no", "--logfile", filepath.Join(dir, "redis.log"), "--loglevel", "notice")
	p.cmd = exec.Command(bin, args...)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("topology: start %s: %v", bin, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop(syscall.SIGKILL)
		if t.Failed() {
			t.Logf("topology: log of %s %s:\n%s", filepath.Base(bin), p.Addr, tail(p.log(), 40))
		}
		_ = os.RemoveAll(dir)
	})
	c := p.Client()
	defer c.Close()
	err = waitFor(10*time.Second, func() error {
		select {
		case <-p.done:
			return errStop{fmt.Errorf("exited during start-up:\n%s", p.log())}
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		return c.Ping(ctx).Err()
	})
	if err != nil {
		return nil, fmt.Errorf("on %s: %w", p.Addr, err)
	}
	return p, nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// errStop ends waitFor at once.
type errStop struct{ error }

// waitFor polls f every 50ms until it returns nil, returns errStop, or d
// passes; it returns f's last error.
func waitFor(d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return nil
		}
		var stop errStop
		if errors.As(err, &stop) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serverArgs are what every data node runs with: production settings
// (AOF, noeviction), no RDB snapshots to keep the disk quiet.
var serverArgs = []string{"--repl-diskless-sync-delay", "0", "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--maxmemory-policy", "noeviction"}

func redisServer(t testing.TB) string {
	t.Helper()
	bin, err := redistest.Binary()
	if err != nil {
		unavailable(t, err.Error())
	}
	return bin
}

// Sentinel is a master, one replica and three sentinels monitoring them
// under MasterName, with a quorum of two.
type Sentinel struct {
	MasterName string
	Master     *Proc
	Replica    *Proc
	Sentinels  []*Proc
}

// StartSentinel starts the set and waits until the replica is in sync and
// every sentinel knows the replica and the other sentinels, so a failover
// can happen as soon as the master goes.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	server := redisServer(t)
	// The Debian redis-sentinel package ships the binary; redis-server
	// --sentinel is the same program.
	sentinel, sentinelArgs := server, []string{"--sentinel"}
	if p, err := exec.LookPath("redis-sentinel"); err == nil {
		sentinel, sentinelArgs = p, nil
	} else if os.Getenv("CI") != "" {
		t.Fatal("topology: redis-sentinel not found (apt-get install redis-sentinel; CI is set)")
	}
	s := &Sentinel{MasterName: "longtail"}
	s.Master = start(t, server, serverArgs...)
	s.Replica = start(t, server, append(append([]string{}, serverArgs...), "--replicaof", "127.0.0.1", portOf(s.Master.Addr))...)
	mc := s.Master.Client()
	defer mc.Close()
	if err := waitFor(20*time.Second, func() error {
		info, err := mc.Info(context.Background(), "replication").Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "connected_slaves:1") || !strings.Contains(info, "state=online") {
			return fmt.Errorf("replica not online yet:\n%s", info)
		}
		return nil
	}); err != nil {
		t.Fatalf("topology: %v", err)
	}
	for range 3 {
		dir, err := os.MkdirTemp("", "ltsentconf")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		// Sentinel rewrites its configuration file, so each gets its own.
		conf := filepath.Join(dir, "sentinel.conf")
		body := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]s 2\n"+
			"sentinel down-after-milliseconds %[1]s 1000\n"+
			"sentinel failover-timeout %[1]s 5000\n"+
			"sentinel parallel-syncs %[1]s 1\n", s.MasterName, portOf(s.Master.Addr))
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		s.Sentinels = append(s.Sentinels, start(t, sentinel, append([]string{conf}, sentinelArgs...)...))
	}
	for _, sp := range s.Sentinels {
		c := sp.Client()
		err := waitFor(30*time.Second, func() error {
			m, err := c.Do(context.Background(), "SENTINEL", "master", s.MasterName).Result()
			if err != nil {
				return err
			}
			f := fields(m)
			if f["num-slaves"] != "1" || f["num-other-sentinels"] != "2" {
				return fmt.Errorf("sentinel %s sees %s replicas and %s other sentinels", sp.Addr, f["num-slaves"], f["num-other-sentinels"])
			}
			return nil
		})
		_ = c.Close()
		if err != nil {
			t.Fatalf("topology: %v", err)
		}
	}
	return s
}

// fields reads a RESP2 flat list or RESP3 map reply into a map.
func fields(v any) map[string]string {
	out := map[string]string{}
	switch m := v.(type) {
	case []any:
		for i := 0; i+1 < len(m); i += 2 {
			out[fmt.Sprint(m[i])] = fmt.Sprint(m[i+1])
		}
	case map[any]any:
		for k, v := range m {
			out[fmt.Sprint(k)] = fmt.Sprint(v)
		}
	}
	return out
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// URL is the redis+sentinel:// URL of the set, naming all three sentinels.
func (s *Sentinel) URL() string {
	q := url.Values{"master_name": {s.MasterName}}
	for _, sp := range s.Sentinels[1:] {
		q.Add("addr", sp.Addr)
	}
	return "redis+sentinel://" + s.Sentinels[0].Addr + "?" + q.Encode()
}

// MasterAddr is the master the sentinels currently agree on (asked of the
// first that answers).
func (s *Sentinel) MasterAddr() (string, error) {
	var lastErr error
	for _, sp := range s.Sentinels {
		c := sp.Client()
		addr, err := c.Do(context.Background(), "SENTINEL", "get-master-addr-by-name", s.MasterName).StringSlice()
		_ = c.Close()
		if err == nil && len(addr) == 2 {
			return net.JoinHostPort(addr[0], addr[1]), nil
		}
		lastErr = err
	}
	return "", lastErr
}

// WaitFailover waits until the sentinels name a master other than old and
// that master answers as a master.
func (s *Sentinel) WaitFailover(t testing.TB, old string, d time.Duration) string {
	t.Helper()
	var now string
	err := waitFor(d, func() error {
		addr, err := s.MasterAddr()
		if err != nil {
			return err
		}
		if addr == old {
			return fmt.Errorf("sentinels still name %s", old)
		}
		c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
		defer c.Close()
		role, err := c.Do(context.Background(), "ROLE").Slice()
		if err != nil {
			return err
		}
		if len(role) == 0 || role[0] != "master" {
			return fmt.Errorf("%s is %v, not yet master", addr, role)
		}
		now = addr
		return nil
	})
	if err != nil {
		t.Fatalf("topology: no failover within %s: %v", d, err)
	}
	return now
}

// Cluster is a Redis Cluster of masters only, each owning a third of the
// slots.
type Cluster struct {
	Nodes []*Proc
}

// StartCluster starts n masters with cluster mode on and joins them with
// redis-cli --cluster create; it waits until every node says cluster_state:ok.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	server := redisServer(t)
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		unavailable(t, "redis-cli not found (apt-get install redis-tools)")
	}
	c := &Cluster{}
	var addrs []string
	for range n {
		args := append(append([]string{}, serverArgs...), "--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "3000")
		p := start(t, server, args...)
		c.Nodes = append(c.Nodes, p)
		addrs = append(addrs, p.Addr)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("topology: redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, p := range c.Nodes {
		rc := p.Client()
		err := waitFor(30*time.Second, func() error {
			info, err := rc.ClusterInfo(context.Background()).Result()
			if err != nil {
				return err
			}
			if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", n)) {
				return fmt.Errorf("node %s: %s", p.Addr, strings.SplitN(info, "\n", 2)[0])
			}
			return nil
		})
		_ = rc.Close()
		if err != nil {
			t.Fatalf("topology: cluster not ready: %v", err)
		}
	}
	return c
}

// URL is the redis+cluster:// URL naming every node.
func (c *Cluster) URL() string {
	q := url.Values{}
	for _, p := range c.Nodes[1:] {
		q.Add("addr", p.Addr)
	}
	return "redis+cluster://" + c.Nodes[0].Addr + "?" + q.Encode()
}
