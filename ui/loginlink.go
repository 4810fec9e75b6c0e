package ui

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/longtailhq/longtail/reptoken"
)

// A sign-in link (/ui/login/link?code=ltl_…) is how a rep is handed a
// ready sign-in: `longtail demo` prints one, `longtail reps link` makes
// one. Opening it shows whom it signs in and asks to confirm; only the
// confirmation (a same-origin POST with the sign-in form's CSRF cookie)
// uses the code up. So a mail scanner or a browser's prefetch fetching
// the URL signs nobody in and spends nothing.

type loginLinkData struct {
	base
	// Name is the rep the link signs in; empty when the link is dead.
	Name  string
	Code  string
	Error string
}

// badLink is the one answer to a link that no longer signs in: used,
// expired, revoked or never issued look the same from outside.
const badLink = "This sign-in link was already used, has expired or was withdrawn. Ask your admin for a new one, or sign in with your rep token."

func (h *Handler) linkPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	code := strings.TrimSpace(r.URL.Query().Get("code"))
	l, err := h.tokens.PeekLink(r.Context(), code)
	if errors.Is(err, reptoken.ErrNotFound) || errors.Is(err, reptoken.ErrForbidden) {
		h.renderLink(w, r, http.StatusNotFound, loginLinkData{Error: badLink})
		return
	}
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	rep, err := h.reps.GetRep(r.Context(), l.RepID)
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	h.renderLink(w, r, http.StatusOK, loginLinkData{Name: rep.Name, Code: code})
}

func (h *Handler) renderLink(w http.ResponseWriter, r *http.Request, status int, d loginLinkData) {
	var ok bool
	if d.base, ok = h.signInBase(w, r); ok {
		h.render(w, status, pageLoginLink, d)
	}
}

func (h *Handler) linkLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	w.Header().Set("Cache-Control", "no-store")
	ip := h.cfg.ClientIP(r)
	if !sameOrigin(r) {
		h.log.Warn().Str("ip", ip).Str("origin", r.Header.Get("Origin")).Msg("cross-origin link sign-in refused")
		h.errorPage(w, nil, http.StatusForbidden, "Request refused", "This form did not come from this site, so it was not sent.")
		return
	}
	if err := r.ParseForm(); err != nil {
		h.renderLink(w, r, http.StatusBadRequest, loginLinkData{Error: "The form could not be read. Open the link again."})
		return
	}
	code := strings.TrimSpace(r.PostForm.Get("code"))
	c, err := r.Cookie(loginCookie)
	if err != nil || !equalSecret(r.PostForm.Get("csrf"), c.Value) {
		// The code is not used up: opening the link again shows a fresh form.
		h.renderLink(w, r, http.StatusForbidden, loginLinkData{Error: "The sign-in form had expired. Open the link again."})
		return
	}
	// Guessing codes is limited like guessing tokens: per client address
	// and per code prefix, refunded when the link works.
	budget := []string{addrKey(ip), tokenKey(code)}
	if ok, wait := h.limiter.take(budget...); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		h.log.Warn().Str("ip", ip).Msg("link sign-in rate limited")
		h.renderLink(w, r, http.StatusTooManyRequests, loginLinkData{
			Error: fmt.Sprintf("Too many sign-in attempts. Try again in %s.", humanWait(wait))})
		return
	}
	l, err := h.tokens.RedeemLink(r.Context(), code)
	if errors.Is(err, reptoken.ErrNotFound) || errors.Is(err, reptoken.ErrForbidden) {
		h.log.Info().Str("ip", ip).Bool("revoked", errors.Is(err, reptoken.ErrForbidden)).Msg("link sign-in failed")
		h.renderLink(w, r, http.StatusNotFound, loginLinkData{Error: badLink})
		return
	}
	h.limiter.refund(budget...)
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	h.startSession(w, r, false, l.RepID, l.TokenHash)
}
