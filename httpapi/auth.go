package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// keyring holds admin API keys as SHA-256 digests so a comparison takes
// the same time whatever the key's length or content.
type keyring [][32]byte

func newKeyring(keys []string) keyring {
	k := make(keyring, 0, len(keys))
	for _, s := range keys {
		k = append(k, sha256.Sum256([]byte(s)))
	}
	return k
}

func (k keyring) match(token string) bool {
	d := sha256.Sum256([]byte(token))
	ok := 0
	for _, h := range k {
		ok |= subtle.ConstantTimeCompare(d[:], h[:])
	}
	return ok == 1
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// requireAdminBrowser guards pages a person opens in a browser (the ops
// queue monitor): the admin key as a bearer token, or as the password of
// HTTP Basic auth so the browser can prompt for it.
func (a *API) requireAdminBrowser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		if !ok {
			_, tok, ok = r.BasicAuth()
		}
		if !ok || !a.keys.match(tok) {
			w.Header().Set("WWW-Authenticate", `Basic realm="longtail ops", charset="UTF-8"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "the ops pages need the admin API key (as the Basic auth password)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireAdmin lets through requests carrying an admin API key.
func (a *API) requireAdmin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="longtail"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "missing bearer API key")
			return
		}
		if !a.keys.match(tok) {
			if a.isRepToken(r, tok) {
				// Authenticated, but not allowed: 403, so a rep's tool
				// does not go asking for a new token that would not help.
				writeError(w, http.StatusForbidden, "forbidden", "admin key required: a rep token reaches only its own rep's queue (/v1/reps/{id}/queue)")
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="longtail", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "invalid API key")
			return
		}
		next(w, r)
	}
}

// isRepToken reports whether tok is a live rep token. A lookup that fails
// for another reason counts as no: the answer is then the 401 it always
// was, never a 403 that would claim the token is valid.
func (a *API) isRepToken(r *http.Request, tok string) bool {
	if a.tokens == nil {
		return false
	}
	_, err := a.tokens.RepFor(r.Context(), tok)
	return err == nil
}
