package mailgun_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/webhook"
	"github.com/longtailhq/longtail/webhook/mailgun"
)

func TestRedisTokenCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.New(t)
	cache := mailgun.NewRedisTokenCache(rdb)
	const key = "lt:webhook:mailgun:token:tok"

	steps := []struct {
		name    string
		do      func() (bool, error)
		want    bool
		wantVal string // the key's value after the step; "" for none
	}{
		{"first claim", func() (bool, error) { return cache.Claim(ctx, "tok", "a", time.Hour) }, true, "a"},
		{"second claim", func() (bool, error) { return cache.Claim(ctx, "tok", "b", 48*time.Hour) }, false, "a"},
		{"release by another claim", func() (bool, error) { return true, cache.Release(ctx, "tok", "b") }, true, "a"},
		{"release by the owner", func() (bool, error) { return true, cache.Release(ctx, "tok", "a") }, true, ""},
		{"claim after release", func() (bool, error) { return cache.Claim(ctx, "tok", "c", time.Hour) }, true, "c"},
	}
	for _, s := range steps {
		got, err := s.do()
		if err != nil || got != s.want {
			t.Fatalf("%s = %v, %v; want %v", s.name, got, err, s.want)
		}
		val, err := rdb.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			val, err = "", nil
		}
		if err != nil || val != s.wantVal {
			t.Fatalf("after %s: %s = %q, %v; want %q", s.name, key, val, err, s.wantVal)
		}
	}
	// The losing claim (48h) did not extend the first one's expiry.
	if ttl, err := rdb.PTTL(ctx, key).Result(); err != nil || ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("PTTL(%s) = %v, %v; want about an hour", key, ttl, err)
	}
	if ok, err := cache.Claim(ctx, "forever", "a", 0); err == nil || ok {
		t.Fatal("Claim with TTL 0 succeeded; it would keep the token forever")
	}
	if n, _ := rdb.Exists(ctx, "lt:webhook:mailgun:token:forever").Result(); n != 0 {
		t.Fatal("Claim with TTL 0 wrote a key")
	}
}

// TestTokenReplay walks the delivery lifecycle: the token is claimed when
// the delivery is accepted, a copy is refused from then on, and releasing
// the claim (the events could not be queued) lets the retry in.
func TestTokenReplay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.New(t)
	p := newProvider(t, mailgun.Config{MaxAge: 5 * time.Minute, Tokens: mailgun.NewRedisTokenCache(rdb)})
	delivered := readFile(t, "docs-events-api-structure/delivered.json")
	body := signed("tok-1", delivered)

	first, err := p.Handle(ctx, request(body))
	if err != nil {
		t.Fatal(err)
	}
	if first.Release == nil {
		t.Fatal("Release not set with a token cache")
	}
	if ttl, _ := rdb.PTTL(ctx, "lt:webhook:mailgun:token:tok-1").Result(); ttl <= 9*time.Minute || ttl > 10*time.Minute {
		t.Fatalf("token TTL = %v, want twice MaxAge", ttl)
	}
	// The attack: the captured signature with other event data.
	forged := signed("tok-1", []byte(strings.Replace(string(delivered), `"delivered"`, `"clicked"`, 1)))
	for name, b := range map[string][]byte{"copy": body, "other event data": forged} {
		if _, err := p.Handle(ctx, request(b)); !errors.Is(err, webhook.ErrUnauthorized) {
			t.Fatalf("%s while claimed: error = %v, want ErrUnauthorized", name, err)
		}
	}
	// Queueing failed: the claim is given back and Mailgun's retry lands.
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	retry, err := p.Handle(ctx, request(body))
	if err != nil {
		t.Fatalf("retry after Release: %v", err)
	}
	// The first delivery's release, run late, must not free the retry's claim.
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Handle(ctx, request(body)); !errors.Is(err, webhook.ErrUnauthorized) {
		t.Fatalf("copy after the retry was accepted: error = %v, want ErrUnauthorized", err)
	}
	if retry.Release == nil {
		t.Fatal("retry has no Release")
	}
	// Another token is unaffected.
	if _, err := p.Handle(ctx, request(signed("tok-2", delivered))); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	// Refused deliveries claim nothing: a bad signature, and a good one
	// over event data that cannot be parsed.
	bad := envelope("1700000000", "tok-3", sign("other-key", "1700000000", "tok-3"), []byte(`{}`))
	if _, err := p.Handle(ctx, request(bad)); !errors.Is(err, webhook.ErrUnauthorized) {
		t.Fatalf("bad signature: %v", err)
	}
	if _, err := p.Handle(ctx, request(signed("tok-4", []byte(`{"event":"clicked"}`)))); !errors.Is(err, webhook.ErrBadPayload) {
		t.Fatalf("unparsable event data: %v", err)
	}
	for _, tok := range []string{"tok-3", "tok-4"} {
		if n, _ := rdb.Exists(ctx, "lt:webhook:mailgun:token:"+tok).Result(); n != 0 {
			t.Errorf("a refused delivery claimed %s", tok)
		}
	}
}

// TestParallelCopiesOneAccepted is the race the claim closes: copies of one
// delivery arriving together are accepted exactly once.
func TestParallelCopiesOneAccepted(t *testing.T) {
	t.Parallel()
	p := newProvider(t, mailgun.Config{MaxAge: 5 * time.Minute, Tokens: mailgun.NewRedisTokenCache(redistest.New(t))})
	const n = 30
	body := signed("tok-par", readFile(t, "docs-events-api-structure/delivered.json"))
	var wg sync.WaitGroup
	var accepted, refused, other atomic.Int32
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			_, err := p.Handle(context.Background(), request(body))
			switch {
			case err == nil:
				accepted.Add(1)
			case errors.Is(err, webhook.ErrUnauthorized):
				refused.Add(1)
			default:
				other.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if accepted.Load() != 1 || refused.Load() != n-1 || other.Load() != 0 {
		t.Fatalf("accepted %d, refused %d, other errors %d; want 1, %d, 0", accepted.Load(), refused.Load(), other.Load(), n-1)
	}
}

func TestTokenCacheUnavailable(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t)
	p := newProvider(t, mailgun.Config{MaxAge: time.Minute, Tokens: mailgun.NewRedisTokenCache(rdb)})
	if err := rdb.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := p.Handle(context.Background(), request(signed("tok", readFile(t, "docs-events-api-structure/delivered.json"))))
	if err == nil || errors.Is(err, webhook.ErrUnauthorized) || errors.Is(err, webhook.ErrBadPayload) {
		t.Fatalf("Handle() with Redis gone: error = %v, want an error that is neither 401 nor 400", err)
	}
}
