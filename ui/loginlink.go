package ui

import (
	"errors"
	"net/http"
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
	w.Header().Set("Cache-Control", "no-store")
	// A refused confirmation leaves the code unused: opening the link
	// again shows a fresh form. Guessing codes is limited like guessing
	// tokens.
	fail := func(status int, msg string) { h.renderLink(w, r, status, loginLinkData{Error: msg}) }
	p, ok := h.signInPost(w, r, signInForm{
		what: "link sign-in", field: "code", fail: fail,
		reread: "Open the link again.", expired: "Open the link again.",
	})
	if !ok {
		return
	}
	ip, code, budget := p.ip, p.secret, p.budget
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
