package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/httpapi"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/outcome"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/reptoken"
	"github.com/longtailhq/longtail/scoring"
	"github.com/longtailhq/longtail/topic"
	"github.com/longtailhq/longtail/webhook"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// topicEdge puts the topic rules in front of next, as cmd wires the edge.
func topicEdge(t testing.TB, next topic.Sink) *topic.Edge {
	t.Helper()
	e, err := topic.NewEdge(nil, next)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const adminKey = "admin-key-for-tests-000"

type fixture struct {
	srv    *httptest.Server
	rdb    *redis.Client
	dir    *directory.Store
	engine *scoring.Engine
	queue  *repqueue.Queue
	ins    *asynq.Inspector
}

func setup(t *testing.T, providers ...webhook.Provider) *fixture {
	t.Helper()
	rdb := redistest.New(t)
	return setupOn(t, rdb, rdb, providers...)
}

// setupOn keeps state on rdb and queues tasks on tasks, which a test may
// stop to see what the API does when the task queue is away.
func setupOn(t *testing.T, rdb, tasks *redis.Client, providers ...webhook.Provider) *fixture {
	t.Helper()
	dir, err := directory.New(rdb, directory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := scoring.NewEngine(rdb, scoring.Config{}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClientFromRedisClient(tasks)
	t.Cleanup(func() { client.Close() })
	queue, err := repqueue.New(rdb, dir, engine, repqueue.Config{}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := reptoken.New(rdb, dir, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	sink := topicEdge(t, jobs.NewEventQueue(client, time.Second))
	outcomes, err := outcome.New(outcome.Deps{Queue: queue, Events: sink, Webhooks: jobs.NewWebhookQueue(client, 1)})
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Keys: []string{adminKey}, MaxBodyBytes: 64 << 10, MaxEvents: 3}, httpapi.Deps{
		Queue:     queue,
		Tokens:    tokens,
		Outcomes:  outcomes,
		Ready:     func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		Sink:      sink,
		Directory: dir,
		Scores:    engine,
		Providers: providers,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, rdb: rdb, dir: dir, engine: engine, queue: queue, ins: asynq.NewInspectorFromRedisClient(tasks)}
}

type response struct {
	status int
	body   []byte
	header http.Header
}

func (f *fixture) call(t *testing.T, method, path, key, contentType, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, b, resp.Header}
}

func errorCode(t *testing.T, r response) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("status %d body %s is not a JSON error", r.status, r.body)
	}
	return e.Error.Code
}

func TestDirectoryRoutes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const js = "application/json"
	tests := []struct {
		name, method, path, key, ctype, body string
		status                               int
		code                                 string // error code, or "" for success
		contains                             string
	}{
		{"no key", "GET", "/v1/partners/p1", "", "", "", 401, "unauthorized", ""},
		{"wrong key", "GET", "/v1/partners/p1", "nope-nope-nope-nope", "", "", 401, "unauthorized", ""},
		{"missing partner", "GET", "/v1/partners/p1", adminKey, "", "", 404, "not_found", ""},
		{"put partner", "PUT", "/v1/partners/p1", adminKey, js, `{"name":"Acme","type":"msp","tier":"silver","timezone":"Europe/Paris"}`, 200, "", `"type":"MSP"`},
		{"put partner again is idempotent", "PUT", "/v1/partners/p1", adminKey, js, `{"name":"Acme","type":"MSP","tier":"silver","timezone":"Europe/Paris"}`, 200, "", `"id":"p1"`},
		{"get partner", "GET", "/v1/partners/p1", adminKey, "", "", 200, "", `"name":"Acme"`},
		{"wrong media type", "PUT", "/v1/partners/p2", adminKey, "text/plain", `{}`, 415, "unsupported_media_type", ""},
		{"bad json", "PUT", "/v1/partners/p2", adminKey, js, `{"name":`, 400, "bad_json", ""},
		{"unknown field", "PUT", "/v1/partners/p2", adminKey, js, `{"nmae":"x"}`, 400, "bad_json", "nmae"},
		{"id mismatch", "PUT", "/v1/partners/p2", adminKey, js, `{"id":"p3"}`, 400, "invalid", ""},
		{"bad time zone", "PUT", "/v1/partners/p2", adminKey, js, `{"name":"B","timezone":"Mars/Base"}`, 400, "invalid", "timezone"},
		{"program dates", "PUT", "/v1/partners/p3", adminKey, js, `{"name":"C","joined_at":"2025-03-01","left_at":"2026-01-31T10:00:00+01:00"}`, 200, "", `"joined_at":"2025-03-01","left_at":"2026-01-31T09:00:00Z"`},
		{"program dates read back", "GET", "/v1/partners/p3", adminKey, "", "", 200, "", `"joined_at":"2025-03-01","left_at":"2026-01-31T09:00:00Z"`},
		{"bad joined_at", "PUT", "/v1/partners/p2", adminKey, js, `{"name":"B","joined_at":"March 2025"}`, 400, "invalid", "joined_at"},
		{"left before joining", "PUT", "/v1/partners/p2", adminKey, js, `{"name":"B","joined_at":"2025-03-01","left_at":"2024-03-01"}`, 400, "invalid", "left_at"},
		{"origin on an open", "POST", "/v1/events", adminKey, js, `[{"id":"o1","type":"email.open","email":"a@b.example","occurred_at":"2026-01-01T00:00:00Z","origin":"partner"}]`, 422, "", "origin: only deal.registered"},
		{"too large", "PUT", "/v1/partners/p2", adminKey, js, `{"name":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "too_large", ""},
		{"contact of unknown partner", "PUT", "/v1/contacts/c1", adminKey, js, `{"partner_id":"nope","email":"a@b.example"}`, 404, "not_found", "nope"},
		{"put contact", "PUT", "/v1/contacts/c1", adminKey, js, `{"partner_id":"p1","email":" Jane@Acme.Example ","persona":"technical","locale":"fr"}`, 200, "", `"email":"jane@acme.example"`},
		{"email taken", "PUT", "/v1/contacts/c2", adminKey, js, `{"partner_id":"p1","email":"jane@acme.example"}`, 409, "conflict", ""},
		{"get contact by email, any case", "GET", "/v1/contacts/JANE@acme.example", adminKey, "", "", 200, "", `"id":"c1"`},
		{"contact has score fields", "GET", "/v1/contacts/c1", adminKey, "", "", 200, "", `"timeline":[]`},
		{"put rep", "PUT", "/v1/reps/r1", adminKey, js, `{"name":"Rita","email":"rita@vendor.example","daily_capacity":8,"active":true}`, 200, "", `"daily_capacity":8`},
		{"get rep", "GET", "/v1/reps/r1", adminKey, "", "", 200, "", `"name":"Rita"`},
		{"missing rep", "GET", "/v1/reps/r9", adminKey, "", "", 404, "not_found", ""},
		{"partner view has score", "GET", "/v1/partners/p1", adminKey, "", "", 200, "", `"score":0`},
		{"leaderboard", "GET", "/v1/leaderboard?limit=5", adminKey, "", "", 200, "", `"items":[]`},
		{"leaderboard bad limit", "GET", "/v1/leaderboard?limit=zero", adminKey, "", "", 400, "invalid", ""},
		{"explain", "GET", "/v1/partners/p1/score", adminKey, "", "", 200, "", `"partner_id":"p1"`},
	}
	for _, tc := range tests { // sequential: later rows build on earlier ones
		r := f.call(t, tc.method, tc.path, tc.key, tc.ctype, tc.body)
		if r.status != tc.status {
			t.Errorf("%s: status %d, want %d; body %s", tc.name, r.status, tc.status, r.body)
			continue
		}
		if tc.code != "" {
			if got := errorCode(t, r); got != tc.code {
				t.Errorf("%s: error code %q, want %q", tc.name, got, tc.code)
			}
		}
		if tc.contains != "" && !bytes.Contains(r.body, []byte(tc.contains)) {
			t.Errorf("%s: body %s does not contain %s", tc.name, r.body, tc.contains)
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		if r := f.call(t, "GET", path, "", "", ""); r.status != 200 {
			t.Errorf("%s = %d", path, r.status)
		}
	}
	r := f.call(t, "GET", "/healthz", "", "", "")
	if r.header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id on responses")
	}
	if r := f.call(t, "GET", "/metrics", "", "", ""); r.status != 200 || !bytes.Contains(r.body, []byte("longtail_http_request_duration_seconds")) {
		t.Errorf("/metrics = %d without longtail_ series", r.status)
	}
}

func TestRepTokens(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const js = "application/json"
	if r := f.call(t, "POST", "/v1/reps/nobody/tokens", adminKey, "", ""); r.status != 404 {
		t.Errorf("token for an unknown rep: %d", r.status)
	}
	if r := f.call(t, "PUT", "/v1/reps/r1", adminKey, js, `{"name":"Rita","email":"rita@vendor.example","daily_capacity":3,"active":true}`); r.status != 200 {
		t.Fatalf("put rep: %d %s", r.status, r.body)
	}
	if r := f.call(t, "POST", "/v1/reps/r1/tokens", "", "", ""); r.status != 401 {
		t.Errorf("issuing without the admin key: %d", r.status)
	}
	r := f.call(t, "POST", "/v1/reps/r1/tokens", adminKey, "", "")
	var tok struct{ Token string }
	if err := json.Unmarshal(r.body, &tok); r.status != 201 || err != nil || !strings.HasPrefix(tok.Token, "ltr_") {
		t.Fatalf("issue: %d %s", r.status, r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Error("a fresh token may be cached")
	}
	if r := f.call(t, "GET", "/v1/reps/r1/queue", tok.Token, "", ""); r.status != 200 || !bytes.Contains(r.body, []byte(`"items":[]`)) {
		t.Errorf("own queue with the token: %d %s", r.status, r.body)
	}
	if r := f.call(t, "GET", "/v1/reps/r2/queue", tok.Token, "", ""); r.status != 403 || errorCode(t, r) != "forbidden" {
		t.Errorf("another rep's queue: %d %s", r.status, r.body)
	}
	if r := f.call(t, "POST", "/v1/reps/r1/tokens", tok.Token, "", ""); r.status != 403 || errorCode(t, r) != "forbidden" {
		t.Errorf("a rep token issuing tokens: %d", r.status)
	}
	var list struct {
		Items []struct{ ID string }
	}
	lr := f.call(t, "GET", "/v1/reps/r1/tokens", adminKey, "", "")
	if err := json.Unmarshal(lr.body, &list); err != nil || len(list.Items) != 1 || bytes.Contains(lr.body, []byte(tok.Token)) {
		t.Fatalf("list: %s", lr.body)
	}
	if r := f.call(t, "DELETE", "/v1/reps/r1/tokens/"+list.Items[0].ID, adminKey, "", ""); r.status != 204 {
		t.Errorf("revoke: %d %s", r.status, r.body)
	}
	if r := f.call(t, "GET", "/v1/reps/r1/queue", tok.Token, "", ""); r.status != 401 {
		t.Errorf("revoked token: %d", r.status)
	}
	if r := f.call(t, "POST", "/v1/reps/r1/queue/p9/outcome", adminKey, js, `{"outcome":"converted"}`); r.status != 404 {
		t.Errorf("outcome on no entry: %d %s", r.status, r.body)
	}
	if r := f.call(t, "GET", "/v1/handoffs/stats?rep=r1", adminKey, "", ""); r.status != 200 || !bytes.Contains(r.body, []byte(`"conversion_rate"`)) {
		t.Errorf("stats: %d %s", r.status, r.body)
	}
	if r := f.call(t, "GET", "/v1/handoffs/unrouted", adminKey, "", ""); r.status != 200 {
		t.Errorf("unrouted: %d", r.status)
	}
}
