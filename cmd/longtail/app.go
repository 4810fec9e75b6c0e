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

	"github.com/longtailhq/longtail/activity"
	"github.com/longtailhq/longtail/config"
	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/httpapi"
	"github.com/longtailhq/longtail/ingest"
	"github.com/longtailhq/longtail/internal/clientip"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/mailer"
	"github.com/longtailhq/longtail/metrics"
	"github.com/longtailhq/longtail/notify"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/outbox"
	"github.com/longtailhq/longtail/outcome"
	"github.com/longtailhq/longtail/program/letgo"
	programstore "github.com/longtailhq/longtail/program/store"
	"github.com/longtailhq/longtail/redisconn"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/reptoken"
	"github.com/longtailhq/longtail/scoring"
	"github.com/longtailhq/longtail/sendonce"
	"github.com/longtailhq/longtail/topic"
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
	edge     *topic.Edge // every entry point records here: topics assigned, then queued
	registry *prometheus.Registry
	reps     *repqueue.Queue
	tokens   *reptoken.Store
	repMail  *notify.RepNotifier
	mail     *mailer.Mailer
	// outbox and sink are the embedded SMTP server and what it captured,
	// both nil with smtp.url set.
	outbox  *outbox.Store
	sink    *outbox.Server
	hooks   *notify.WebhookSender
	gate    *nurture.Gate
	program *programstore.Store // results log, engaged months, score snapshots; gathers program facts
	nurture *nurture.Engine     // nil: nurture sending is off (see newNurture)
	letgo   *letgo.Service      // the at-risk let-go and keep actions; nil with nurture off
	// metrics feeds the longtail_ series from the domain hooks; nurture
	// counts its emails through metrics.ObserveEmail too.
	metrics *metrics.Metrics
	// act is the ops pages' series (events per minute, topics and emails
	// per day), written by every process into Redis.
	act *activity.Store
}

// newApp wires the service on clock (time.Now outside tests).
func newApp(ctx context.Context, cfg *config.Config, st *store, log zerolog.Logger, clock func() time.Time) (*app, error) {
	dir, err := directory.New(st.rdb, directory.Config{UnassignedPartnerID: cfg.Directory.UnassignedPartner, Clock: clock})
	if err != nil {
		return nil, err
	}
	engine, err := scoring.NewEngine(st.rdb, cfg.Scoring, clock)
	if err != nil {
		return nil, err
	}
	rules, err := topic.NewRules(cfg.Topics)
	if err != nil {
		return nil, err
	}
	tasks := asynq.NewClientFromRedisClient(st.rdb)
	edge, err := topic.NewEdge(rules, jobs.NewEventQueue(tasks, 5*time.Second))
	if err != nil {
		return nil, err
	}
	reg, met, err := newRegistry(st.rdb, log)
	if err != nil {
		return nil, err
	}
	act, err := newActivity(st, clock, log)
	if err != nil {
		return nil, err
	}
	proc, err := ingest.NewProcessor(ingest.Config{DropUnknownContacts: cfg.Directory.DropUnknownContacts, Observer: met, Activity: act}, dir, engine)
	if err != nil {
		return nil, err
	}
	reps, err := repqueue.New(st.rdb, dir, engine, cfg.Handoff.Config, clock)
	if err != nil {
		return nil, err
	}
	reps.Observe(met)
	tokens, err := reptoken.New(st.rdb, dir, clock)
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
	mail, err := mailer.New(mailer.Config{URL: smtpURL, From: from, Rate: cfg.SMTP.Rate, Observer: met})
	if err != nil {
		if sink != nil {
			_ = sink.Close()
		}
		return nil, err
	}
	// There is always a mailer: smtp.url's server, or the embedded one.
	once, err := sendonce.New(st.rdb, sendonce.Config{Clock: clock})
	if err != nil {
		return nil, err
	}
	repDeps := notify.RepDeps{Renderer: renderer, Reps: dir, Queue: reps, Log: log, Mailer: mail, Once: once, Observer: emailObservers{met, act}}
	repMail, err := notify.NewRepNotifier(notify.RepConfig{Mode: cfg.Handoff.Notify, PageURL: pageURL(cfg), Clock: clock}, repDeps)
	if err != nil {
		return nil, err
	}
	prog, err := programstore.New(st.rdb, programstore.Deps{Directory: dir, Scores: engine, Outcomes: reps, Clock: clock})
	if err != nil {
		return nil, err
	}
	// Scoring's suppressions, then the program's: a partner let go.
	supp, err := nurture.WithExits(engine, prog)
	if err != nil {
		return nil, err
	}
	gate, err := nurture.NewGate(dir, supp, reps)
	if err != nil {
		return nil, err
	}
	a := &app{
		cfg: cfg, log: log, st: st, clock: clock, tasks: tasks, dir: dir, engine: engine, proc: proc,
		edge: edge, registry: reg,
		reps: reps, tokens: tokens, repMail: repMail, mail: mail, outbox: box, sink: sink, hooks: hooks, gate: gate,
		program: prog, metrics: met, act: act,
	}
	if a.nurture, err = a.newNurture(mail, once, from, log); err != nil {
		return nil, err
	}
	if a.letgo, err = a.newLetGo(); err != nil {
		return nil, err
	}
	return a, nil
}

