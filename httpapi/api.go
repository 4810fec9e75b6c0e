// Package httpapi is longtail's HTTP surface: the JSON API, the webhook
// edge and health endpoints. It adapts requests to the domain packages and
// holds no business rules of its own.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/program"
	"github.com/longtailhq/longtail/webhook"
)

// Config configures the API.
type Config struct {
	// Keys are the admin bearer API keys.
	Keys []string
	// MaxBodyBytes bounds request bodies; default 10 MiB.
	MaxBodyBytes int64
	// MaxEvents bounds one POST /v1/events; default 5000.
	MaxEvents int
	// MetricsToken, when set, is the bearer token GET /metrics requires.
	// Empty leaves /metrics open.
	MetricsToken string
	// OpsAllowActions lets the ops console change the queues. False (the
	// default) refuses every request to it but GET and HEAD: read-only.
	OpsAllowActions bool
	// PublicURL is how browsers reach this server. Besides the request's
	// own Host, its origin is the one an ops console action may come
	// from. Optional.
	PublicURL string
	// MaxFutureSkew: events dated further than this past the clock are
	// refused, per event, by /v1/events and the webhooks
	// (event.CheckTime); if zero, event.DefaultMaxFutureSkew (24h).
	MaxFutureSkew time.Duration
	// Program is the partner-program configuration (program.* keys) the
	// /v1/program routes and scorecards compute with; zero fields mean
	// program.Config's defaults.
	Program program.Config
}

// Sink durably queues one request's events as one unit of work: the API
// answers 2xx only after Record returned nil (*topic.Edge implements it).
type Sink interface {
	Record(ctx context.Context, events []event.Event) error
}

// Deps are the collaborators the API adapts to. Sink and Ready are
// required; the rest switch routes on when present.
type Deps struct {
	Log   zerolog.Logger
	Clock func() time.Time
	// Ready reports whether storage answers (/readyz).
	Ready func(ctx context.Context) error
	// Sink durably queues accepted events, webhooks' and /v1/events', after
	// assigning their topics (topic.Edge).
	Sink Sink
	// Directory serves the partner, contact and rep routes.
	Directory Directory
	// Scores adds scores, timelines, explanations and the leaderboard.
	Scores Scores
	// Gate answers GET /v1/contacts/{id}/mailable: may nurture mail the
	// contact now, and if not, why.
	Gate interface {
		MayMail(ctx context.Context, contactID string) (nurture.Decision, error)
	}
	// Queue serves the rep call-queue routes; it needs Tokens.
	Queue RepQueue
	// Tokens issues and checks the reps' API tokens.
	Tokens RepTokens
	// Outcomes records the reps' outcomes and what follows them; required
	// with Queue.
	Outcomes Outcomes
	// EnqueueRFM queues an RFM ranking run (POST /v1/scoring/rfm).
	EnqueueRFM func(ctx context.Context) error
	// Flows serves the /v1/flows routes with EnqueueNurture, which queues
	// the first step of an enrolment; both nil when nurture is off.
	Flows          Flows
	EnqueueNurture func(ctx context.Context, next ...nurture.Next) error
	// ReloadFlows, if set with Flows, serves POST /v1/flows/reload: it
	// reloads the flows and templates, or refuses an invalid set (an error
	// wrapping nurture.ErrReloadInvalid) and keeps the old one.
	ReloadFlows func(ctx context.Context) (nurture.Reloaded, error)
	// ContactsCreated, if set, is told of each contact PUT /v1/contacts/{id}
	// creates: nurture's contact.created trigger.
	ContactsCreated func(ctx context.Context, ids ...string) error
	// PartnersChanged, if set, is told of each change PUT /v1/partners/{id}
	// makes: the program recomputes the stage of those whose dates moved.
	PartnersChanged func(ctx context.Context, changes ...directory.PartnerChange) error
	// Providers are the configured webhook providers.
	Providers []webhook.Provider
	// Ops is the task-queue monitor (asynqmon), served under /ops/queues/
	// to holders of the admin key (ops.go); its RootPath must be
	// "/ops/queues", and it should be read-only unless
	// Config.OpsAllowActions.
	Ops http.Handler
	// Mounts adds handlers owned by other packages (tracking, UI).
	Mounts func(mux *http.ServeMux)
	// Registry receives the API's metrics and is served on /metrics.
	Registry *prometheus.Registry
	// Program serves GET /v1/program/... and /v1/partners/{id}/scorecard.
	Program ProgramFacts
	// ProgramActions serves the at-risk let-go and keep actions; nil (nurture
	// sending off) answers them 503.
	ProgramActions ProgramActions
}

// API is the HTTP handler tree.
type API struct {
	cfg       Config
	log       zerolog.Logger
	clock     func() time.Time
	ready     func(ctx context.Context) error
	sink      Sink
	providers map[string]webhook.Provider
	dir       Directory
	scores    Scores
	rfm       func(ctx context.Context) error
	queue     RepQueue
	tokens    RepTokens
	outcomes  Outcomes
	gate      interface {
		MayMail(ctx context.Context, contactID string) (nurture.Decision, error)
	}
	program        ProgramFacts
	programActions ProgramActions
	flows          Flows
	enqueueNurture func(ctx context.Context, next ...nurture.Next) error
	created        func(ctx context.Context, ids ...string) error
	partnerChanges func(ctx context.Context, changes ...directory.PartnerChange) error
	reloadFlows    func(ctx context.Context) (nurture.Reloaded, error)
	keys           keyring
	metrics        *metrics
	mux            *http.ServeMux
}

