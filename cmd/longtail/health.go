package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/redisconn"
)

// startHealth serves /healthz and /readyz on addr for a process without
// the API (worker, scheduler), so an orchestrator can probe it as it
// probes an api process: /healthz says the process answers, /readyz that
// Redis does too. It also serves /metrics from reg (behind metricsToken
// when set, as on the API): a worker's counters (events scored, emails
// sent, SMTP latency) exist only in the worker. It answers nothing else.
func startHealth(ctx context.Context, addr string, rdb redis.UniversalClient, reg *prometheus.Registry, metricsToken string, log zerolog.Logger, stdout io.Writer, errc chan<- error) (*http.Server, error) {
	reply := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := redisconn.Ping(r.Context(), rdb, 2*time.Second); err != nil {
			log.Warn().Err(err).Msg("readyz: storage unavailable")
			w.Header().Set("Retry-After", "30")
			reply(w, http.StatusServiceUnavailable, map[string]any{"error": map[string]string{
				"code": "unavailable", "message": "storage is unavailable; retry later"}})
			return
		}
		reply(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	metricsHandler := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		if metricsToken != "" {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(metricsToken)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="longtail metrics"`)
				reply(w, http.StatusUnauthorized, map[string]any{"error": map[string]string{
					"code": "unauthorized", "message": "/metrics needs the metrics token as a bearer token"}})
				return
			}
		}
		metricsHandler.ServeHTTP(w, r)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, http.StatusNotFound, map[string]any{"error": map[string]string{
			"code": "not_found", "message": "this process serves only /healthz, /readyz and /metrics"}})
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http.health_listen %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	log.Info().Str("addr", ln.Addr().String()).Msg("health probes listening")
	fmt.Fprintf(stdout, "longtail health probes listening on http://%s\n", ln.Addr())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("health: %w", err)
		}
	}()
	return srv, nil
}