// newRegistry is the process's Prometheus registry: Go and process
// figures, the domain counters (package metrics), the asynq queues and
// the Redis errors of the shared client rdb.
func newRegistry(rdb redis.UniversalClient, log zerolog.Logger) (*prometheus.Registry, *metrics.Metrics, error) {
	reg := prometheus.NewRegistry()
	// Every series is longtail_: the Go runtime's too (longtail_go_...).
	prometheus.WrapRegistererWithPrefix("longtail_", reg).MustRegister(collectors.NewGoCollector())
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: "longtail"}))
	queues := make([]string, 0, len(jobs.Queues()))
	for q := range jobs.Queues() {
		queues = append(queues, q)
	}
	qc, err := metrics.NewQueueCollector(metrics.QueueConfig{
		Inspector: asynq.NewInspectorFromRedisClient(rdb), Queues: queues, Log: log,
	})
	if err != nil {
		return nil, nil, err
	}
	reg.MustRegister(qc)
	rdb.AddHook(metrics.NewRedisHook(reg))
	return reg, metrics.New(reg), nil
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
func pageURL(cfg *config.Config) string {
	base := cfg.HTTP.PublicURL
	if base == "" {
		base = "http://localhost" + cfg.HTTP.Listen
		if !strings.HasPrefix(cfg.HTTP.Listen, ":") {
			base = "http://" + cfg.HTTP.Listen
		}
	}
	return strings.TrimRight(base, "/") + "/ui/queue"
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
		// /u/{token}: consent withdrawn in the directory at once, the
		// email.unsubscribe event through the same queue as opens and clicks.
		optout, err := nurture.NewOptout(a.dir)
		if err != nil {
			return nil, err
		}
		th, err := tracking.NewHandler(tracking.HandlerConfig{
			Signer: signer, Sink: a.edge, Clock: a.clock, Log: a.log, FallbackURL: a.cfg.Tracking.FallbackURL,
			Unsubscriber: optout,
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
	outcomes, err := outcome.New(outcome.Deps{
		Queue: a.reps, Events: a.edge, Webhooks: jobs.NewWebhookQueue(a.tasks, a.hooks.Len()), Clock: a.clock,
		Nurture: jobs.NewNurtureTriggerQueue(a.tasks),
	})
	if err != nil {
		return nil, err
	}
	uiCfg := ui.Config{
		SessionTTL: a.cfg.UI.SessionTTL, SecureCookies: a.cfg.SecureCookies(), Clock: a.clock,
		ClientIP: clientip.New(proxies).String, AdminKeys: a.cfg.API.Keys,
	}
	if a.outbox != nil { // a nil *outbox.Store would be a non-nil interface
		uiCfg.Outbox = a.outbox
	}
	page, err := ui.New(uiCfg, a.reps, outcomes, a.tokens, a.dir, a.st.rdb, a.log)
	if err != nil {
		return nil, err
	}
	mounts = append(mounts, page.Register)
	review, err := ui.NewProgramPages(page, a.program, a.dir, a.cfg.Program)
	if err != nil {
		return nil, err
	}
	mounts = append(mounts, review.Register)
	ops, err := a.opsPages(page, review)
	if err != nil {
		return nil, err
	}
	mounts = append(mounts, ops.Register)
	names := make([]string, len(providers))
	for i, p := range providers {
		names[i] = p.Name()
	}
	a.log.Info().Strs("webhook_providers", names).Bool("tracking", a.cfg.Tracking.Secret != "").Msg("edge configured")
	api, err := httpapi.New(httpapi.Config{
		Keys: a.cfg.API.Keys, MaxBodyBytes: a.cfg.HTTP.MaxBodyBytes, MaxEvents: a.cfg.Ingest.MaxEvents,
		MetricsToken: a.cfg.Metrics.Token, OpsAllowActions: a.cfg.Ops.AllowActions, PublicURL: a.cfg.HTTP.PublicURL,
		MaxFutureSkew: a.cfg.Ingest.MaxFutureSkew,
		Program:       a.cfg.Program,
	}, httpapi.Deps{
		Log: a.log, Clock: a.clock,
		Ready:     func(ctx context.Context) error { return redisconn.Ping(ctx, a.st.rdb, 2*time.Second) },
		Sink:      a.edge,
		Providers: []webhook.Provider(providers),
		Directory: a.dir,
		Program:   a.program,
		Scores:    a.engine,
		Queue:     a.reps,
		Tokens:    a.tokens,
		Gate:      a.gate,
		Outcomes:  outcomes,
		Registry:  a.registry,
		Ops: asynqmon.New(asynqmon.Options{
			RootPath: "/ops/queues", RedisConnOpt: sharedConn{a.st.rdb}, ReadOnly: !a.cfg.Ops.AllowActions,
		}),
		EnqueueRFM: func(ctx context.Context) error {
			return jobs.EnqueueRFM(ctx, a.tasks, a.clock())
		},
		Flows:          a.httpFlows(),
		EnqueueNurture: a.enqueueNurture(),
		ReloadFlows:    a.httpReloadFlows(),
		ContactsCreated: func(ctx context.Context, ids ...string) error {
			return jobs.NewNurtureTriggerQueue(a.tasks).ContactsCreated(ctx, ids...)
		},
		PartnersChanged: jobs.NewProgramStageQueue(a.tasks).PartnersChanged,
		// The at-risk let go and keep (nil with nurture sending off).
		ProgramActions: a.programActions(),
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
		Events: a.proc, RFM: rfmRunner{a}, Sweeper: a.reps, Tasks: a.tasks, Log: a.log,
		Program: jobs.ProgramDeps{Recorder: a.program, Snapshots: a.program, Stages: a.program, Config: a.cfg.Program, Clock: a.clock, Log: a.log},
		Handoff: jobs.HandoffDeps{
			Queue: a.reps, Messages: a.repMail, Webhooks: a.hooks.Len(), Log: a.log,
		},
		Notify:  jobs.NotifyDeps{Reps: a.repMail, Webhooks: a.hooks, Log: a.log},
		Nurture: a.nurtureJobs(),

		Maintenance: a.maintenanceDeps(),
	}
}

// nurtureJobs is the engine for jobs.Deps, a nil interface when it is off.
func (a *app) nurtureJobs() jobs.Nurture {
	if a.nurture == nil {
		return nil
	}
	return a.nurture
}

// periodic is the schedule the scheduler role runs. Names are part of
// each tick's TaskID: never rename one casually.
func (a *app) periodic() []jobs.Periodic {
	return []jobs.Periodic{
		{Name: "rfm", Key: "schedules.rfm", Spec: a.cfg.Schedules.RFM, Task: jobs.NewScheduledScoreRFMTask()},
		{Name: "handoff-sweep", Key: "handoff.sweep_schedule", Spec: a.cfg.Handoff.SweepSchedule, Task: jobs.NewScheduledHandoffSweepTask()},
		{Name: "notify-digest", Key: "handoff.digest_schedule", Spec: a.cfg.Handoff.DigestSchedule, Task: jobs.NewScheduledNotifyDigestTask()},
		{Name: "program-snapshot", Key: "schedules.program_snapshot", Spec: a.cfg.Schedules.ProgramSnapshot, Task: jobs.NewScheduledProgramSnapshotTask()},
		{Name: "program-stages", Key: "schedules.program_snapshot", Spec: a.cfg.Schedules.ProgramSnapshot, Task: jobs.NewScheduledProgramStagesTask()},
		{Name: "retention", Key: "schedules.retention", Spec: a.cfg.Schedules.Retention, Task: jobs.NewScheduledRetentionTask()},
		{Name: "enrollment-cleanup", Key: "schedules.enrollment_cleanup", Spec: a.cfg.Schedules.EnrollmentCleanup, Task: jobs.NewScheduledNurtureCleanupTask()},
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
	now := r.a.clock()
	sum, err := r.a.engine.ComputeRFM(ctx, ids, now)
	if err != nil {
		return fmt.Errorf("rfm: %w", err)
	}
	r.a.log.Info().Int("partners", sum.Partners).Interface("segments", sum.Segments).Int("entered", len(sum.Entered)).Msg("rfm ranked")
	// The partners that entered a segment fire nurture's {segment: X}
	// trigger. A run that dies between ranking and queueing loses these
	// (its retry sees the segments unchanged).
	q := jobs.NewNurtureTriggerQueue(r.a.tasks)
	for _, en := range sum.Entered {
		if err := q.SegmentEntered(ctx, en.PartnerID, en.Segment, now); err != nil {
			return err
		}
	}
	return nil
}
