package redisconn_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/redisconn"
)

func TestMain(m *testing.M) { redistest.Main(m) }

func TestOpenForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url     string
		kind    redisconn.Kind
		wantErr string
	}{
		{url: "redis://localhost:6379/2", kind: redisconn.Standalone},
		{url: "rediss://u:p@cache.example:6380/0", kind: redisconn.Standalone},
		{url: "unix:///run/redis.sock?db=3", kind: redisconn.Standalone},
		{url: "redis+sentinel://s1:26379?master_name=mymaster&addr=s2:26379", kind: redisconn.Sentinel},
		{url: "rediss+sentinel://s1:26379?master_name=mymaster", kind: redisconn.Sentinel},
		{url: "redis+cluster://n1:6379?addr=n2:6379&addr=n3:6379", kind: redisconn.Cluster},
		{url: "redis+sentinel://s1:26379", wantErr: "master_name"},
		{url: "localhost:6379", wantErr: "no scheme"},
		{url: "http://localhost", wantErr: "unsupported scheme"},
		{url: "redis+mesh://x", wantErr: "unsupported topology"},
		{url: "redis://:secretpw@host:6379/notanumber", wantErr: "redis.url"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			t.Parallel()
			c, kind, err := redisconn.Open(tc.url)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want mention of %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "secretpw") {
					t.Errorf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if kind != tc.kind {
				t.Errorf("kind = %s, want %s", kind, tc.kind)
			}
		})
	}
}

func TestOpenRealServer(t *testing.T) {
	t.Parallel()
	c, kind, err := redisconn.Open(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if kind != redisconn.Standalone {
		t.Errorf("kind = %s", kind)
	}
	if err := redisconn.Ping(context.Background(), c, 2*time.Second); err != nil {
		t.Fatal(err)
	}
}

// The embedded mode is the one place miniredis is under test: TTLs must
// expire (asynq's uniqueness locks depend on it) without ClockTTL. The
// test moves the server's clock itself rather than waiting for it.
func TestEmbeddedExpiresTTLs(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	ticks := make(chan time.Time)
	srv, err := redisconn.StartEmbeddedAt(t0, ticks)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	rdb := srv.Client()
	defer rdb.Close()
	ctx := context.Background()
	// advance moves the server's clock to t0+d. The server takes ticks one
	// at a time, so it takes the second send only once it has applied the
	// first: when advance returns, the keys due by then are gone.
	advance := func(d time.Duration) {
		ticks <- t0.Add(d)
		ticks <- t0.Add(d)
	}

	client := asynq.NewClientFromRedisClient(rdb)
	task := asynq.NewTask("test:unique", []byte(`{"n":1}`))
	enqueue := func() error {
		_, err := client.EnqueueContext(ctx, task, asynq.Unique(time.Second))
		return err
	}
	if err := enqueue(); err != nil {
		t.Fatalf("first enqueue: %v", err)
	}
	advance(900 * time.Millisecond)
	if err := enqueue(); !errors.Is(err, asynq.ErrDuplicateTask) {
		t.Fatalf("enqueue within the 1s lock: err = %v, want ErrDuplicateTask", err)
	}
	advance(time.Second)
	if err := enqueue(); err != nil {
		t.Fatalf("enqueue once the lock's 1s passed: %v (embedded TTLs do not advance)", err)
	}

	if err := rdb.Set(ctx, "plain", "v", 200*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	advance(time.Second + 100*time.Millisecond)
	if err := rdb.Get(ctx, "plain").Err(); err != nil {
		t.Fatalf("key with a 200ms TTL gone after 100ms: %v", err)
	}
	advance(time.Second + 300*time.Millisecond)
	if err := rdb.Get(ctx, "plain").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("key with a 200ms TTL still there after 300ms: %v", err)
	}
}

// StartEmbedded's own ticker moves the clock with the wall clock. The
// test waits for the one thing the ticker does, a key with a TTL going
// away; its deadline only bounds a failure.
func TestEmbeddedTickerFollowsTheWallClock(t *testing.T) {
	t.Parallel()
	srv, err := redisconn.StartEmbedded(time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	rdb := srv.Client()
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Set(ctx, "k", "v", time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	look := time.NewTicker(5 * time.Millisecond)
	defer look.Stop()
	for {
		n, err := rdb.Exists(ctx, "k").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		select {
		case <-look.C:
		case <-deadline.C:
			t.Fatal("a key with a 1ms TTL is still there after 10s: the ticker does not advance the clock")
		}
	}
}
