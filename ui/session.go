package ui

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/redis/go-redis/v9"
)

const (
	// sessionCookie carries the session id. Path /ui keeps it away from
	// the JSON API and the tracking endpoints on the same host.
	sessionCookie = "lt_ui_session"
	// flashTTL bounds a message nobody came back to read.
	flashTTL = 5 * time.Minute
	// secretBytes of randomness in session ids and CSRF tokens.
	secretBytes = 32
)

// session is a signed-in rep, or an admin (signed in with an API key).
type session struct {
	// hash is the hex SHA-256 of the session id: the id Redis knows.
	hash string
	// admin marks a session opened with an admin API key: it sees the
	// outbox, not a call queue, and repID is empty.
	admin     bool
	repID     string
	tokenHash string
	csrf      string
	created   time.Time
	// rep is read from the directory on every request.
	rep directory.Rep
}

// flash is a one-shot message for the next queue page.
type flash struct {
	// Kind is "ok" or "error"; it picks the style.
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// newSecret returns 32 random bytes, base64url without padding.
func newSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("ui: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// validSecret tells whether s can be a value newSecret made, so junk from
// a cookie never reaches Redis.
func validSecret(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(secretBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// sessions keeps sessions in Redis.
type sessions struct {
	rdb   redis.UniversalClient
	ttl   time.Duration
	clock func() time.Time
}

// create stores a new session and returns its id, the cookie value. An
// admin session has no rep.
func (st *sessions) create(ctx context.Context, admin bool, repID, tokenHash string) (string, error) {
	sid, err := newSecret()
	if err != nil {
		return "", err
	}
	csrf, err := newSecret()
	if err != nil {
		return "", err
	}
	key := sessionKey(digest(sid))
	// One transaction, so no session ever exists without its expiry.
	_, err = st.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		role := roleRep
		if admin {
			role = roleAdmin
		}
		p.HSet(ctx, key, "rep", repID, "role", role, "tok", tokenHash, "csrf", csrf,
			"created", strconv.FormatInt(st.clock().UnixMilli(), 10))
		p.Expire(ctx, key, st.ttl)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("ui: create session: %w", err)
	}
	return sid, nil
}

// load returns the session of a cookie value, or nil when there is none.
func (st *sessions) load(ctx context.Context, sid string) (*session, error) {
	if !validSecret(sid) {
		return nil, nil
	}
	hash := digest(sid)
	h, err := st.rdb.HGetAll(ctx, sessionKey(hash)).Result()
	if err != nil {
		return nil, fmt.Errorf("ui: load session: %w", err)
	}
	admin := h["role"] == roleAdmin
	if (h["rep"] == "" && !admin) || h["tok"] == "" || h["csrf"] == "" {
		return nil, nil
	}
	ms, _ := strconv.ParseInt(h["created"], 10, 64)
	return &session{hash: hash, admin: admin, repID: h["rep"], tokenHash: h["tok"], csrf: h["csrf"], created: time.UnixMilli(ms)}, nil
}

func (st *sessions) destroy(ctx context.Context, hash string) error {
	if err := st.rdb.Del(ctx, sessionKey(hash), flashKey(hash)).Err(); err != nil {
		return fmt.Errorf("ui: end session: %w", err)
	}
	return nil
}

func (st *sessions) setFlash(ctx context.Context, hash string, f flash) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := st.rdb.Set(ctx, flashKey(hash), b, flashTTL).Err(); err != nil {
		return fmt.Errorf("ui: flash: %w", err)
	}
	return nil
}

// takeFlash returns and deletes the pending message, or nil.
func (st *sessions) takeFlash(ctx context.Context, hash string) (*flash, error) {
	b, err := st.rdb.GetDel(ctx, flashKey(hash)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ui: flash: %w", err)
	}
	var f flash
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("ui: flash: %w", err)
	}
	return &f, nil
}

func (h *Handler) setSessionCookie(w http.ResponseWriter, sid string) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: sid, Path: "/ui",
		// MaxAge rather than Expires: the browser's clock decides, so an
		// injected clock never makes a cookie born expired.
		MaxAge:   int(h.cfg.SessionTTL / time.Second),
		HttpOnly: true, Secure: h.cfg.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

func (h *Handler) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/ui", MaxAge: -1,
		HttpOnly: true, Secure: h.cfg.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

// current returns the request's signed-in session, or nil when there is
// none: no cookie, an expired session, a revoked token, a rep no longer
// in the directory. An error means the check itself failed.
func (h *Handler) current(r *http.Request) (*session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, nil
	}
	ctx := r.Context()
	s, err := h.sessions.load(ctx, c.Value)
	if err != nil || s == nil {
		return nil, err
	}
	if s.admin {
		// An API key taken out of api.keys ends its sessions at once,
		// as a revoked rep token does.
		if !h.adminKeyLive(s.tokenHash) {
			h.log.Info().Msg("admin session ended: its API key is no longer configured")
			return nil, h.sessions.destroy(ctx, s.hash)
		}
		return s, nil
	}
	live, err := h.tokenLive(ctx, s)
	if err != nil {
		return nil, err
	}
	if !live {
		h.log.Info().Str("rep_id", s.repID).Msg("session ended: its sign-in token was revoked")
		return nil, h.sessions.destroy(ctx, s.hash)
	}
	rep, err := h.reps.GetRep(ctx, s.repID)
	if errors.Is(err, directory.ErrNotFound) {
		h.log.Info().Str("rep_id", s.repID).Msg("session ended: the rep left the directory")
		return nil, h.sessions.destroy(ctx, s.hash)
	}
	if err != nil {
		return nil, fmt.Errorf("ui: read rep %s: %w", s.repID, err)
	}
	s.rep = rep
	return s, nil
}

