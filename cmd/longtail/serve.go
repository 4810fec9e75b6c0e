package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/config"
	"github.com/longtailhq/longtail/jobs"
)

// Roles a serve process can take; "all" is every one in one process.
var roles = map[string]struct{ api, worker, scheduler bool }{
	"all":       {true, true, true},
	"api":       {api: true},
	"worker":    {worker: true},
	"scheduler": {scheduler: true},
}

func runServe(ctx context.Context, now func() time.Time, args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	listen := fs.String("listen", "", "listen address (overrides http.listen)")
	roleName := fs.String("role", "all", "all, api, worker or scheduler")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if _, ok := roles[*roleName]; !ok {
		return fmt.Errorf("%w: --role %q is not all, api, worker or scheduler", errUsage, *roleName)
	}
	cfg, err := loadConfig(*cfgPath, environ)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.HTTP.Listen = *listen
	}
	return serveConfig(ctx, now, cfg, *roleName, stdout, stderr, nil)
}

// readyHook runs once serve is up (listening, worker and scheduler
// started) with the wired app and what serve would print in its
// quick-start block, which it then leaves to the hook to print. Serve
// stops when the hook fails, and on shutdown cancels its context and
// waits for it before stopping anything else. `longtail demo` is one.
type readyHook func(ctx context.Context, a *app, qs quickStart) error

