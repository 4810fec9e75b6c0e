package reptoken_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/reptoken"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// monday10 is Monday 16 November 2026, 10:00 UTC.
var monday10 = time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC)

type bundle struct {
	ctx   context.Context
	rdb   *redis.Client
	dir   *directory.Store
	s     *reptoken.Store
	clock *testclock.Clock
}

func setup(t *testing.T) *bundle {
	t.Helper()
	rdb := redistest.New(t)
	clk := testclock.New(monday10)
	dir, err := directory.New(rdb, directory.Config{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	s, err := reptoken.New(rdb, dir, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{ctx: context.Background(), rdb: rdb, dir: dir, s: s, clock: clk}
}

func (b *bundle) rep(t *testing.T, id string) {
	t.Helper()
	r := directory.Rep{ID: id, Name: "Rep " + id, Email: id + "@vendor.example", DailyCapacity: 1, Active: true}
	if _, _, err := b.dir.PutRep(b.ctx, r); err != nil {
		t.Fatal(err)
	}
}

func mustIs(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.rep(t, "r1")
	b.rep(t, "r2")
	tok1, err := b.s.Issue(b.ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(time.Minute)
	tok2, err := b.s.Issue(b.ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.s.Issue(b.ctx, "r2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok1, reptoken.Prefix) || len(tok1) != len(reptoken.Prefix)+43 || tok1 == tok2 {
		t.Fatalf("tokens %q %q", tok1, tok2)
	}
	for tok, want := range map[string]string{tok1: "r1", tok2: "r1", other: "r2"} {
		if rep, err := b.s.RepFor(b.ctx, tok); err != nil || rep != want {
			t.Errorf("RepFor = %q, %v; want %s", rep, err, want)
		}
	}
	for _, bad := range []string{"", "ltr_nope", tok1 + "x", "Bearer " + tok1, strings.TrimPrefix(tok1, reptoken.Prefix)} {
		_, err := b.s.RepFor(b.ctx, bad)
		mustIs(t, err, reptoken.ErrNotFound)
	}
	_, err = b.s.Issue(b.ctx, "ghost")
	mustIs(t, err, reptoken.ErrNotFound)

	// Only hashes are stored: the token text is nowhere in Redis.
	keys, err := b.rdb.Keys(b.ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		dump, err := b.rdb.Dump(b.ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{tok1, tok2, other} {
			secret := strings.TrimPrefix(tok, reptoken.Prefix)
			if strings.Contains(k, secret) || strings.Contains(dump, secret) {
				t.Fatalf("key %s holds a token's text", k)
			}
		}
	}

	list, err := b.s.List(b.ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || !list[0].CreatedAt.Equal(monday10) || list[0].RevokedAt != nil || len(list[0].ID) != 12 {
		t.Fatalf("List %+v", list)
	}
	// Revoke by id, then by text; again is a no-op; another rep's is not
	// found.
	if err := b.s.Revoke(b.ctx, "r1", list[0].ID); err != nil {
		t.Fatal(err)
	}
	_, err = b.s.RepFor(b.ctx, tok1)
	mustIs(t, err, reptoken.ErrForbidden)
	if rep, err := b.s.RepFor(b.ctx, tok2); err != nil || rep != "r1" {
		t.Fatalf("the other token stopped working: %q %v", rep, err)
	}
	if err := b.s.Revoke(b.ctx, "r1", tok2); err != nil {
		t.Fatal(err)
	}
	_, err = b.s.RepFor(b.ctx, tok2)
	mustIs(t, err, reptoken.ErrForbidden)
	if err := b.s.Revoke(b.ctx, "r1", tok2); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	mustIs(t, b.s.Revoke(b.ctx, "r1", other), reptoken.ErrNotFound)
	mustIs(t, b.s.Revoke(b.ctx, "r2", "nope"), reptoken.ErrNotFound)
	if rep, err := b.s.RepFor(b.ctx, other); err != nil || rep != "r2" {
		t.Fatalf("r2's token: %q %v", rep, err)
	}
	list, _ = b.s.List(b.ctx, "r1")
	if len(list) != 2 || list[0].RevokedAt == nil || list[1].RevokedAt == nil || !list[0].RevokedAt.Equal(b.clock.Now()) {
		t.Fatalf("after revoking: %+v", list)
	}
}

// TestKeysKeepTheirLayout pins the key names: tokens issued before the
// move out of repqueue must keep working.
func TestKeysKeepTheirLayout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.rep(t, "r1")
	if _, err := b.s.Issue(b.ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	keys, err := b.rdb.Keys(b.ctx, "lt:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var tokens, records int
	for _, k := range keys {
		switch {
		case k == "lt:{r:r1}:tokens":
			tokens++
		case strings.HasPrefix(k, "lt:rtok:") && len(k) == len("lt:rtok:")+64:
			records++
		case k == "lt:rep:r1" || k == "lt:reps":
		default:
			t.Errorf("unexpected key %s", k)
		}
	}
	if tokens != 1 || records != 1 {
		t.Errorf("keys %v, want lt:{r:r1}:tokens and one lt:rtok:<sha256>", keys)
	}
}

func TestInvalidRepID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, id := range []string{"", "{r:x}", "a b"} {
		_, err := b.s.Issue(b.ctx, id)
		mustIs(t, err, reptoken.ErrInvalid)
		_, err = b.s.List(b.ctx, id)
		mustIs(t, err, reptoken.ErrInvalid)
		mustIs(t, b.s.Revoke(b.ctx, id, "x"), reptoken.ErrInvalid)
	}
}