// tokenLive tells whether the token the session signed in with is still
// valid. The session keeps only the token's SHA-256; the rep's token list
// names each token by the first 12 hex digits of that same digest, which
// is how a revocation is seen without ever storing the token.
func (h *Handler) tokenLive(ctx context.Context, s *session) (bool, error) {
	if len(s.tokenHash) < 12 {
		return false, nil
	}
	tokens, err := h.tokens.List(ctx, s.repID)
	if err != nil {
		return false, fmt.Errorf("ui: check token: %w", err)
	}
	id := s.tokenHash[:12]
	for _, t := range tokens {
		if t.ID == id {
			return t.RevokedAt == nil, nil
		}
	}
	return false, nil
}

// adminKeyLive tells whether tokenHash is the digest of a configured
// admin API key, comparing every key in constant time.
func (h *Handler) adminKeyLive(tokenHash string) bool {
	ok := 0
	for _, d := range h.adminDigests {
		ok |= subtle.ConstantTimeCompare([]byte(d), []byte(tokenHash))
	}
	return ok == 1
}

// Session roles, as kept in the session hash.
const (
	roleRep   = "rep"
	roleAdmin = "admin"
	roleAny   = "any"
)

// signedIn runs fn for a signed-in rep and sends anyone else to sign in;
// an admin, who has no queue, goes to the outbox.
func (h *Handler) signedIn(fn func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return h.require(roleRep, fn)
}

// require runs fn for a session of role (roleAny: either), sends a
// visitor without one to sign in, and refuses a rep a page for admins.
func (h *Handler) require(role string, fn func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := h.current(r)
		if err != nil {
			h.unavailable(w, r, err)
			return
		}
		switch {
		case s == nil:
			h.toLogin(w, r)
		case role == roleRep && s.admin:
			http.Redirect(w, r, "/ui/outbox", http.StatusSeeOther)
		case role == roleAdmin && !s.admin:
			h.log.Warn().Str("path", r.URL.Path).Str("rep_id", s.repID).Msg("rep refused an admin page")
			h.errorPage(w, s, http.StatusForbidden, "Admins only",
				"This page is for admins. Sign out and sign in with an admin API key to see it.")
		default:
			fn(w, r, s)
		}
	}
}

// maxForm bounds a form body; the largest legitimate one is an outcome
// with a 2000-byte note.
const maxForm = 64 << 10

// post runs fn for a signed-in rep's form submission that passed the CSRF
// checks: same-host origin and the session's token in the form.
func (h *Handler) post(fn func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return h.postAs(roleRep, fn)
}

// postAs is post for a session of role.
func (h *Handler) postAs(role string, fn func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	withToken := h.require(role, func(w http.ResponseWriter, r *http.Request, s *session) {
		if err := r.ParseForm(); err != nil {
			h.errorPage(w, s, http.StatusBadRequest, "Bad request", "The form could not be read.")
			return
		}
		if !equalSecret(r.PostForm.Get("csrf"), s.csrf) {
			h.log.Warn().Str("path", r.URL.Path).Str("rep_id", s.repID).Msg("form without a valid CSRF token refused")
			h.errorPage(w, s, http.StatusForbidden, "Form expired", "This form is out of date. Go back to your queue, reload it and try again.")
			return
		}
		fn(w, r, s)
	})
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if !sameOrigin(r) {
			h.log.Warn().Str("path", r.URL.Path).Str("origin", r.Header.Get("Origin")).Msg("cross-origin form refused")
			h.errorPage(w, nil, http.StatusForbidden, "Request refused", "This form did not come from this site, so it was not sent.")
			return
		}
		withToken(w, r)
	}
}

// toLogin sends a visitor without a session to the sign-in page, dropping
// a stale cookie on the way.
func (h *Handler) toLogin(w http.ResponseWriter, r *http.Request) {
	target := "/ui/login"
	if _, err := r.Cookie(sessionCookie); err == nil {
		h.clearSessionCookie(w)
		target += "?expired=1"
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error().Err(err).Str("path", r.URL.Path).Msg("rep page unavailable")
	h.errorPage(w, nil, http.StatusServiceUnavailable, "Temporarily unavailable",
		"The call queue cannot be reached right now. Try again in a minute.")
}
