package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/config"
	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/httpapi"
	"github.com/longtailhq/longtail/ingest"
	"github.com/longtailhq/longtail/internal/clientip"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/mailer"
	"github.com/longtailhq/longtail/notify"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/outbox"
	"github.com/longtailhq/longtail/redisconn"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
	"github.com/longtailhq/longtail/tracking"
	"github.com/longtailhq/longtail/ui"
	"github.com/longtailhq/longtail/webhook"
)

// app is the wired service: domain packages on one Redis, with the asynq
// adapters that connect them.
type app struct {
	cfg      *config.Config
	log      zerolog.Logger
	st       *store
	clock    func() time.Time
	tasks    *asynq.Client
	dir      *directory.Store
	engine   *scoring.Engine
	proc     *ingest.Processor
	topics   *ingest.Topics
	queue    *jobs.EventQueue
	registry *prometheus.Registry
	reps     *repqueue.Queue
	renderer *notify.Renderer
	mail     *mailer.Mailer
	// outbox and sink are the embedded SMTP server and what it captured,
	// both nil with smtp.url set.
	outbox *outbox.Store
	sink   *outbox.Server
	hooks  *notify.WebhookSender
	gate   *nurture.Gate
}

func newApp(ctx context.Context, cfg *config.Config, st *store, log zerolog.Logger) (*app, error) {
	clock := time.Now
	dir, err := directory.New(st.rdb, directory.Config{UnassignedPartnerID: cfg.Directory.UnassignedPartner, Clock: clock})
	if err != nil {
		return nil, err
	}
	engine, err := scoring.NewEngine(st.rdb, cfg.Scoring, clock)
	if err != nil {
		return nil, err
	}
	topics, err := ingest.NewTopics(cfg.Topics)
	if err != nil {
		return nil, err
	}
	tasks := asynq.NewClientFromRedisClient(st.rdb)
	proc, err := ingest.NewProcessor(ingest.Config{DropUnknownContacts: cfg.Directory.DropUnknownContacts}, dir, engine, jobs.NewHandoffQueue(tasks))
	if err != nil {
		return nil, err
	}
	reps, err := repqueue.New(st.rdb, dir, engine, cfg.Handoff.Config, clock)
	if err != nil {
		return nil, err
	}
	renderer, err := notify.NewRenderer()
	if err != nil {
		return nil, err
	}
	hooks, err := notify.NewWebhookSender(cfg.Handoff.Webhooks, nil)
	if err != nil {
		return nil, fmt.Errorf("handoff.webhooks: %w", err)
	}
	box, sink, smtpURL, from, err := smtpEndpoint(cfg, st, clock, log)
	if err != nil {
		return nil, err
	}
	mail, err := mailer.New(mailer.Config{URL: smtpURL, From: from, Rate: cfg.SMTP.Rate})
	if err != nil {
		if sink != nil {
			_ = sink.Close()
		}
		return nil, err
	}
	gate, err := nurture.NewGate(dir, engine, reps)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: "longtail"}))
	return &app{
		cfg: cfg, log: log, st: st, clock: clock, tasks: tasks, dir: dir, engine: engine, proc: proc,
		topics: topics, queue: jobs.NewEventQueue(tasks, 5*time.Second), registry: reg,
		reps: reps, renderer: renderer, mail: mail, outbox: box, sink: sink, hooks: hooks, gate: gate,
	}, nil
}

// embeddedFrom is smtp.from on the embedded server when none is set.
const embeddedFrom = "Longtail <noreply@longtail.localhost>"

