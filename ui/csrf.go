package ui

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
)

// loginCookie holds the pre-session CSRF token of the sign-in form
// (double submit: the form must echo the cookie). Without it a hostile
// page could sign a victim into the attacker's queue.
const loginCookie = "lt_ui_login"

// equalSecret compares a submitted token with the expected one in
// constant time; an empty expected token matches nothing.
func equalSecret(got, want string) bool {
	if want == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// sameOrigin tells whether a form submission came from a page of this
// host. Browsers send Origin on every POST; Referer (kept same-origin by
// our Referrer-Policy) stands in when a privacy setting drops Origin. A
// request with neither is refused: the pages are for browsers.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		return sameHost(o, r.Host)
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		return sameHost(ref, r.Host)
	}
	return false
}

func sameHost(raw, host string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

// loginToken returns the sign-in form's CSRF token, setting its cookie
// when the browser has none yet (or a malformed one).
func (h *Handler) loginToken(w http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(loginCookie); err == nil && validSecret(c.Value) {
		return c.Value, nil
	}
	v, err := newSecret()
	if err != nil {
		return "", err
	}
	http.SetCookie(w, &http.Cookie{
		Name: loginCookie, Value: v, Path: "/ui/login", MaxAge: 24 * 3600,
		HttpOnly: true, Secure: h.cfg.SecureCookies, SameSite: http.SameSiteStrictMode,
	})
	return v, nil
}

func (h *Handler) clearLoginToken(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: loginCookie, Value: "", Path: "/ui/login", MaxAge: -1,
		HttpOnly: true, Secure: h.cfg.SecureCookies, SameSite: http.SameSiteStrictMode,
	})
}
