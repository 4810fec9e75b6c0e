// Package ui serves the reps' pages under /ui/: sign-in with a rep token
// and the call queue, where a rep sees who to call and why, claims an
// entry and records the outcome of the call. An admin signs in on the same
// form with an API key (api.keys) and sees /ui/outbox, the mail the
// embedded SMTP server captured.
//
// The pages are server-rendered with html/template and work without
// JavaScript; the only asset is a stylesheet embedded in the binary, so
// the Content-Security-Policy allows nothing but the page's own origin.
//
// Sessions live in Redis (keys.go): the cookie carries a random session
// id, Redis keeps the rep id, the SHA-256 of the sign-in token and the
// session's CSRF token. Every request re-checks that the token has not
// been revoked (through the rep's token list, which names tokens by a
// prefix of that hash), so revoking a token signs its sessions out at
// once. Every POST carries the CSRF token and must come from the same
// host (Origin, else Referer).
package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/outbox"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/reptoken"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// Queue is what the pages use of the call queue (*repqueue.Queue
// implements it).
type Queue interface {
	List(ctx context.Context, repID string) ([]repqueue.Entry, error)
	Scheduled(ctx context.Context, repID string) ([]repqueue.Entry, error)
	Claim(ctx context.Context, repID, partnerID string) (*repqueue.Entry, error)
}

// Outcomes records a rep's outcome and what follows it
// (*outcome.Recorder implements it).
type Outcomes interface {
	Record(ctx context.Context, repID, partnerID string, o repqueue.Outcome) (*repqueue.Entry, error)
}

// Tokens is what the pages use of the reps' API tokens, which are the
// sign-in credentials (*reptoken.Store implements it).
type Tokens interface {
	RepFor(ctx context.Context, token string) (string, error)
	List(ctx context.Context, repID string) ([]reptoken.Info, error)
	// PeekLink and RedeemLink read and use up one-time sign-in links.
	PeekLink(ctx context.Context, code string) (reptoken.Link, error)
	RedeemLink(ctx context.Context, code string) (reptoken.Link, error)
}

// Outbox is what the outbox pages read (*outbox.Store implements it).
type Outbox interface {
	List(ctx context.Context, limit int) ([]outbox.Message, error)
	Get(ctx context.Context, id string) (*outbox.Message, error)
}

// Reps is what the pages read of the directory (*directory.Store
// implements it).
type Reps interface {
	GetRep(ctx context.Context, id string) (directory.Rep, error)
}

// Config configures the rep pages.
type Config struct {
	// SessionTTL is how long a sign-in lasts. It is an absolute lifetime,
	// not renewed by activity, so a stolen cookie is bounded too. If zero,
	// 12h. It must be between one minute and 30 days.
	SessionTTL time.Duration

	// SecureCookies sets Secure on every cookie. Set it whenever the pages
	// are served over HTTPS (production); false suits http://localhost.
	SecureCookies bool

	// Clock is the time source for due dates, overdue marks, callback
	// times and the sign-in rate limit. If nil, time.Now.
	Clock func() time.Time

	// LoginAttempts is how many failed sign-ins one client address (an
	// IPv6 client by its /64) may make in a burst, and how many may be
	// made with one token prefix from anywhere; they come back one every
	// LoginWindow/LoginAttempts. A sign-in that works is not counted, and
	// one address's lock-out never blocks another's. If zero, 10. It must
	// not be negative.
	LoginAttempts int

	// LoginWindow is how long a budget takes to refill from empty. If
	// zero, 10 minutes. It must not be negative.
	LoginWindow time.Duration

	// ClientIP names the client a sign-in attempt is counted against. If
	// nil, the host of the connection's remote address; behind a reverse
	// proxy, set it to read the address the proxy adds (every rep would
	// otherwise share the proxy's budget): cmd/longtail sets it from
	// http.trusted_proxies.
	ClientIP func(*http.Request) string

	// AdminKeys are the API keys (api.keys) that sign in as an admin, who
	// sees the outbox. A session opened with a key ends as soon as the
	// key is no longer in the list. Empty: nobody signs in as an admin.
	AdminKeys []string

	// Outbox is the embedded SMTP server's captured mail, shown to admins
	// at /ui/outbox; nil (smtp.url is set) shows that nothing is
	// captured.
	Outbox Outbox
}

