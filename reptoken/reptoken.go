// Package reptoken issues, checks and revokes the reps' API tokens: the
// bearer tokens a rep uses on the rep-queue API and to sign in to the rep
// pages. A token is shown once when issued; only its SHA-256 is stored.
package reptoken

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
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/ident"
)

// Sentinel errors; returned errors wrap them with the reason.
var (
	// ErrNotFound: no such rep, or a token never issued (or of another rep).
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the token was revoked.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalid: a rep id that breaks the id rule (package ident).
	ErrInvalid = errors.New("invalid")
)

// Prefix starts every rep token, so a leaked one is recognisable (secret
// scanners) and a wrong kind of key is refused without a Redis round trip.
const Prefix = "ltr_"

// tokenBytes of randomness per token.
const tokenBytes = 32

// maxTokenLen bounds what RepFor hashes: a real token is 47 bytes.
const maxTokenLen = 128

// Info describes a rep token; the secret itself is never stored.
type Info struct {
	// ID names the token for revocation: the first 12 hex digits of the
	// SHA-256 of its text.
	ID        string     `json:"id"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Reps is what the store reads of the directory (*directory.Store
// implements it): a token is only issued to a rep that exists.
type Reps interface {
	GetRep(ctx context.Context, id string) (directory.Rep, error)
}

// Store keeps the reps' tokens in Redis. It is safe for concurrent use.
type Store struct {
	rdb   redis.UniversalClient
	reps  Reps
	clock func() time.Time
}

// New returns a Store. clock stamps creation and revocation; if nil,
// time.Now.
func New(rdb redis.UniversalClient, reps Reps, clock func() time.Time) (*Store, error) {
	if rdb == nil || reps == nil {
		return nil, errors.New("reptoken: Redis client and rep directory are required")
	}
	if clock == nil {
		clock = time.Now
	}
	return &Store{rdb: rdb, reps: reps, clock: clock}, nil
}

func hashToken(token string) (hash, id string) {
	sum := sha256.Sum256([]byte(token))
	hash = hex.EncodeToString(sum[:])
	return hash, hash[:12]
}

func checkRepID(id string) error {
	if err := ident.Check("rep_id", id); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// Issue creates an API token for the rep and returns its text, which is
// shown once: only its SHA-256 is stored. The rep must exist.
func (s *Store) Issue(ctx context.Context, repID string) (string, error) {
	if err := checkRepID(repID); err != nil {
		return "", err
	}
	if _, err := s.reps.GetRep(ctx, repID); errors.Is(err, directory.ErrNotFound) {
		return "", fmt.Errorf("%w: rep %q", ErrNotFound, repID)
	} else if err != nil {
		return "", fmt.Errorf("reptoken: issue: %w", err)
	}
	buf := make([]byte, tokenBytes)
	_, _ = rand.Read(buf) // crypto/rand.Read never fails (Go 1.24+).
	token := Prefix + base64.RawURLEncoding.EncodeToString(buf)
	hash, id := hashToken(token)
	now := s.nowMS()
	// The rep's list first: a crash before the token record leaves a listed
	// token that never worked, rather than a working one nobody can see.
	if err := s.rdb.HSet(ctx, repTokensKey(repID), id, hash+" "+now).Err(); err != nil {
		return "", fmt.Errorf("reptoken: issue: %w", err)
	}
	if err := s.rdb.HSet(ctx, tokenKey(hash), "rep", repID, "id", id, "created", now).Err(); err != nil {
		return "", fmt.Errorf("reptoken: issue: %w", err)
	}
	return token, nil
}

// RepFor returns the rep a token belongs to: ErrNotFound for a token never
// issued, ErrForbidden for a revoked one.
func (s *Store) RepFor(ctx context.Context, token string) (string, error) {
	if !strings.HasPrefix(token, Prefix) || len(token) > maxTokenLen {
		return "", fmt.Errorf("%w: not a rep token", ErrNotFound)
	}
	hash, _ := hashToken(token)
	h, err := s.rdb.HGetAll(ctx, tokenKey(hash)).Result()
	if err != nil {
		return "", fmt.Errorf("reptoken: check token: %w", err)
	}
	if h["rep"] == "" {
		return "", fmt.Errorf("%w: unknown token", ErrNotFound)
	}
	if h["revoked"] != "" {
		return "", fmt.Errorf("%w: token %s was revoked", ErrForbidden, h["id"])
	}
	return h["rep"], nil
}

// Revoke revokes one of the rep's tokens, named by its text or its id.
// Revoking again is a no-op; a token of another rep is ErrNotFound.
func (s *Store) Revoke(ctx context.Context, repID, tokenOrID string) error {
	if err := checkRepID(repID); err != nil {
		return err
	}
	id := tokenOrID
	if strings.HasPrefix(tokenOrID, Prefix) {
		_, id = hashToken(tokenOrID)
	}
	v, err := s.rdb.HGet(ctx, repTokensKey(repID), id).Result()
	if err != nil || id == "" {
		if err == nil || errors.Is(err, redis.Nil) {
			return fmt.Errorf("%w: rep %q has no token %q", ErrNotFound, repID, id)
		}
		return fmt.Errorf("reptoken: revoke: %w", err)
	}
	f := strings.Fields(v)
	if len(f) >= 3 {
		return nil
	}
	if len(f) != 2 {
		return fmt.Errorf("reptoken: revoke: malformed record of %s", id)
	}
	now := s.nowMS()
	// The token record first: that is what authentication reads.
	if err := s.rdb.HSet(ctx, tokenKey(f[0]), "revoked", now).Err(); err != nil {
		return fmt.Errorf("reptoken: revoke: %w", err)
	}
	if err := s.rdb.HSet(ctx, repTokensKey(repID), id, f[0]+" "+f[1]+" "+now).Err(); err != nil {
		return fmt.Errorf("reptoken: revoke: %w", err)
	}
	return nil
}

// List returns the rep's tokens, oldest first, revoked ones included;
// never their text.
func (s *Store) List(ctx context.Context, repID string) ([]Info, error) {
	if err := checkRepID(repID); err != nil {
		return nil, err
	}
	h, err := s.rdb.HGetAll(ctx, repTokensKey(repID)).Result()
	if err != nil {
		return nil, fmt.Errorf("reptoken: list: %w", err)
	}
	out := make([]Info, 0, len(h))
	for id, v := range h {
		f := strings.Fields(v)
		if len(f) < 2 {
			continue
		}
		ti := Info{ID: id, CreatedAt: fromMS(f[1])}
		if len(f) >= 3 {
			t := fromMS(f[2])
			ti.RevokedAt = &t
		}
		out = append(out, ti)
	}
	slices.SortFunc(out, func(a, b Info) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// nowMS is the clock in Unix milliseconds, as stored.
func (s *Store) nowMS() string { return strconv.FormatInt(s.clock().UnixMilli(), 10) }

func fromMS(v string) time.Time {
	n, _ := strconv.ParseInt(v, 10, 64)
	return time.UnixMilli(n).UTC()
}
