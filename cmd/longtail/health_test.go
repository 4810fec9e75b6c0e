package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/internal/redistest"
)

// Worker and scheduler processes answer the orchestrator's probes on
// http.health_listen, and /metrics, and nothing else there.
func TestHealthListenForRolesWithoutTheAPI(t *testing.T) {
	t.Parallel()
	for _, role := range []string{"worker", "scheduler"} {
		t.Run(role, func(t *testing.T) {
			t.Parallel()
			srv := redistest.StartServer(t)
			// The harness finds the address in "health probes listening on".
			s := startRole(t, role, "LONGTAIL_REDIS_URL="+srv.URL(), "LONGTAIL_HTTP_HEALTH_LISTEN=127.0.0.1:0")
			get := func(path string) (int, string) {
				resp, err := s.HTTP.Get(s.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			tests := []struct {
				path string
				code int
				body string
			}{
				{"/healthz", http.StatusOK, `"ok"`},
				{"/readyz", http.StatusOK, `"ready"`},
				{"/v1/events", http.StatusNotFound, `"not_found"`},
				// A worker's counters live in the worker: it serves them.
				{"/metrics", http.StatusOK, `longtail_queue_depth{queue="ingest",state="pending"} 0`},
			}
			for _, tt := range tests {
				if code, body := get(tt.path); code != tt.code || !strings.Contains(body, tt.body) {
					t.Errorf("GET %s = %d %s, want %d with %s", tt.path, code, body, tt.code, tt.body)
				}
			}
			// Redis gone: still alive, no longer ready.
			srv.Stop()
			if code, _ := get("/healthz"); code != http.StatusOK {
				t.Errorf("healthz without Redis = %d, want 200", code)
			}
			if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, `"unavailable"`) {
				t.Errorf("readyz without Redis = %d %s, want 503 unavailable", code, body)
			}
			// The failed pings are counted as Redis errors.
			if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, `longtail_redis_errors_total{op=`) {
				t.Errorf("metrics without Redis = %d, want 200 with longtail_redis_errors_total:\n%s", code, body)
			}
			// Redis back: ready again, without a restart.
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, func() error {
				if code, body := get("/readyz"); code != http.StatusOK {
					return errorf("readyz after Redis came back = %d %s", code, body)
				}
				return nil
			})
		})
	}
}
