package jobs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
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

type nopEvents struct{}

func (nopEvents) Process(context.Context, []event.Event) error { return nil }

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
	client := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { client.Close() })
	return jobs.Deps{
		Events: nopEvents{}, RFM: nopRFM{}, Sweeper: q,
		Handoff: jobs.HandoffDeps{Queue: q, Reps: dir, Tasks: client, Notify: "email"},
		Notify:  jobs.NotifyDeps{Renderer: r, Redis: rdb},
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

func TestHandoffQueueOncePerCrossing(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t)
	client := asynq.NewClientFromRedisClient(rdb)
	defer client.Close()
	q := jobs.NewHandoffQueue(client)
	c := scoring.Crossing{PartnerID: "p1", Seq: 1, CrossedAt: time.Now(), Threshold: 30}
	for i := 0; i < 3; i++ {
		if err := q.Handoff(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	c.Seq = 2
	if err := q.Handoff(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	info, err := asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo(jobs.QueueHandoff)
	if err != nil {
		t.Fatal(err)
	}
	if info.Pending != 2 {
		t.Errorf("pending hand-offs = %d, want 2 (one per crossing)", info.Pending)
	}
}
