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
// expire (asynq's uniqueness locks depend on it) without ClockTTL.
func TestEmbeddedExpiresTTLs(t *testing.T) {
	t.Parallel()
	srv, err := redisconn.StartEmbedded(50 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	rdb := srv.Client()
	defer rdb.Close()
	ctx := context.Background()

	client := asynq.NewClientFromRedisClient(rdb)
	task := asynq.NewTask("test:unique", []byte(`{"n":1}`))
	if _, err := client.EnqueueContext(ctx, task, asynq.Unique(time.Second)); err != nil {
		t.Fatalf("first enqueue: %v", err)
	}
	if _, err := client.EnqueueContext(ctx, task, asynq.Unique(time.Second)); !errors.Is(err, asynq.ErrDuplicateTask) {
		t.Fatalf("second enqueue within TTL: err = %v, want ErrDuplicateTask", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := client.EnqueueContext(ctx, task, asynq.Unique(time.Second))
		if err == nil {
			break
		}
		if !errors.Is(err, asynq.ErrDuplicateTask) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("unique lock never expired: embedded TTLs do not advance")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := rdb.Set(ctx, "plain", "v", 200*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	if err := rdb.Get(ctx, "plain").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("key with 200ms TTL still there after 600ms: %v", err)
	}
}
