package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/jobs"
)

func TestServeEmbeddedAnswersHealthz(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s := startService(t) // no LONGTAIL_REDIS_URL: embedded Redis
	resp, err := s.HTTP.Get(s.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz = %d", resp.StatusCode)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("healthz answered %s after start, want < 10s", d)
	}
	if !strings.Contains(s.Stderr.String(), "NOTHING IS PERSISTED") {
		t.Error("embedded mode did not warn that nothing is persisted")
	}
}

func TestServeRealRedisReadyz(t *testing.T) {
	t.Parallel()
	s := startService(t, "LONGTAIL_REDIS_URL="+redistest.URL(t))
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := s.HTTP.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s = %d", path, resp.StatusCode)
		}
	}
	if strings.Contains(s.Stderr.String(), "NOTHING IS PERSISTED") {
		t.Error("real Redis configured but the embedded warning was printed")
	}
}

func TestServeUnknownConfigKeyFailsStartup(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "longtail.yaml")
	if err := os.WriteFile(path, []byte("http:\n  listen: \":0\"\nscoring:\n  treshold: 40\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"serve", "--config", path}, nil, &syncBuffer{}, &syncBuffer{})
	if err == nil {
		t.Fatal("serve started with an unknown config key")
	}
	for _, want := range []string{path + ":4:3", "scoring.treshold", "unknown key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{}, {"frobnicate"}, {"serve", "--role", "chef"}, {"import", "contacts"}, {"import", "widgets", "x.csv"}} {
		var stderr syncBuffer
		err := run(context.Background(), args, nil, &syncBuffer{}, &stderr)
		if code := exitCode(err, &stderr); code != 2 {
			t.Errorf("run(%q): exit %d (%v), want 2", args, code, err)
		}
	}
}

// Roles split one deployment across processes on the same Redis: the API
// only queues, a worker does the scoring.
func TestRolesSplitAcrossProcesses(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	api := startRole(t, "api", "LONGTAIL_REDIS_URL="+url)
	body := `[{"id":"r1","type":"web.visit","email":"roles@acme.example","occurred_at":"` + time.Now().UTC().Format(time.RFC3339) + `"}]`
	if code := api.do(t, "POST", "/v1/events", "application/json", strings.NewReader(body), nil); code != 200 {
		t.Fatalf("POST /v1/events = %d", code)
	}
	// Queued, and no asynq server anywhere to run it: the api process
	// started none (a worker registers itself as it starts).
	if st, err := api.queueState(t, jobs.QueueIngest); err != nil || st != (queueState{Waiting: 1}) {
		t.Fatalf("ingest queue after the POST = %+v, %v; want one task waiting", st, err)
	}
	if srv, err := api.tasks.Servers(); err != nil || len(srv) != 0 {
		t.Fatalf("asynq servers with only the api running = %d, %v; want none", len(srv), err)
	}
	if code := api.do(t, "GET", "/v1/contacts/roles@acme.example", "", nil, nil); code != http.StatusNotFound {
		t.Fatalf("an api-only process processed the event (GET contact = %d)", code)
	}
	worker := startRole(t, "worker", "LONGTAIL_REDIS_URL="+url)
	worker.waitTasks(t, jobs.QueueIngest, 1)
	var c contactJSON
	if code := api.do(t, "GET", "/v1/contacts/roles@acme.example", "", nil, &c); code != 200 || len(c.Timeline) != 1 {
		t.Fatalf("GET contact = %d, timeline %d, want the event once", code, len(c.Timeline))
	}
	// The worker's is the only asynq server: the api process, up all
	// along, never started one. (A server registers from a goroutine of
	// its own, so the worker's may be a moment behind its first task.)
	var servers []*asynq.ServerInfo
	eventually(t, 10*time.Second, func() error {
		var err error
		if servers, err = api.tasks.Servers(); err != nil || len(servers) == 0 {
			return errorf("no asynq server registered yet (%v)", err)
		}
		return nil
	})
	if len(servers) != 1 {
		t.Errorf("asynq servers with the api and a worker running = %d, want 1", len(servers))
	}
}

func TestOpsQueueMonitorNeedsTheAdminKey(t *testing.T) {
	t.Parallel()
	s := startService(t, "LONGTAIL_REDIS_URL="+redistest.URL(t))
	get := func(user, pass string) int {
		req, _ := http.NewRequest("GET", s.URL+"/ops/queues/api/queues", nil)
		if pass != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := s.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("", ""); code != http.StatusUnauthorized {
		t.Errorf("no credentials: %d", code)
	}
	if code := get("ops", "wrong-key-wrong-key"); code != http.StatusUnauthorized {
		t.Errorf("wrong key: %d", code)
	}
	if code := get("ops", testAPIKey); code != http.StatusOK {
		t.Errorf("admin key: %d", code)
	}
}

// The zero-setup default must be the whole product, not just a process
// that answers /healthz: score, roll up, hand off, on the embedded Redis.
func TestEmbeddedModeRunsThePipeline(t *testing.T) {
	t.Parallel()
	s := startService(t) // no LONGTAIL_REDIS_URL
	for _, put := range [][2]string{
		{"/v1/reps/rep-a", `{"name":"Anne","email":"anne@vendor.example","daily_capacity":5,"active":true}`},
		{"/v1/partners/acme", `{"name":"Acme","owner_rep_id":"rep-a"}`},
		{"/v1/contacts/jane", `{"partner_id":"acme","email":"jane@acme.example"}`},
	} {
		if code := s.do(t, "PUT", put[0], "application/json", strings.NewReader(put[1]), nil); code != 200 {
			t.Fatalf("PUT %s = %d", put[0], code)
		}
	}
	now := time.Now().UTC().Format(time.RFC3339)
	var b strings.Builder
	for i := 0; i < 3; i++ {
		fmt.Fprintf(&b, `{"id":"w%d","type":"webinar.attended","contact_id":"jane","occurred_at":%q,"title":"Webinar %d"}`+"\n", i, now, i)
	}
	fmt.Fprintf(&b, `{"id":"o1","type":"email.open","contact_id":"jane","occurred_at":%q,"message_id":"m1"}`+"\n", now)
	if code := s.do(t, "POST", "/v1/events", "application/x-ndjson", strings.NewReader(b.String()), nil); code != 200 {
		t.Fatalf("POST /v1/events = %d", code)
	}
	eventually(t, 10*time.Second, func() error {
		var p struct{ Score float64 }
		s.do(t, "GET", "/v1/partners/acme", "", nil, &p)
		if p.Score < 30.9 || p.Score > 31.01 {
			return errorf("partner score %.3f, want 31", p.Score)
		}
		var q struct {
			Items []struct {
				PartnerID string `json:"partner_id"`
			}
		}
		s.do(t, "GET", "/v1/reps/rep-a/queue", "", nil, &q)
		if len(q.Items) != 1 || q.Items[0].PartnerID != "acme" {
			return errorf("rep-a's queue: %+v", q.Items)
		}
		return nil
	})
}
