package reptoken_test

import (
	"sync"
	"testing"
	"time"

	"github.com/longtailhq/longtail/reptoken"
)

func TestSignInLinks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.rep(t, "anne")
	tok, err := b.s.Issue(b.ctx, "anne")
	if err != nil {
		t.Fatal(err)
	}

	code, err := b.s.IssueLink(b.ctx, tok, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(code) < 40 || code[:4] != reptoken.LinkPrefix {
		t.Fatalf("code %q: want %s and 43 random characters", code, reptoken.LinkPrefix)
	}
	// The link lives as long as asked: Redis expires it.
	keys, err := b.rdb.Keys(b.ctx, "lt:rlink:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("link keys %v, %v: want one", keys, err)
	}
	if ttl := b.rdb.PTTL(b.ctx, keys[0]).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("link TTL %s, want 1h", ttl)
	}

	// Peeking, as the confirmation page does, uses nothing up.
	for range 2 {
		l, err := b.s.PeekLink(b.ctx, code)
		if err != nil || l.RepID != "anne" {
			t.Fatalf("peek = %+v, %v", l, err)
		}
	}
	// Of several redemptions at once, exactly one signs in.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins []reptoken.Link
	)
	for range 8 {
		wg.Go(func() {
			if l, err := b.s.RedeemLink(b.ctx, code); err == nil {
				mu.Lock()
				wins = append(wins, l)
				mu.Unlock()
			} else {
				mustIs(t, err, reptoken.ErrNotFound)
			}
		})
	}
	wg.Wait()
	if len(wins) != 1 || wins[0].RepID != "anne" || len(wins[0].TokenHash) != 64 {
		t.Fatalf("redemptions won %+v, want one for anne with the token's hash", wins)
	}
	_, err = b.s.PeekLink(b.ctx, code)
	mustIs(t, err, reptoken.ErrNotFound)
}

func TestSignInLinkRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.rep(t, "bob")
	tok, err := b.s.Issue(b.ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}

	for _, ttl := range []time.Duration{0, -time.Second, reptoken.MaxLinkTTL + time.Second} {
		_, err := b.s.IssueLink(b.ctx, tok, ttl)
		mustIs(t, err, reptoken.ErrInvalid)
	}
	_, err = b.s.IssueLink(b.ctx, "ltr_never-issued", time.Hour)
	mustIs(t, err, reptoken.ErrNotFound)

	for _, code := range []string{"", "ltl_unknown", "ltr_not-a-link", "ltl_" + string(make([]byte, 200))} {
		_, err := b.s.RedeemLink(b.ctx, code)
		mustIs(t, err, reptoken.ErrNotFound)
	}

	// Revoking the token kills the links made from it.
	code, err := b.s.IssueLink(b.ctx, tok, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.s.Revoke(b.ctx, "bob", tok); err != nil {
		t.Fatal(err)
	}
	_, err = b.s.PeekLink(b.ctx, code)
	mustIs(t, err, reptoken.ErrForbidden)
	_, err = b.s.RedeemLink(b.ctx, code)
	mustIs(t, err, reptoken.ErrForbidden)
	// A revoked token cannot make new ones.
	_, err = b.s.IssueLink(b.ctx, tok, time.Hour)
	mustIs(t, err, reptoken.ErrForbidden)
}
