package repqueue

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/redis/go-redis/v9"
)

// TokenPrefix starts every rep token, so a leaked one is recognisable
// (secret scanners) and a wrong kind of key is refused cheaply.
const TokenPrefix = "ltr_"

// tokenBytes of randomness per token.
const tokenBytes = 32

// TokenInfo describes a rep token; the secret itself is never stored.
type TokenInfo struct {
	// ID names the token for revocation: the first 12 hex digits of the
	// SHA-256 of its text.
	ID        string     `json:"id"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

func hashToken(token string) (hash, id string) {
	sum := sha256.Sum256([]byte(token))
	hash = hex.EncodeToString(sum[:])
	return hash, hash[:12]
}

// IssueToken creates an API token for the rep and returns its text, which
// is shown once: only its SHA-256 is stored. The rep must exist.
func (q *Queue) IssueToken(ctx context.Context, repID string) (string, error) {
	if err := checkID("rep_id", repID); err != nil {
		return "", err
	}
	if _, err := q.dir.GetRep(ctx, repID); errors.Is(err, directory.ErrNotFound) {
		return "", fmt.Errorf("%w: rep %q", ErrNotFound, repID)
	} else if err != nil {
		return "", fmt.Errorf("repqueue: issue token: %w", err)
	}
	buf := make([]byte, tokenBytes)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("repqueue: issue token: %w", err)
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(buf)
	hash, id := hashToken(token)
	now := ms(q.now())
	// The rep's list first: a crash before the token record leaves a listed
	// token that never worked, rather than a working one nobody can see.
	if err := q.rdb.HSet(ctx, repTokensKey(repID), id, hash+" "+now).Err(); err != nil {
		return "", fmt.Errorf("repqueue: issue token: %w", err)
	}
	if err := q.rdb.HSet(ctx, tokenKey(hash), "rep", repID, "id", id, "created", now).Err(); err != nil {
		return "", fmt.Errorf("repqueue: issue token: %w", err)
	}
	return token, nil
}

// RepForToken returns the rep a token belongs to: ErrNotFound for a token
// never issued, ErrForbidden for a revoked one.
func (q *Queue) RepForToken(ctx context.Context, token string) (string, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 128 {
		return "", fmt.Errorf("%w: not a rep token", ErrNotFound)
	}
	hash, _ := hashToken(token)
	h, err := q.rdb.HGetAll(ctx, tokenKey(hash)).Result()
	if err != nil {
		return "", fmt.Errorf("repqueue: check token: %w", err)
	}
	if h["rep"] == "" {
		return "", fmt.Errorf("%w: unknown token", ErrNotFound)
	}
	if h["revoked"] != "" {
		return "", fmt.Errorf("%w: token %s was revoked", ErrForbidden, h["id"])
	}
	return h["rep"], nil
}

// RevokeToken revokes one of the rep's tokens, named by its text or its
// id. Revoking again is a no-op; a token of another rep is ErrNotFound.
func (q *Queue) RevokeToken(ctx context.Context, repID, tokenOrID string) error {
	if err := checkID("rep_id", repID); err != nil {
		return err
	}
	id := tokenOrID
	if strings.HasPrefix(tokenOrID, TokenPrefix) {
		_, id = hashToken(tokenOrID)
	}
	v, err := q.rdb.HGet(ctx, repTokensKey(repID), id).Result()
	if err != nil || id == "" {
		if err == nil || errors.Is(err, redis.Nil) {
			return fmt.Errorf("%w: rep %q has no token %q", ErrNotFound, repID, id)
		}
		return fmt.Errorf("repqueue: revoke token: %w", err)
	}
	f := strings.Fields(v)
	if len(f) >= 3 {
		return nil
	}
	if len(f) != 2 {
		return fmt.Errorf("repqueue: revoke token: malformed record of %s", id)
	}
	now := ms(q.now())
	// The token record first: that is what authentication reads.
	if err := q.rdb.HSet(ctx, tokenKey(f[0]), "revoked", now).Err(); err != nil {
		return fmt.Errorf("repqueue: revoke token: %w", err)
	}
	if err := q.rdb.HSet(ctx, repTokensKey(repID), id, f[0]+" "+f[1]+" "+now).Err(); err != nil {
		return fmt.Errorf("repqueue: revoke token: %w", err)
	}
	return nil
}

// ListTokens returns the rep's tokens, oldest first, revoked ones
// included; never their text.
func (q *Queue) ListTokens(ctx context.Context, repID string) ([]TokenInfo, error) {
	if err := checkID("rep_id", repID); err != nil {
		return nil, err
	}
	h, err := q.rdb.HGetAll(ctx, repTokensKey(repID)).Result()
	if err != nil {
		return nil, fmt.Errorf("repqueue: list tokens: %w", err)
	}
	out := make([]TokenInfo, 0, len(h))
	for id, v := range h {
		f := strings.Fields(v)
		if len(f) < 2 {
			continue
		}
		ti := TokenInfo{ID: id, CreatedAt: fromMS(f[1])}
		if len(f) >= 3 {
			ti.RevokedAt = optMS(f[2])
		}
		out = append(out, ti)
	}
	slices.SortFunc(out, func(a, b TokenInfo) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}
