package repqueue

import (
	"strings"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	b.rep(t, "r1", 1)
	b.rep(t, "r2", 1)
	tok1, err := b.q.IssueToken(b.ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(time.Minute)
	tok2, err := b.q.IssueToken(b.ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.q.IssueToken(b.ctx, "r2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok1, TokenPrefix) || len(tok1) != len(TokenPrefix)+43 || tok1 == tok2 {
		t.Fatalf("tokens %q %q", tok1, tok2)
	}
	for tok, want := range map[string]string{tok1: "r1", tok2: "r1", other: "r2"} {
		if rep, err := b.q.RepForToken(b.ctx, tok); err != nil || rep != want {
			t.Errorf("RepForToken = %q, %v; want %s", rep, err, want)
		}
	}
	for _, bad := range []string{"", "ltr_nope", tok1 + "x", "Bearer " + tok1, strings.TrimPrefix(tok1, TokenPrefix)} {
		_, err := b.q.RepForToken(b.ctx, bad)
		mustIs(t, err, ErrNotFound)
	}
	_, err = b.q.IssueToken(b.ctx, "ghost")
	mustIs(t, err, ErrNotFound)

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
			secret := strings.TrimPrefix(tok, TokenPrefix)
			if strings.Contains(k, secret) || strings.Contains(dump, secret) {
				t.Fatalf("key %s holds a token's text", k)
			}
		}
	}

	list, err := b.q.ListTokens(b.ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || !list[0].CreatedAt.Equal(monday10) || list[0].RevokedAt != nil || len(list[0].ID) != 12 {
		t.Fatalf("ListTokens %+v", list)
	}
	// Revoke by id, then by text; again is a no-op; another rep's is not
	// found.
	if err := b.q.RevokeToken(b.ctx, "r1", list[0].ID); err != nil {
		t.Fatal(err)
	}
	_, err = b.q.RepForToken(b.ctx, tok1)
	mustIs(t, err, ErrForbidden)
	if rep, err := b.q.RepForToken(b.ctx, tok2); err != nil || rep != "r1" {
		t.Fatalf("the other token stopped working: %q %v", rep, err)
	}
	if err := b.q.RevokeToken(b.ctx, "r1", tok2); err != nil {
		t.Fatal(err)
	}
	_, err = b.q.RepForToken(b.ctx, tok2)
	mustIs(t, err, ErrForbidden)
	if err := b.q.RevokeToken(b.ctx, "r1", tok2); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	mustIs(t, b.q.RevokeToken(b.ctx, "r1", other), ErrNotFound)
	mustIs(t, b.q.RevokeToken(b.ctx, "r2", "nope"), ErrNotFound)
	if rep, err := b.q.RepForToken(b.ctx, other); err != nil || rep != "r2" {
		t.Fatalf("r2's token: %q %v", rep, err)
	}
	list, _ = b.q.ListTokens(b.ctx, "r1")
	if len(list) != 2 || list[0].RevokedAt == nil || list[1].RevokedAt == nil || !list[0].RevokedAt.Equal(b.clock.Now()) {
		t.Fatalf("after revoking: %+v", list)
	}
}
