package reptoken

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// LinkPrefix starts every sign-in link code.
const LinkPrefix = "ltl_"

// MaxLinkTTL bounds how long a sign-in link may stay valid: a link is
// handed over in a chat or printed in a terminal, so it must not outlive
// the day it was made for.
const MaxLinkTTL = 7 * 24 * time.Hour

// Link is what a sign-in link stands for: a rep, and the token whose
// revocation ends what the link signs in.
type Link struct {
	RepID string
	// TokenHash is the SHA-256 (hex) of the rep token the link was made
	// from; a session opened by the link is bound to that token.
	TokenHash string
}

// IssueLink makes a one-time sign-in code for a rep token: whoever opens
// the link and confirms is signed in as the token's rep, once, within
// ttl. The token itself is never in the link (a URL ends up in browser
// history and proxy logs); only the code is, and it stops working when
// used, when ttl passes or when the token is revoked.
func (s *Store) IssueLink(ctx context.Context, token string, ttl time.Duration) (string, error) {
	if ttl <= 0 || ttl > MaxLinkTTL {
		return "", fmt.Errorf("%w: a sign-in link lives more than 0 and at most %s, not %s", ErrInvalid, MaxLinkTTL, ttl)
	}
	repID, err := s.RepFor(ctx, token)
	if err != nil {
		return "", err
	}
	buf := make([]byte, tokenBytes)
	_, _ = rand.Read(buf) // crypto/rand.Read never fails (Go 1.24+).
	code := LinkPrefix + base64.RawURLEncoding.EncodeToString(buf)
	codeHash, _ := hashToken(code)
	tokHash, _ := hashToken(token)
	if err := s.rdb.Set(ctx, linkKey(codeHash), repID+" "+tokHash, ttl).Err(); err != nil {
		return "", fmt.Errorf("reptoken: issue link: %w", err)
	}
	return code, nil
}

// PeekLink says whom a link would sign in, without using it up: the page
// a link opens asks to confirm first, so a mail scanner or a browser's
// prefetch fetching the URL signs nobody in.
func (s *Store) PeekLink(ctx context.Context, code string) (Link, error) {
	key, err := linkKeyOf(code)
	if err != nil {
		return Link{}, err
	}
	v, err := s.rdb.Get(ctx, key).Result()
	return s.checkLink(ctx, v, err)
}

// RedeemLink uses a link up and returns what it stood for: ErrNotFound for
// a code never issued, used or expired, ErrForbidden when its token was
// revoked since. Of two redemptions at once, one wins (GETDEL).
func (s *Store) RedeemLink(ctx context.Context, code string) (Link, error) {
	key, err := linkKeyOf(code)
	if err != nil {
		return Link{}, err
	}
	v, err := s.rdb.GetDel(ctx, key).Result()
	return s.checkLink(ctx, v, err)
}

func linkKeyOf(code string) (string, error) {
	if !strings.HasPrefix(code, LinkPrefix) || len(code) > maxTokenLen {
		return "", fmt.Errorf("%w: not a sign-in link", ErrNotFound)
	}
	hash, _ := hashToken(code)
	return linkKey(hash), nil
}

// checkLink reads a link's stored value and checks its token still stands.
func (s *Store) checkLink(ctx context.Context, v string, err error) (Link, error) {
	if errors.Is(err, redis.Nil) {
		return Link{}, fmt.Errorf("%w: the sign-in link was used or has expired", ErrNotFound)
	}
	if err != nil {
		return Link{}, fmt.Errorf("reptoken: read link: %w", err)
	}
	repID, tokHash, ok := strings.Cut(v, " ")
	if !ok {
		return Link{}, fmt.Errorf("reptoken: link record %q is malformed", v)
	}
	h, err := s.rdb.HGetAll(ctx, tokenKey(tokHash)).Result()
	if err != nil {
		return Link{}, fmt.Errorf("reptoken: check link token: %w", err)
	}
	if h["rep"] != repID {
		return Link{}, fmt.Errorf("%w: the link's token no longer exists", ErrNotFound)
	}
	if h["revoked"] != "" {
		return Link{}, fmt.Errorf("%w: the link's token %s was revoked", ErrForbidden, h["id"])
	}
	return Link{RepID: repID, TokenHash: tokHash}, nil
}