// smtpEndpoint is where mail goes: smtp.url, or with none the embedded
// SMTP server, started here on loopback, whose captures /ui/outbox shows.
// Every process that may send starts its own; they all capture into the
// one Redis, so the api process shows what a worker sent.
func smtpEndpoint(cfg *config.Config, st *store, clock func() time.Time, log zerolog.Logger) (*outbox.Store, *outbox.Server, string, string, error) {
	if cfg.SMTP.URL != "" {
		return nil, nil, cfg.SMTP.URL, cfg.SMTP.From, nil
	}
	box, err := outbox.NewStore(st.rdb, outbox.StoreConfig{})
	if err != nil {
		return nil, nil, "", "", err
	}
	sink, err := outbox.Start(outbox.ServerConfig{Store: box, Clock: clock, Log: log})
	if err != nil {
		return nil, nil, "", "", err
	}
	from := cfg.SMTP.From
	if from == "" {
		from = embeddedFrom
	}
	log.Warn().Str("smtp_url", sink.URL()).Msg("smtp.url is not set: email goes to the embedded SMTP server and shows at /ui/outbox; nothing is delivered")
	return box, sink, sink.URL(), from, nil
}

func (a *app) Close() {
	_ = a.tasks.Close()
	_ = a.mail.Close()
	if a.sink != nil {
		_ = a.sink.Close()
	}
}

// pageURL is the rep's queue page as people reach it.
func (a *app) pageURL() string {
	base := a.cfg.HTTP.PublicURL
	if base == "" {
		base = "http://localhost" + a.cfg.HTTP.Listen
		if !strings.HasPrefix(a.cfg.HTTP.Listen, ":") {
			base = "http://" + a.cfg.HTTP.Listen
		}
	}
	return strings.TrimRight(base, "/") + "/ui/queue"
}

// afterOutcome is what the API does after an outcome, for outcomes
// recorded on the rep's page: the converted deal reaches scoring and the
// webhooks hear of it. Both are idempotent, so a repeated outcome is safe.
func (a *app) afterOutcome(ctx context.Context, e *repqueue.Entry) error {
	if ev := e.DealEvent(); ev != nil {
		if err := a.queue.Record(ctx, []event.Event{*ev}); err != nil {
			return err
		}
	}
	return a.onOutcome(ctx, e)
}

// onOutcome tells the outbound webhooks about a recorded outcome.
func (a *app) onOutcome(ctx context.Context, e *repqueue.Entry) error {
	at := a.clock()
	if e.ClosedAt != nil {
		at = *e.ClosedAt
	}
	p, err := notify.NewOutcomePayload(notify.Outcome{RepID: e.RepID, PartnerID: e.PartnerID, Outcome: e.Outcome, Note: e.Note, Value: e.Value, At: at})
	if err != nil {
		return err
	}
	return jobs.EnqueueWebhooks(ctx, a.tasks, a.hooks.Len(), p)
}

