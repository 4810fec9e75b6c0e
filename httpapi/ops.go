package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/rs/zerolog/hlog"
)

// The ops console (asynqmon) is a browser app behind HTTP Basic auth. A
// browser re-sends cached Basic credentials with any request to the
// origin, a cross-site one included, so the console cannot rely on the
// credentials alone against forged requests (CSRF): opsConsole refuses a
// state-changing request a browser marks as coming from another site,
// serves the console read-only unless Config.OpsAllowActions, and keeps
// it out of frames.

// opsConsole wraps the console: headers first (on the 401 too), then the
// admin key, then the origin and read-only checks.
func (a *API) opsConsole(ops http.Handler, publicOrigin string) (http.Handler, error) {
	csp, err := opsCSP(ops)
	if err != nil {
		return nil, err
	}
	guarded := a.requireAdminBrowser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !safeMethod(r.Method) {
			if !sameSite(r, publicOrigin) {
				hlog.FromRequest(r).Warn().Str("method", r.Method).Str("path", r.URL.Path).Str("origin", r.Header.Get("Origin")).
					Str("sec_fetch_site", r.Header.Get("Sec-Fetch-Site")).Msg("cross-site ops console request refused")
				writeError(w, http.StatusForbidden, "cross_site", "ops console changes must come from the console's own pages")
				return
			}
			if !a.cfg.OpsAllowActions {
				writeError(w, http.StatusForbidden, "read_only", "the ops console is read-only; set ops.allow_actions: true to change queues from it")
				return
			}
		}
		ops.ServeHTTP(w, r)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		guarded.ServeHTTP(w, r)
	}), nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameSite tells whether a state-changing request may have come from the
// console's own pages. Browsers send Sec-Fetch-Site and Origin on every
// such request; a request with neither is not a browser's, so not a
// forgery a browser was tricked into (a script with the key is let
// through).
func sameSite(r *http.Request, publicOrigin string) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default: // cross-site, same-site (a sibling subdomain is another app)
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false // includes "null": sandboxed frames, opaque origins
	}
	return strings.EqualFold(u.Host, r.Host) || strings.EqualFold(u.Scheme+"://"+u.Host, publicOrigin)
}

// originOf returns scheme://host of a public URL, "" for none.
func originOf(publicURL string) (string, error) {
	if publicURL == "" {
		return "", nil
	}
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("httpapi: PublicURL %q is not an absolute http(s) URL", publicURL)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// inlineScript matches a script element with no attributes: code in the
// page rather than a file.
var inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

// opsCSP is the console's Content-Security-Policy. asynqmon's index page
// carries two inline scripts (its settings and the bundle loader), so they
// are allowed by hash, read from the page the handler renders, rather
// than allowing inline script at all. Its UI library injects style
// elements, and it loads Google's fonts and icons, which the policy
// allows; nothing may frame it.
func opsCSP(ops http.Handler) (string, error) {
	req, err := http.NewRequest(http.MethodGet, "/ops/queues/", nil)
	if err != nil {
		return "", err
	}
	page := &pageRecorder{header: http.Header{}}
	ops.ServeHTTP(page, req)
	if page.status != 0 && page.status != http.StatusOK {
		return "", fmt.Errorf("httpapi: the ops console's page answered %d", page.status)
	}
	scripts := []string{"'self'"}
	for _, m := range inlineScript.FindAllSubmatch(page.body.Bytes(), -1) {
		sum := sha256.Sum256(m[1])
		scripts = append(scripts, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	return "default-src 'self'; script-src " + strings.Join(scripts, " ") + "; " +
		"style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; font-src 'self' https://fonts.gstatic.com; " +
		"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
		"frame-ancestors 'none'", nil
}

// pageRecorder keeps a response in memory.
type pageRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (p *pageRecorder) Header() http.Header         { return p.header }
func (p *pageRecorder) WriteHeader(code int)        { p.status = code }
func (p *pageRecorder) Write(b []byte) (int, error) { return p.body.Write(b) }
