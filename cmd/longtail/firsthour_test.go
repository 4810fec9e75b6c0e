package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/internal/redistest"
)

// exampleService runs serve on a Redis of its own with the examples/
// data set imported and its events posted, and waits (polling the queue,
// bounded) until Acme is in rep-anne's queue. It returns the service and
// the environment that reaches its Redis.
func exampleService(t *testing.T) (*service, []string) {
	t.Helper()
	env := []string{"LONGTAIL_REDIS_URL=" + redistest.URL(t)}
	s := startService(t, env...)
	for _, kind := range []string{"reps", "partners", "contacts"} {
		var stdout, stderr syncBuffer
		if err := run(context.Background(), []string{"import", kind, filepath.Join(examplesDir, kind+".csv"), "--quiet"}, env, &stdout, &stderr); err != nil {
			t.Fatalf("import %s: %v\n%s", kind, err, stderr.String())
		}
	}
	events, err := os.ReadFile(filepath.Join(examplesDir, "events.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	if code := s.do(t, "POST", "/v1/events", "application/x-ndjson", strings.NewReader(string(events)), nil); code != 200 {
		t.Fatalf("POST /v1/events = %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var q queueJSON
		s.do(t, "GET", "/v1/reps/rep-anne/queue", "", nil, &q)
		if len(q.Items) == 1 && q.Items[0].PartnerID == "acme-it" {
			return s, env
		}
		select {
		case <-ctx.Done():
			t.Fatalf("acme-it not in rep-anne's queue after 20s: %+v", q)
		case <-tick.C:
		}
	}
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// An outcome before the claim conflicts with the entry's state: 409 with
// a message that says to claim first, as does an outcome on a closed
// entry. Neither changes the entry.
func TestOutcomeBeforeClaimIs409(t *testing.T) {
	t.Parallel()
	s, _ := exampleService(t)
	const base = "/v1/reps/rep-anne/queue/acme-it"
	steps := []struct {
		name    string
		path    string
		body    string
		status  int
		code    string
		message string
		state   string
	}{
		{"outcome before claim", "/outcome", `{"outcome":"not_now"}`, 409, "wrong_state", "claim it before recording an outcome", "queued"},
		{"bad outcome is still 400", "/outcome", `{"outcome":"maybe"}`, 400, "invalid", "not one of", "queued"},
		{"claim", "/claim", ``, 200, "", "", "claimed"},
		{"outcome", "/outcome", `{"outcome":"not_a_fit","note":"no storage practice"}`, 200, "", "", "closed"},
		{"another outcome once closed", "/outcome", `{"outcome":"not_now"}`, 409, "wrong_state", "already closed", "closed"},
		{"claim once closed", "/claim", ``, 409, "wrong_state", "is closed", "closed"},
	}
	for _, st := range steps {
		var e apiError
		if code := doAs(t, s, testAPIKey, "POST", base+st.path, st.body, &e); code != st.status {
			t.Fatalf("%s: %d %+v, want %d", st.name, code, e, st.status)
		}
		if e.Error.Code != st.code || !strings.Contains(e.Error.Message, st.message) {
			t.Errorf("%s: error %+v, want code %q and a message with %q", st.name, e.Error, st.code, st.message)
		}
		var h struct {
			Entry struct {
				State string `json:"state"`
			} `json:"entry"`
		}
		if code := doAs(t, s, testAPIKey, "GET", "/v1/partners/acme-it/handoff", "", &h); code != 200 || h.Entry.State != st.state {
			t.Errorf("%s: entry state %q (%d), want %q", st.name, h.Entry.State, code, st.state)
		}
	}
}

// A rep token is a real credential, just not an admin's: admin routes
// answer 403 "admin key required", not 401 "invalid API key", while an
// unknown token is still 401.
func TestRepTokenOnAdminRouteIs403(t *testing.T) {
	t.Parallel()
	s, env := exampleService(t)
	var stdout, stderr syncBuffer
	if err := run(context.Background(), []string{"reps", "token", "rep-anne"}, env, &stdout, &stderr); err != nil {
		t.Fatalf("reps token: %v\n%s", err, stderr.String())
	}
	repTok := strings.TrimSpace(stdout.String())
	for _, tc := range []struct {
		name, token, method, path string
		status                    int
		message                   string
	}{
		{"rep token, leaderboard", repTok, "GET", "/v1/leaderboard", 403, "admin key required"},
		{"rep token, issue a token", repTok, "POST", "/v1/reps/rep-anne/tokens", 403, "admin key required"},
		{"rep token, events", repTok, "POST", "/v1/events", 403, "admin key required"},
		{"rep token, own queue", repTok, "GET", "/v1/reps/rep-anne/queue", 200, ""},
		{"unknown token, leaderboard", "lt_not_a_token_at_all_0000", "GET", "/v1/leaderboard", 401, "invalid API key"},
	} {
		var e apiError
		raw := json.RawMessage{}
		code := doAs(t, s, tc.token, tc.method, tc.path, "", &raw)
		_ = json.Unmarshal(raw, &e)
		if code != tc.status || !strings.Contains(e.Error.Message, tc.message) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, code, e.Error.Message, tc.status, tc.message)
		}
	}
}