func (a *app) httpHandler() (http.Handler, error) {
	providers, err := buildProviders(a.cfg.Webhooks, a.st.rdb)
	if err != nil {
		return nil, err
	}
	var mounts []func(*http.ServeMux)
	if a.cfg.Tracking.Secret != "" {
		signer, err := tracking.NewSigner([]byte(a.cfg.Tracking.Secret))
		if err != nil {
			return nil, err
		}
		th, err := tracking.NewHandler(tracking.HandlerConfig{
			Signer: signer, Sink: a.queue, Clock: a.clock, Log: a.log, FallbackURL: a.cfg.Tracking.FallbackURL,
		})
		if err != nil {
			return nil, err
		}
		mounts = append(mounts, th.Register)
	}
	proxies, err := a.cfg.HTTP.TrustedPrefixes()
	if err != nil {
		return nil, err
	}
	uiCfg := ui.Config{
		SessionTTL: a.cfg.UI.SessionTTL, SecureCookies: a.cfg.SecureCookies(), Clock: a.clock,
		ClientIP: clientip.New(proxies).String, AfterOutcome: a.afterOutcome,
		AdminKeys: a.cfg.API.Keys,
	}
	if a.outbox != nil { // a nil *outbox.Store would be a non-nil interface
		uiCfg.Outbox = a.outbox
	}
	page, err := ui.New(uiCfg, a.reps, a.dir, a.st.rdb, a.log)
	if err != nil {
		return nil, err
	}
	mounts = append(mounts, page.Register)
	names := make([]string, len(providers))
	for i, p := range providers {
		names[i] = p.Name()
	}
	a.log.Info().Strs("webhook_providers", names).Bool("tracking", a.cfg.Tracking.Secret != "").Msg("edge configured")
	api, err := httpapi.New(httpapi.Config{
		Keys: a.cfg.API.Keys, MaxBodyBytes: a.cfg.HTTP.MaxBodyBytes, MaxEvents: a.cfg.Ingest.MaxEvents,
		MetricsToken: a.cfg.Metrics.Token, OpsAllowActions: a.cfg.Ops.AllowActions, PublicURL: a.cfg.HTTP.PublicURL,
		MaxFutureSkew: a.cfg.Ingest.MaxFutureSkew,
	}, httpapi.Deps{
		Log: a.log, Clock: a.clock,
		Ready:     func(ctx context.Context) error { return redisconn.Ping(ctx, a.st.rdb, 2*time.Second) },
		Sink:      a.queue,
		Topics:    a.topics,
		Providers: []webhook.Provider(providers),
		Directory: a.dir,
		Scores:    a.engine,
		Queue:     a.reps,
		Gate:      a.gate,
		OnOutcome: a.onOutcome,
		Registry:  a.registry,
		Ops: asynqmon.New(asynqmon.Options{
			RootPath: "/ops/queues", RedisConnOpt: sharedConn{a.st.rdb}, ReadOnly: !a.cfg.Ops.AllowActions,
		}),
		EnqueueRFM: func(ctx context.Context) error {
			return jobs.EnqueueRFM(ctx, a.tasks, a.clock())
		},
		Mounts: func(mux *http.ServeMux) {
			for _, m := range mounts {
				m(mux)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return api.Handler(), nil
}

func (a *app) jobDeps() jobs.Deps {
	return jobs.Deps{
		Events: a.proc, RFM: rfmRunner{a}, Sweeper: a.reps, Log: a.log,
		Handoff: jobs.HandoffDeps{
			Queue: a.reps, Reps: a.dir, Tasks: a.tasks, Webhooks: a.hooks.Len(),
			Notify: a.cfg.Handoff.Notify, PageURL: a.pageURL(), Log: a.log,
		},
		Notify: jobs.NotifyDeps{
			Renderer: a.renderer, Mailer: a.mail, Webhooks: a.hooks, Redis: a.st.rdb, Log: a.log,
			Digest: jobs.DigestDeps{Reps: a.dir, Queue: a.reps, Notify: a.cfg.Handoff.Notify, PageURL: a.pageURL(), Clock: a.clock},
		},
	}
}

// periodic is the schedule the scheduler role registers.
func (a *app) periodic() []jobs.Periodic {
	return []jobs.Periodic{
		{Spec: "CRON_TZ=UTC 15 2 * * *", Task: jobs.NewScoreRFMTask(time.Time{})},
		{Spec: a.cfg.Handoff.SweepSchedule, Task: jobs.NewHandoffSweepTask()},
		{Spec: a.cfg.Handoff.DigestSchedule, Task: jobs.NewNotifyDigestTask()},
	}
}

// sharedConn hands asynqmon the process's one Redis client (whatever its
// topology) instead of a second connection setup.
type sharedConn struct{ c redis.UniversalClient }

func (s sharedConn) MakeRedisClient() any { return s.c }

// rfmRunner ranks every partner in the directory.
type rfmRunner struct{ a *app }

func (r rfmRunner) RunRFM(ctx context.Context) error {
	var ids []string
	for id, err := range r.a.dir.PartnerIDs(ctx) {
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	sum, err := r.a.engine.ComputeRFM(ctx, ids, r.a.clock())
	if err != nil {
		return fmt.Errorf("rfm: %w", err)
	}
	r.a.log.Info().Int("partners", sum.Partners).Interface("segments", sum.Segments).Msg("rfm ranked")
	return nil
}