const (
	defaultSessionTTL    = 12 * time.Hour
	defaultLoginAttempts = 10
	defaultLoginWindow   = 10 * time.Minute
)

// Validate reports the first setting that is out of range.
func (c Config) Validate() error {
	if c.SessionTTL != 0 && (c.SessionTTL < time.Minute || c.SessionTTL > 30*24*time.Hour) {
		return fmt.Errorf("ui: SessionTTL %s is outside 1m..720h", c.SessionTTL)
	}
	if c.LoginAttempts < 0 {
		return fmt.Errorf("ui: LoginAttempts %d is negative", c.LoginAttempts)
	}
	if c.LoginWindow < 0 {
		return fmt.Errorf("ui: LoginWindow %s is negative", c.LoginWindow)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.SessionTTL == 0 {
		c.SessionTTL = defaultSessionTTL
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.LoginAttempts == 0 {
		c.LoginAttempts = defaultLoginAttempts
	}
	if c.LoginWindow == 0 {
		c.LoginWindow = defaultLoginWindow
	}
	if c.ClientIP == nil {
		c.ClientIP = remoteIP
	}
	return c
}

//go:embed templates/*.html static/*
var assets embed.FS

// Handler serves the rep pages. It is safe for concurrent use.
type Handler struct {
	cfg      Config
	q        Queue
	outcomes Outcomes
	tokens   Tokens
	reps     Reps
	sessions *sessions
	log      zerolog.Logger
	limiter  *limiter
	pages    map[string]*template.Template
	css      []byte
	cssURL   string
	// adminDigests are the hex SHA-256 of Config.AdminKeys: sessions
	// keep only the digest of what they signed in with.
	adminDigests []string
	// zones memoises time.LoadLocation, which reads the zoneinfo database
	// on every call.
	zones sync.Map // name → *time.Location, nil when unknown
}

// New validates cfg and returns the rep pages' handler. rdb holds the
// sessions (and may be the Redis the queue uses).
func New(cfg Config, q Queue, outcomes Outcomes, tokens Tokens, reps Reps, rdb redis.UniversalClient, log zerolog.Logger) (*Handler, error) {
	if q == nil || outcomes == nil || tokens == nil || reps == nil || rdb == nil {
		return nil, errors.New("ui: nil queue, outcomes, tokens, reps or redis client")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	css, err := fs.ReadFile(assets, "static/ui.css")
	if err != nil {
		return nil, fmt.Errorf("ui: stylesheet: %w", err)
	}
	sum := sha256.Sum256(css)
	admins := make([]string, 0, len(cfg.AdminKeys))
	for _, k := range cfg.AdminKeys {
		if k != "" {
			admins = append(admins, digest(k))
		}
	}
	h := &Handler{
		cfg:      cfg,
		q:        q,
		outcomes: outcomes,
		tokens:   tokens,
		reps:     reps,
		sessions: &sessions{rdb: rdb, ttl: cfg.SessionTTL, clock: cfg.Clock},
		log:      log.With().Str("component", "ui").Logger(),
		limiter:  newLimiter(cfg.LoginAttempts, cfg.LoginWindow, cfg.Clock),
		pages:    pages,
		css:      css,
		// The digest in the URL lets browsers cache the file for good and
		// still pick up a new build's.
		cssURL: "/ui/static/ui.css?v=" + hex.EncodeToString(sum[:6]),
	}
	h.adminDigests = admins
	return h, nil
}

// Register mounts the pages on mux under /ui/ (Go 1.22 patterns). Only
// exact paths are taken, so other pages may live under /ui/ beside them.
func (h *Handler) Register(mux *http.ServeMux) {
	for pattern, fn := range map[string]http.HandlerFunc{
		"GET /ui":                          h.home,
		"GET /ui/{$}":                      h.home,
		"GET /ui/static/ui.css":            h.stylesheet,
		"GET /ui/login":                    h.loginPage,
		"POST /ui/login":                   h.login,
		"GET /ui/login/link":               h.linkPage,
		"POST /ui/login/link":              h.linkLogin,
		"POST /ui/logout":                  h.postAs(roleAny, h.logout),
		"GET /ui/outbox":                   h.require(roleAdmin, h.outboxPage),
		"GET /ui/outbox/{id}":              h.require(roleAdmin, h.outboxMessage),
		"GET /ui/queue":                    h.signedIn(h.queuePage),
		"POST /ui/queue/{partner}/claim":   h.post(h.claim),
		"POST /ui/queue/{partner}/outcome": h.post(h.outcome),
	} {
		mux.Handle(pattern, h.secured(fn))
	}
}

func (h *Handler) now() time.Time { return h.cfg.Clock() }

// secured sets the headers every response of the pages carries.
func (h *Handler) secured(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; "+
			"script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		// same-origin keeps the Referer for our own POSTs (the CSRF
		// origin check may need it) and sends nothing elsewhere.
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/ui/queue", http.StatusSeeOther)
}

func (h *Handler) stylesheet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(h.css)
}

// Page names: one template file each, rendered inside layout.html.
const (
	pageLogin         = "login.html"
	pageQueue         = "queue.html"
	pageError         = "error.html"
	pageOutbox        = "outbox.html"
	pageOutboxMessage = "outbox_message.html"
	pageLoginLink     = "login_link.html"
)

func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, name := range []string{pageLogin, pageLoginLink, pageQueue, pageError, pageOutbox, pageOutboxMessage} {
		t, err := template.New(name).Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("ui: template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

var funcs = template.FuncMap{
	"inc": func(i int) int { return i + 1 },
}

// base is what layout.html shows on every page.
type base struct {
	Title string
	CSS   string
	// Rep is nil when signed out; an admin has an empty one (layout.html
	// names the admin in the page's language).
	Rep *repView
	// Admin is whether the session is an admin's.
	Admin bool
	CSRF  string
	Flash *flash
	// Lang is the page's language ("" is English).
	Lang string
}

type repView struct {
	ID   string
	Name string
}

// render writes the page whole or not at all: a template error midway
// must not leave half a page with a 200.
func (h *Handler) render(w http.ResponseWriter, status int, page string, data any) {
	h.renderWith(w, status, h.pages[page], page, data)
}

// renderWith is render with a template set of another page family.
func (h *Handler) renderWith(w http.ResponseWriter, status int, t *template.Template, page string, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		h.log.Error().Err(err).Str("page", page).Msg("render page")
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type errorData struct {
	base
	Status  int
	Heading string
	Message string
	// Retry, when set, is a form that submits the failed action again.
	Retry *retryForm
}

// retryForm posts Fields (and the session's CSRF token) to Action.
type retryForm struct {
	Action string
	Label  string
	Fields []formField
}

type formField struct{ Name, Value string }

// errorPage shows a full error page; s may be nil.
func (h *Handler) errorPage(w http.ResponseWriter, s *session, status int, heading, msg string) {
	d := errorData{base: h.base(s, heading), Status: status, Heading: heading, Message: msg}
	h.render(w, status, pageError, d)
}

func (h *Handler) base(s *session, title string) base {
	b := base{Title: title, CSS: h.cssURL}
	if s != nil {
		b.Rep = &repView{ID: s.repID, Name: s.rep.Name}
		if s.admin {
			b.Rep = &repView{}
			b.Admin = true
		}
		if b.Rep.Name == "" {
			b.Rep.Name = s.repID
		}
		b.CSRF = s.csrf
	}
	return b
}

// location returns the time zone named name, or nil when it is unknown.
func (h *Handler) location(name string) *time.Location {
	if name == "" {
		return nil
	}
	if v, ok := h.zones.Load(name); ok {
		loc, _ := v.(*time.Location)
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = nil
	}
	h.zones.Store(name, loc)
	return loc
}
