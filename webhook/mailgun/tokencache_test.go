package mailgun_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/webhook"
	"github.com/longtailhq/longtail/webhook/mailgun"
)

func TestRedisTokenCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.New(t)
	cache := mailgun.NewRedisTokenCache(rdb, "lt:mg:")

	seen, err := cache.Seen(ctx, "tok")
	if err != nil || seen {
		t.Fatalf("Seen(new token) = %v, %v; want false", seen, err)
	}
	if err := cache.Remember(ctx, "tok", time.Hour); err != nil {
		t.Fatal(err)
	}
	if seen, err := cache.Seen(ctx, "tok"); err != nil || !seen {
		t.Fatalf("Seen(remembered token) = %v, %v; want true", seen, err)
	}
	if seen, _ := cache.Seen(ctx, "other"); seen {
		t.Fatal("Seen(other token) = true")
	}
	ttl, err := rdb.PTTL(ctx, "lt:mg:tok").Result()
	if err != nil || ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("PTTL(lt:mg:tok) = %v, %v; want about an hour under the prefix", ttl, err)
	}
	// A second Remember must not extend the first expiry.
	if err := cache.Remember(ctx, "tok", 48*time.Hour); err != nil {
		t.Fatal(err)
	}
	if ttl, _ := rdb.PTTL(ctx, "lt:mg:tok").Result(); ttl > time.Hour {
		t.Fatalf("second Remember extended the TTL to %v", ttl)
	}
	if err := cache.Remember(ctx, "forever", 0); err == nil {
		t.Fatal("Remember with TTL 0 succeeded; it would keep the token forever")
	}
	if n, _ := rdb.Exists(ctx, "lt:mg:forever").Result(); n != 0 {
		t.Fatal("Remember with TTL 0 wrote a key")
	}
}

// Redis keeps the time of a TTL, not a clock the test can move, so the
// test checks the deadline Remember set and then puts the key past it the
// way Redis's own expiry would (PEXPIREAT in the past removes the key at
// once), instead of waiting for the deadline to come.
func TestRedisTokenCacheExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.New(t)
	cache := mailgun.NewRedisTokenCache(rdb, "p:")
	if err := cache.Remember(ctx, "tok", time.Hour); err != nil {
		t.Fatal(err)
	}
	if ttl, err := rdb.PTTL(ctx, "p:tok").Result(); err != nil || ttl <= 0 || ttl > time.Hour {
		t.Fatalf("PTTL(p:tok) = %v, %v; want at most the hour given", ttl, err)
	}
	if seen, err := cache.Seen(ctx, "tok"); err != nil || !seen {
		t.Fatalf("Seen before the deadline = %v, %v; want true", seen, err)
	}
	if ok, err := rdb.PExpireAt(ctx, "p:tok", time.Unix(1, 0)).Result(); err != nil || !ok {
		t.Fatalf("PEXPIREAT p:tok = %v, %v", ok, err)
	}
	if seen, err := cache.Seen(ctx, "tok"); err != nil || seen {
		t.Fatalf("Seen after the deadline = %v, %v; want false", seen, err)
	}
}

// TestTokenReplay walks the delivery lifecycle: a token is refused only once
// AfterQueued has run, so a retry after a failed enqueue still gets in.
func TestTokenReplay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.New(t)
	p := newProvider(t, mailgun.Config{MaxAge: 5 * time.Minute, Tokens: mailgun.NewRedisTokenCache(rdb, "mg:")})
	body := signed("tok-1", readFile(t, "docs-events-api-structure/delivered.json"))

	first, err := p.Handle(ctx, request(body))
	if err != nil {
		t.Fatal(err)
	}
	if first.AfterQueued == nil {
		t.Fatal("AfterQueued not set with a token cache")
	}
	if n, _ := rdb.DBSize(ctx).Result(); n != 0 {
		t.Fatalf("Handle wrote %d keys before the events were queued", n)
	}
	retry, err := p.Handle(ctx, request(body))
	if err != nil {
		t.Fatalf("retry before AfterQueued: %v", err)
	}
	if err := first.AfterQueued(ctx); err != nil {
		t.Fatal(err)
	}
	if ttl, _ := rdb.PTTL(ctx, "mg:tok-1").Result(); ttl <= 9*time.Minute || ttl > 10*time.Minute {
		t.Fatalf("token TTL = %v, want twice MaxAge", ttl)
	}
	if _, err := p.Handle(ctx, request(body)); !errors.Is(err, webhook.ErrUnauthorized) {
		t.Fatalf("replay after AfterQueued: error = %v, want ErrUnauthorized", err)
	}
	// The retry's hook runs too (it was queued as well) and must not fail.
	if err := retry.AfterQueued(ctx); err != nil {
		t.Fatalf("second AfterQueued: %v", err)
	}
	// Another token is unaffected.
	if _, err := p.Handle(ctx, request(signed("tok-2", readFile(t, "docs-events-api-structure/delivered.json")))); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	// A bad signature is refused before the cache is asked.
	bad := envelope("1700000000", "tok-3", sign("other-key", "1700000000", "tok-3"), []byte(`{}`))
	if _, err := p.Handle(ctx, request(bad)); !errors.Is(err, webhook.ErrUnauthorized) {
		t.Fatalf("bad signature: %v", err)
	}
}

func TestTokenCacheUnavailable(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t)
	p := newProvider(t, mailgun.Config{MaxAge: time.Minute, Tokens: mailgun.NewRedisTokenCache(rdb, "mg:")})
	if err := rdb.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := p.Handle(context.Background(), request(signed("tok", readFile(t, "docs-events-api-structure/delivered.json"))))
	if err == nil || errors.Is(err, webhook.ErrUnauthorized) || errors.Is(err, webhook.ErrBadPayload) {
		t.Fatalf("Handle() with Redis gone: error = %v, want an error that is neither 401 nor 400", err)
	}
}
