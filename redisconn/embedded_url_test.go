package redisconn_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/redisconn"
)

// Another process (longtail import, reps token...) reaches the embedded
// Redis through URL: a loopback redis:// URL that Open accepts, on the
// same data.
func TestEmbeddedURLReachesTheSameData(t *testing.T) {
	t.Parallel()
	srv, err := redisconn.StartEmbedded(0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.URL(), "redis://127.0.0.1:") {
		t.Errorf("URL %q is not a loopback redis:// URL", srv.URL())
	}
	own := srv.Client()
	defer own.Close()
	other, kind, err := redisconn.Open(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if kind != redisconn.Standalone {
		t.Errorf("kind = %s", kind)
	}
	ctx := context.Background()
	if err := redisconn.Ping(ctx, other, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := own.Set(ctx, "k", "from serve", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := other.Get(ctx, "k").Result(); err != nil || got != "from serve" {
		t.Errorf("GET through URL = %q, %v", got, err)
	}
}
