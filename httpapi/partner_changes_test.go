package httpapi_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/httpapi"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/jobs"
)

// PUT /v1/partners/{id} tells PartnersChanged what each write changed,
// nothing for an identical PUT, and answers 503 (the partner saved) when
// the change could not be handed on.
func TestPutPartnerReportsChanges(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t)
	dir, err := directory.New(rdb, directory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { client.Close() })
	var (
		mu   sync.Mutex
		got  []directory.PartnerChange
		fail error
	)
	api, err := httpapi.New(httpapi.Config{Keys: []string{adminKey}}, httpapi.Deps{
		Ready:     func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		Sink:      topicEdge(t, jobs.NewEventQueue(client, time.Second)),
		Directory: dir,
		PartnersChanged: func(_ context.Context, cs ...directory.PartnerChange) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, cs...)
			return fail
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv}
	reported := func() []directory.PartnerChange {
		mu.Lock()
		defer mu.Unlock()
		out := got
		got = nil
		return out
	}

	const body = `{"name":"Acme","joined_at":"2025-12-01"}`
	if r := f.call(t, "PUT", "/v1/partners/acme", adminKey, "application/json", body); r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if cs := reported(); len(cs) != 1 || cs[0].Existed || cs[0].After.ID != "acme" || cs[0].After.JoinedAt != "2025-12-01" {
		t.Fatalf("create reported %+v, want the new partner", cs)
	}
	if r := f.call(t, "PUT", "/v1/partners/acme", adminKey, "application/json", body); r.status != 200 {
		t.Fatalf("same PUT: %d %s", r.status, r.body)
	}
	if cs := reported(); len(cs) != 0 {
		t.Fatalf("an identical PUT reported %+v", cs)
	}

	mu.Lock()
	fail = errors.New("queue away")
	mu.Unlock()
	r := f.call(t, "PUT", "/v1/partners/acme", adminKey, "application/json", `{"name":"Acme","joined_at":"2025-12-01","left_at":"2026-01-05"}`)
	if r.status != 503 || errorCode(t, r) != "unavailable" {
		t.Fatalf("PUT with the hook failing: %d %s, want 503 unavailable", r.status, r.body)
	}
	if cs := reported(); len(cs) != 1 || !cs[0].Existed || cs[0].Before.LeftAt != "" || cs[0].After.LeftAt != "2026-01-05" {
		t.Fatalf("left_at reported %+v, want the change from none", cs)
	}
	if p, err := dir.GetPartner(context.Background(), "acme"); err != nil || p.LeftAt != "2026-01-05" {
		t.Fatalf("stored partner %+v, %v: want it saved despite the 503", p, err)
	}
}
