package redistest_test

import (
	"context"
	"testing"

	"github.com/longtailhq/longtail/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

func TestIsolatedDatabases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := redistest.New(t), redistest.New(t)
	if err := a.Set(ctx, "k", "a", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("second test database sees the first one's key: n=%d err=%v", n, err)
	}
}

func TestServerStopStart(t *testing.T) {
	t.Parallel()
	s := redistest.StartServer(t)
	ctx := context.Background()
	c := redistestClient(s)
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("ping succeeded on a stopped server")
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("ping after restart: %v", err)
	}
}