// serveConfig runs serve in role roleName (validated) on cfg; ready, when
// not nil, runs once everything is up.
func serveConfig(ctx context.Context, now func() time.Time, cfg *config.Config, roleName string, stdout, stderr io.Writer, ready readyHook) error {
	role := roles[roleName]
	log := newLogger(cfg.Log, stderr)
	log.Info().Str("version", version()).Str("role", roleName).Msg("longtail starting")
	logEffectiveConfig(log, cfg)

	st, err := openStore(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer st.Close()

	// On the embedded default nobody could have configured a key for
	// this run's private Redis: generate one so the API answers (printed
	// once below, never logged). With a real Redis, api.keys is the
	// operator's to set, shared by every api process.
	qs := quickStart{}
	if st.embedded != nil {
		qs.RedisURL = st.embedded.URL()
		if len(cfg.API.Keys) == 0 && role.api {
			if qs.AdminKey, err = newAdminKey(); err != nil {
				return err
			}
			cfg.API.Keys = []string{qs.AdminKey}
			log.Warn().Msg("api.keys is empty: generated an admin API key for this run (printed on stdout, valid until serve stops)")
		}
		// Nurture emails carry signed unsubscribe and tracked links: with
		// a secret for the run, enrolling a contact puts its email in the
		// outbox with no set-up.
		if cfg.Tracking.Secret == "" {
			if cfg.Tracking.Secret, err = newTrackingSecret(); err != nil {
				return err
			}
			log.Info().Msg("tracking.secret is empty: generated one for this run (links in this run's emails work until serve stops)")
		}
	}

	app, err := newApp(ctx, cfg, st, log, now)
	if err != nil {
		return err
	}
	defer app.Close()

	// SIGHUP reloads the flows and templates without stopping serve.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	hctx, stopHup := context.WithCancel(ctx)
	hdone := make(chan struct{})
	go func() { defer close(hdone); app.watchReload(hctx, hup) }()
	defer func() { signal.Stop(hup); stopHup(); <-hdone }()

	errc := make(chan error, 3)
	var httpSrv *http.Server
	if role.api {
		handler, err := app.httpHandler()
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", cfg.HTTP.Listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", cfg.HTTP.Listen, err)
		}
		httpSrv = &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
			ReadTimeout:       cfg.HTTP.ReadTimeout,
			WriteTimeout:      cfg.HTTP.WriteTimeout,
			IdleTimeout:       cfg.HTTP.IdleTimeout,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          nil,
			BaseContext:       func(net.Listener) context.Context { return ctx },
		}
		log.Info().Str("addr", ln.Addr().String()).Msg("http listening")
		fmt.Fprintf(stdout, "longtail listening on http://%s\n", ln.Addr())
		qs.BaseURL = clientURL(ln.Addr())
		if app.sink != nil {
			fmt.Fprintf(stdout, "longtail outbox at %s/ui/outbox (no smtp.url: email goes to the embedded SMTP server, nothing is delivered)\n", qs.BaseURL)
		}
		go func() {
			if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http: %w", err)
			}
		}()
	}

	// Probes and /metrics for roles without the API (which answers them itself).
	if !role.api && cfg.HTTP.HealthListen != "" {
		health, err := startHealth(ctx, cfg.HTTP.HealthListen, st.rdb, app.registry, cfg.Metrics.Token, log, stdout, errc)
		if err != nil {
			return err
		}
		defer health.Close()
	}

	var worker *asynq.Server
	if role.worker {
		worker = asynq.NewServerFromRedisClient(st.rdb, asynq.Config{
			Concurrency:       cfg.Worker.Concurrency,
			Queues:            jobs.Queues(),
			TaskCheckInterval: cfg.Worker.TaskCheckInterval,
			RetryDelayFunc:    jobs.RetryLostLeaseSoon(jobs.RetryDelay),
			Logger:            jobs.Logger(log),
			LogLevel:          asynq.WarnLevel,
			ShutdownTimeout:   cfg.HTTP.ShutdownTimeout,
			BaseContext:       func() context.Context { return log.WithContext(context.Background()) },
			ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
				retried, _ := asynq.GetRetryCount(ctx)
				maxRetry, _ := asynq.GetMaxRetry(ctx)
				id, _ := asynq.GetTaskID(ctx)
				ev := log.Warn()
				if retried >= maxRetry || errors.Is(err, asynq.SkipRetry) {
					ev = log.Error().Bool("final", true)
				}
				ev.Str("task_type", t.Type()).Str("task_id", id).Int("retried", retried).Err(err).Msg("task failed")
			}),
		})
		mux := asynq.NewServeMux()
		jobs.Register(mux, app.jobDeps())
		if err := worker.Start(mux); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
		log.Info().Int("concurrency", cfg.Worker.Concurrency).Msg("worker started")
		fmt.Fprintln(stdout, "longtail worker started")
	}

	// stopScheduler ends the periodic loop and waits for it.
	var stopScheduler func()
	if role.scheduler {
		sched, err := jobs.NewScheduler(jobs.PeriodicConfig{
			Client: app.tasks, Clock: app.clock, Log: log.With().Str("component", "scheduler").Logger(),
		}, app.periodic())
		if err != nil {
			return err
		}
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = sched.Run(sctx)
		}()
		stopScheduler = func() { cancel(); <-done }
		log.Info().Msg("scheduler started")
		fmt.Fprintln(stdout, "longtail scheduler started")
	}

	stopReady := func() {}
	if ready != nil {
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := ready(rctx, app, qs); err != nil && rctx.Err() == nil {
				errc <- err
			}
		}()
		stopReady = func() { cancel(); <-done }
	} else if qs.RedisURL != "" {
		qs.print(stdout)
	}

	select {
	case <-ctx.Done():
		log.Info().Msg("shutting down")
	case err = <-errc:
		log.Error().Err(err).Msg("server failed; shutting down")
	}
	stopReady()
	shutdown(cfg.HTTP.ShutdownTimeout, log, httpSrv, worker, stopScheduler)
	return err
}

// shutdown stops taking requests first, then lets in-flight tasks finish.
func shutdown(timeout time.Duration, log zerolog.Logger, h *http.Server, w *asynq.Server, stopScheduler func()) {
	if h != nil {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		if err := h.Shutdown(ctx); err != nil {
			log.Warn().Err(err).Msg("http shutdown")
		}
		cancel()
	}
	if stopScheduler != nil {
		stopScheduler()
	}
	if w != nil {
		w.Shutdown()
	}
	log.Info().Msg("stopped")
}
