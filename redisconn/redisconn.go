// Package redisconn turns redis.url into a go-redis client (standalone,
// Sentinel or Cluster), or starts the embedded in-process Redis when no URL
// is configured. asynq is built on the same client, so state and tasks
// always share one connection setup.
package redisconn

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Kind names the topology a URL selects.
type Kind string

// Topologies.
const (
	Standalone Kind = "standalone"
	Sentinel   Kind = "sentinel"
	Cluster    Kind = "cluster"
	Embedded   Kind = "embedded"
)

// Open connects to the Redis that rawURL names. Accepted forms (the query
// parameters are go-redis's own: dial_timeout, read_timeout, pool_size,
// addr=extra-host:port, master_name, db, ...):
//
//	redis://[user:pass@]host:6379[/db]             standalone
//	rediss://[user:pass@]host:6380[/db]            standalone over TLS
//	unix:///run/redis.sock[?db=N]                  standalone on a unix socket
//	redis+sentinel://[user:pass@]s1:26379?master_name=mymaster&addr=s2:26379[&db=N]
//	redis+cluster://[user:pass@]n1:6379?addr=n2:6379&addr=n3:6379
//
// rediss+sentinel:// and rediss+cluster:// use TLS. The returned client is
// not yet checked for reachability; callers Ping with their own deadline.
func Open(rawURL string) (redis.UniversalClient, Kind, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, "", fmt.Errorf("redis.url: %q has no scheme (want redis://, rediss://, unix://, redis+sentinel:// or redis+cluster://)", redact(rawURL))
	}
	base, topo, _ := strings.Cut(scheme, "+")
	if base != "redis" && base != "rediss" && !(base == "unix" && topo == "") {
		return nil, "", fmt.Errorf("redis.url: unsupported scheme %q", scheme)
	}
	switch topo {
	case "":
		opt, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, "", fmt.Errorf("redis.url: %s: %w", redact(rawURL), err)
		}
		return redis.NewClient(opt), Standalone, nil
	case "sentinel":
		opt, err := redis.ParseFailoverURL(base + "://" + rest)
		if err != nil {
			return nil, "", fmt.Errorf("redis.url: %s: %w", redact(rawURL), err)
		}
		if opt.MasterName == "" {
			return nil, "", fmt.Errorf("redis.url: %s: sentinel form needs ?master_name=", redact(rawURL))
		}
		return redis.NewFailoverClient(opt), Sentinel, nil
	case "cluster":
		opt, err := redis.ParseClusterURL(base + "://" + rest)
		if err != nil {
			return nil, "", fmt.Errorf("redis.url: %s: %w", redact(rawURL), err)
		}
		return redis.NewClusterClient(opt), Cluster, nil
	default:
		return nil, "", fmt.Errorf("redis.url: unsupported topology %q in scheme %q", topo, scheme)
	}
}

// redact hides a password in error messages.
func redact(s string) string {
	if at := strings.LastIndex(s, "@"); at >= 0 {
		if i := strings.Index(s, "://"); i >= 0 && i < at {
			return s[:i+3] + "***" + s[at:]
		}
	}
	return s
}

// Ping checks that Redis answers within d.
func Ping(ctx context.Context, c redis.UniversalClient, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return c.Ping(ctx).Err()
}

// EmbeddedServer is the in-process Redis used when no URL is configured.
// It keeps nothing after the process ends.
type EmbeddedServer struct {
	mr   *miniredis.Miniredis
	stop chan struct{}
	done chan struct{}
}

// StartEmbedded starts miniredis and a ticker that advances its TTL clock.
// miniredis never expires keys on its own; its ClockTTL mode rescans every
// key on each command (quadratic in key count), so instead one FastForward
// per tick expires what is due at a cost linear in keys with a TTL.
// tick 0 means 250ms.
func StartEmbedded(tick time.Duration) (*EmbeddedServer, error) {
	if tick <= 0 {
		tick = 250 * time.Millisecond
	}
	t := time.NewTicker(tick)
	s, err := startEmbedded(time.Now(), t.C, t.Stop)
	if err != nil {
		t.Stop()
		return nil, err
	}
	return s, nil
}

// startEmbedded starts miniredis at time start and advances its clock to
// each time read from ticks until Close, which then calls stopTicks. Tests
// hand it a channel of their own to move time instead of waiting for it.
func startEmbedded(start time.Time, ticks <-chan time.Time, stopTicks func()) (*EmbeddedServer, error) {
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		return nil, fmt.Errorf("embedded redis: %w", err)
	}
	mr.SetTime(start)
	s := &EmbeddedServer{mr: mr, stop: make(chan struct{}), done: make(chan struct{})}
	go s.tick(start, ticks, stopTicks)
	return s, nil
}

func (s *EmbeddedServer) tick(last time.Time, ticks <-chan time.Time, stopTicks func()) {
	defer close(s.done)
	defer stopTicks()
	for {
		select {
		case <-s.stop:
			return
		case now := <-ticks:
			s.mr.SetTime(now)
			s.mr.FastForward(now.Sub(last))
			last = now
		}
	}
}

// Addr is the TCP address the embedded server listens on.
func (s *EmbeddedServer) Addr() string { return s.mr.Addr() }

// URL is the redis:// URL other processes on this machine reach the
// embedded server with (it listens on loopback only), so `longtail import`
// and the other tools can work on the instance a `serve` is running.
func (s *EmbeddedServer) URL() string { return "redis://" + s.mr.Addr() }

// Client returns a new client of the embedded server.
func (s *EmbeddedServer) Client() redis.UniversalClient {
	return redis.NewClient(&redis.Options{Addr: s.mr.Addr()})
}

// Close stops the ticker and the server.
func (s *EmbeddedServer) Close() {
	close(s.stop)
	<-s.done
	s.mr.Close()
}
