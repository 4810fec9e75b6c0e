package ui

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/longtailhq/longtail/reptoken"
)

type loginData struct {
	base
	Error  string
	Notice string
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	s, err := h.current(r)
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	if s != nil {
		http.Redirect(w, r, "/ui/queue", http.StatusSeeOther)
		return
	}
	d := loginData{}
	switch {
	case r.URL.Query().Get("signed_out") != "":
		d.Notice = "You have signed out."
	case r.URL.Query().Get("expired") != "":
		d.Notice = "Your session has ended. Sign in again to see your queue."
	}
	h.renderLogin(w, r, http.StatusOK, d)
}

func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	var ok bool
	if d.base, ok = h.signInBase(w, r); ok {
		h.render(w, status, pageLogin, d)
	}
}

// signInBase is what a sign-in page (the form, a link's confirmation)
// starts from: no session, and the form's CSRF token, set as its cookie.
// When it cannot make one it has answered 503 and says false.
func (h *Handler) signInBase(w http.ResponseWriter, r *http.Request) (base, bool) {
	tok, err := h.loginToken(w, r)
	if err != nil {
		h.unavailable(w, r, err)
		return base{}, false
	}
	b := h.base(nil, "Sign in")
	b.CSRF = tok
	return b, true
}

// signInForm says how one sign-in form answers the checks of signInPost.
type signInForm struct {
	// what names the form in the log ("sign-in").
	what string
	// field is the form field of the secret (a token, a link's code).
	field string
	// fail renders the form again with an error and a status.
	fail func(status int, msg string)
	// reread and expired end the answers to an unreadable form and to an
	// expired CSRF token: how to try again.
	reread, expired string
	// missing answers an empty secret; if "", an empty one goes on (to
	// be refused as unknown).
	missing string
}

// signInPost is a sign-in POST that passed the checks every sign-in
// passes before its secret is looked at.
type signInPost struct {
	ip     string
	secret string
	// budget is what the attempt took of the failure limits: refund it
	// when the secret works.
	budget []string
}

// signInPost checks a sign-in POST: from this site (403 otherwise),
// readable, carrying the sign-in form's CSRF token, with a secret (when
// f.missing says so), and within the failure limits, per client address
// and per secret prefix. On a refusal it has answered and says false.
func (h *Handler) signInPost(w http.ResponseWriter, r *http.Request, f signInForm) (signInPost, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	ip := h.cfg.ClientIP(r)
	if !sameOrigin(r) {
		h.log.Warn().Str("ip", ip).Str("origin", r.Header.Get("Origin")).Msg("cross-origin " + f.what + " refused")
		h.errorPage(w, nil, http.StatusForbidden, "Request refused", "This form did not come from this site, so it was not sent.")
		return signInPost{}, false
	}
	if err := r.ParseForm(); err != nil {
		f.fail(http.StatusBadRequest, "The form could not be read. "+f.reread)
		return signInPost{}, false
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || !equalSecret(r.PostForm.Get("csrf"), c.Value) {
		f.fail(http.StatusForbidden, "The sign-in form had expired. "+f.expired)
		return signInPost{}, false
	}
	secret := strings.TrimSpace(r.PostForm.Get(f.field))
	if secret == "" && f.missing != "" {
		f.fail(http.StatusUnauthorized, f.missing)
		return signInPost{}, false
	}
	// Failures are limited per client address and per secret prefix; an
	// attempt that does not fail is refunded, so signing in never uses
	// up anyone's budget.
	budget := []string{addrKey(ip), tokenKey(secret)}
	if ok, wait := h.limiter.take(budget...); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		h.log.Warn().Str("ip", ip).Msg(f.what + " rate limited")
		f.fail(http.StatusTooManyRequests, fmt.Sprintf("Too many sign-in attempts. Try again in %s.", humanWait(wait)))
		return signInPost{}, false
	}
	return signInPost{ip: ip, secret: secret, budget: budget}, true
}

// badToken is the one answer to any token that does not sign in: it must
// not tell an unknown token from a revoked one.
const badToken = "That token did not work. Check it and try again, or ask your admin for a new one."

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) { h.renderLogin(w, r, status, loginData{Error: msg}) }
	p, ok := h.signInPost(w, r, signInForm{
		what: "sign-in", field: "token", fail: fail,
		reread: "Try again.", expired: "Enter your token again.", missing: "Enter your rep token.",
	})
	if !ok {
		return
	}
	ip, token, budget := p.ip, p.secret, p.budget
	ctx := r.Context()
	if h.adminKeyLive(digest(token)) {
		h.limiter.refund(budget...)
		h.startSession(w, r, true, "", digest(token))
		return
	}
	repID, err := h.tokens.RepFor(ctx, token)
	if errors.Is(err, reptoken.ErrNotFound) || errors.Is(err, reptoken.ErrForbidden) {
		h.log.Info().Str("ip", ip).Bool("revoked", errors.Is(err, reptoken.ErrForbidden)).Msg("sign-in failed")
		h.renderLogin(w, r, http.StatusUnauthorized, loginData{Error: badToken})
		return
	}
	h.limiter.refund(budget...)
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	h.startSession(w, r, false, repID, digest(token))
}

// startSession signs a rep, or an admin, in: a fresh session, its cookie,
// and the way to their page. tokenHash is the SHA-256 (hex) of the token
// or key the session stands on: revoking it ends the session.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, admin bool, repID, tokenHash string) {
	ctx := r.Context()
	ip := h.cfg.ClientIP(r)
	// A new id on every sign-in: a session id planted before sign-in
	// (fixation) never becomes an authenticated one.
	if old, err := r.Cookie(sessionCookie); err == nil && validSecret(old.Value) {
		if err := h.sessions.destroy(ctx, digest(old.Value)); err != nil {
			h.unavailable(w, r, err)
			return
		}
	}
	sid, err := h.sessions.create(ctx, admin, repID, tokenHash)
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	h.setSessionCookie(w, sid)
	h.clearLoginToken(w)
	if admin {
		h.log.Info().Str("ip", ip).Msg("admin signed in")
		http.Redirect(w, r, "/ui/outbox", http.StatusSeeOther)
		return
	}
	h.log.Info().Str("rep_id", repID).Str("ip", ip).Msg("rep signed in")
	http.Redirect(w, r, "/ui/queue", http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := h.sessions.destroy(r.Context(), s.hash); err != nil {
		h.unavailable(w, r, err)
		return
	}
	h.clearSessionCookie(w)
	h.log.Info().Str("rep_id", s.repID).Bool("admin", s.admin).Msg("signed out")
	http.Redirect(w, r, "/ui/login?signed_out=1", http.StatusSeeOther)
}

// humanWait says a short wait in words ("40 seconds", "3 minutes").
func humanWait(d time.Duration) string {
	if d < time.Minute {
		return plural(int(math.Ceil(d.Seconds())), "second")
	}
	return plural(int(math.Ceil(d.Minutes())), "minute")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