// New validates cfg and deps and builds the route table.
func New(cfg Config, d Deps) (*API, error) {
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 10 << 20
	}
	if cfg.MaxEvents == 0 {
		cfg.MaxEvents = 5000
	}
	if cfg.MaxFutureSkew == 0 {
		cfg.MaxFutureSkew = event.DefaultMaxFutureSkew
	}
	if cfg.MaxBodyBytes < 0 || cfg.MaxEvents < 0 || cfg.MaxFutureSkew < 0 {
		return nil, errors.New("httpapi: limits must not be negative")
	}
	publicOrigin, err := originOf(cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	if err := cfg.Program.Validate(); err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	if d.Sink == nil || d.Ready == nil {
		return nil, errors.New("httpapi: Sink and Ready are required")
	}
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	a := &API{
		cfg: cfg, log: d.Log, clock: d.Clock, ready: d.Ready, sink: d.Sink,
		providers: map[string]webhook.Provider{}, keys: newKeyring(cfg.Keys),
		metrics: newMetrics(d.Registry), mux: http.NewServeMux(), dir: d.Directory, scores: d.Scores,
		rfm: d.EnqueueRFM, queue: d.Queue, tokens: d.Tokens, outcomes: d.Outcomes, gate: d.Gate,
		program: d.Program, programActions: d.ProgramActions,
		flows: d.Flows, enqueueNurture: d.EnqueueNurture,
		created: d.ContactsCreated, reloadFlows: d.ReloadFlows,
		partnerChanges: d.PartnersChanged,
	}
	if (d.Flows == nil) != (d.EnqueueNurture == nil) {
		return nil, errors.New("httpapi: Flows and EnqueueNurture go together")
	}
	if d.Queue != nil && (d.Directory == nil || d.Tokens == nil || d.Outcomes == nil) {
		return nil, errors.New("httpapi: Queue needs Directory, Tokens and Outcomes")
	}
	if d.Program != nil && d.Directory == nil {
		return nil, errors.New("httpapi: Program needs Directory")
	}
	if d.Scores != nil && d.Directory == nil {
		return nil, errors.New("httpapi: Scores needs Directory")
	}
	for _, p := range d.Providers {
		if _, dup := a.providers[p.Name()]; dup {
			return nil, fmt.Errorf("httpapi: provider %q configured twice", p.Name())
		}
		a.providers[p.Name()] = p
	}
	a.handle("GET /healthz", a.healthz)
	a.handle("GET /readyz", a.readyz)
	a.mux.Handle("GET /metrics", a.metricsAuth(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{})))
	a.handle("POST /webhooks/{provider}", a.webhook)
	a.handle("HEAD /webhooks/{provider}", a.webhook)
	a.handle("POST /v1/events", a.requireAdmin(a.postEvents))
	a.registerDirectory()
	a.registerScores()
	a.registerRepQueue()
	a.registerProgram()
	a.registerFlows()
	if d.Ops != nil {
		console, err := a.opsConsole(d.Ops, publicOrigin)
		if err != nil {
			return nil, err
		}
		a.mux.Handle("/ops/queues/", console)
		a.mux.Handle("GET /ops/queues", http.RedirectHandler("/ops/queues/", http.StatusMovedPermanently))
	}
	if d.Mounts != nil {
		d.Mounts(a.mux)
	}
	return a, nil
}

// handle registers a route with its pattern as the metrics label.
func (a *API) handle(pattern string, h http.HandlerFunc) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h(rw, r)
		a.metrics.requestDuration.WithLabelValues(pattern, strconv.Itoa(rw.status)).Observe(time.Since(start).Seconds())
	})
}

// Handler returns the handler with request ids, access log, panic
// recovery and the headers every response carries around the routes.
func (a *API) Handler() http.Handler {
	var h http.Handler = a.mux
	h = recoverer(h)
	h = nosniff(h)
	h = hlog.AccessHandler(func(r *http.Request, status, size int, d time.Duration) {
		ev := hlog.FromRequest(r).Info()
		if status >= 500 {
			ev = hlog.FromRequest(r).Warn()
		}
		ev.Str("method", r.Method).Str("path", r.URL.Path).Int("status", status).Int("size", size).Dur("duration", d).Msg("request")
	})(h)
	h = hlog.RequestIDHandler("req_id", "X-Request-Id")(h)
	h = hlog.NewHandler(a.log)(h)
	return h
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// nosniff stops browsers from reading a response as another type than it
// says (a JSON error echoing input rendered as HTML, say).
func nosniff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				hlog.FromRequest(r).Error().Interface("panic", v).Msg("handler panicked")
				writeError(w, http.StatusInternalServerError, "internal", "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.ready(ctx); err != nil {
		unavailable(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
