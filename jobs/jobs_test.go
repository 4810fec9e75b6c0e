package jobs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/ingest"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/notify"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
)

func TestMain(m *testing.M) { redistest.Main(m) }

type payload struct {
	N int `json:"n"`
}

func TestHandleDecodesAndMapsErrors(t *testing.T) {
	t.Parallel()
	var got payload
	h := jobs.Handle(func(_ context.Context, p payload) error {
		got = p
		switch p.N {
		case 2:
			return errors.New("transient")
		case 3:
			return jobs.ErrPermanent
		}
		return nil
	})
	ctx := context.Background()
	tests := []struct {
		body      string
		wantErr   bool
		skipRetry bool
	}{
		{`{"n":1}`, false, false},
		{`{"n":2}`, true, false},
		{`{"n":3}`, true, true},
		{`not json`, true, true},
	}
	for _, tc := range tests {
		err := h.ProcessTask(ctx, asynq.NewTask("t", []byte(tc.body)))
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err = %v, want error %v", tc.body, err, tc.wantErr)
		}
		if errors.Is(err, asynq.SkipRetry) != tc.skipRetry {
			t.Errorf("%s: SkipRetry = %v, want %v (err %v)", tc.body, errors.Is(err, asynq.SkipRetry), tc.skipRetry, err)
		}
	}
	if got.N != 3 {
		t.Errorf("payload not decoded: %+v", got)
	}
}

type nopRFM struct{}

func (nopRFM) RunRFM(context.Context) error { return nil }

func TestRegisterPanicsOnMissingOrDuplicate(t *testing.T) {
	t.Parallel()
	mustPanic := func(name string, f func()) {
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	mustPanic("missing deps", func() { jobs.Register(asynq.NewServeMux(), jobs.Deps{}) })
	deps := fullDeps(t)
	mux := asynq.NewServeMux()
	jobs.Register(mux, deps)
	mustPanic("duplicate", func() { jobs.Register(mux, deps) })
}

// fullDeps wires every handler on real parts.
func fullDeps(t *testing.T) jobs.Deps {
	t.Helper()
	rdb := redistest.New(t)
	dir, err := directory.New(rdb, directory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := scoring.NewEngine(rdb, scoring.Config{}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	q, err := repqueue.New(rdb, dir, engine, repqueue.Config{}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	r, err := notify.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	n, err := notify.NewRepNotifier(notify.RepConfig{PageURL: "http://longtail.test/ui/queue"}, notify.RepDeps{Renderer: r, Reps: dir, Queue: q})
	if err != nil {
		t.Fatal(err)
	}
	proc, err := ingest.NewProcessor(ingest.Config{}, dir, engine)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { client.Close() })
	return jobs.Deps{
		Events: proc, RFM: nopRFM{}, Sweeper: q, Tasks: client,
		Handoff: jobs.HandoffDeps{Queue: q, Messages: n},
		Notify:  jobs.NotifyDeps{Reps: n},
	}
}

func TestEventQueueIsDurableAndIdempotent(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t)
	client := asynq.NewClientFromRedisClient(rdb)
	defer client.Close()
	q := jobs.NewEventQueue(client, time.Second)
	evs := []event.Event{{ID: "x:1", Type: event.EmailOpen, Email: "a@b.example", OccurredAt: time.Now()}}
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := q.Record(ctx, evs); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	info, err := asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo(jobs.QueueIngest)
	if err != nil {
		t.Fatal(err)
	}
	if info.Pending != 1 {
		t.Errorf("pending = %d, want 1: the same events twice are one task", info.Pending)
	}
}

// TestIngestEventsHandsOffACrossingOnce runs the ingest task as asynq
// would retry it and checks that the crossing it caused was queued for
// hand-off once, under the crossing's identity, and acknowledged; a later
// crossing of the same partner gets a hand-off of its own.
func TestIngestEventsHandsOffACrossingOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.New(t)
	dir, err := directory.New(rdb, directory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := scoring.NewEngine(rdb, scoring.Config{Threshold: 12}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	proc, err := ingest.NewProcessor(ingest.Config{}, dir, engine)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { client.Close() })
	mux := asynq.NewServeMux()
	deps := fullDeps(t) // the other handlers' collaborators are never reached here
	deps.Events, deps.Tasks = proc, client
	jobs.Register(mux, deps)
	if _, _, err := dir.PutPartner(ctx, directory.Partner{ID: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := dir.PutContact(ctx, directory.Contact{ID: "jane", PartnerID: "acme", Email: "jane@acme.example"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	webinar := []event.Event{
		{ID: "w1", Type: event.WebinarAttended, ContactID: "jane", OccurredAt: now, Source: "test"},
		{ID: "v1", Type: event.WebVisit, ContactID: "jane", OccurredAt: now, Source: "test"},
	} // 13 ≥ 12
	for i := range 3 { // the task retried
		if err := mux.ProcessTask(ctx, jobs.NewIngestEventsTask(webinar)); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	ins := asynq.NewInspectorFromRedisClient(rdb)
	pendingHandoffs := func() map[string]bool {
		t.Helper()
		tasks, err := ins.ListPendingTasks(jobs.QueueHandoff)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, ti := range tasks {
			if ti.Type == jobs.TypeHandoffPartner {
				ids[ti.ID] = true
			}
		}
		return ids
	}
	if got := pendingHandoffs(); len(got) != 1 || !got["handoff:acme:1"] {
		t.Fatalf("pending hand-offs %v, want handoff:acme:1 once", got)
	}
	// Acknowledged: the partner's next event reports no crossing.
	res, err := proc.Process(ctx, []event.Event{{ID: "v2", Type: event.WebVisit, ContactID: "jane", OccurredAt: now, Source: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Crossings) != 0 {
		t.Errorf("crossing still pending after the task: %+v", res.Crossings)
	}
	// A rep recycles the partner; the next crossing is handed off too.
	if _, err := engine.Rearm(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := mux.ProcessTask(ctx, jobs.NewIngestEventsTask([]event.Event{{ID: "v3", Type: event.WebVisit, ContactID: "jane", OccurredAt: now, Source: "test"}})); err != nil {
		t.Fatal(err)
	}
	if got := pendingHandoffs(); len(got) != 2 || !got["handoff:acme:1"] || !got["handoff:acme:2"] {
		t.Errorf("pending hand-offs %v, want handoff:acme:1 and handoff:acme:2", got)
	}
}
