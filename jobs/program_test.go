package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/ingest"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/program"
	"github.com/longtailhq/longtail/program/store"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
)

// TestProgramRecordsResultsOnceAndSnapshots runs the ingest task as asynq
// would retry it and checks that each deal and purchase is in the
// partner's results log once, with its origin, and its engagement month
// marked; then runs program:snapshot on two days and reads the score of
// 30 days ago back.
func TestProgramRecordsResultsOnceAndSnapshots(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 6, 9, 0, 0, 0, time.UTC)
	f0 := newProgramFixture(t, start, false)
	ctx, clock, engine, st, mux := f0.ctx, f0.clock, f0.engine, f0.st, f0.mux
	dealAt, buyAt := start.Add(-48*time.Hour), start.Add(-time.Hour)
	evs := []event.Event{
		{ID: "d1", Type: event.DealRegistered, ContactID: "jane", OccurredAt: dealAt, Value: 12000, Origin: "partner", Source: "crm"},
		{ID: "b1", Type: event.Purchase, ContactID: "jane", OccurredAt: buyAt, Value: 30000, Origin: "vendor", Source: "crm"},
		{ID: "o1", Type: event.EmailOpen, ContactID: "jane", OccurredAt: start, Source: "test"},
	}
	for i := range 3 { // the task retried
		if err := mux.ProcessTask(ctx, jobs.NewIngestEventsTask(evs)); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	// The snapshot task on the day, then 30 days later.
	if err := mux.ProcessTask(ctx, jobs.NewProgramSnapshotTask()); err != nil {
		t.Fatal(err)
	}
	before, err := engine.Partner(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(30 * 24 * time.Hour)
	if err := mux.ProcessTask(ctx, jobs.NewProgramSnapshotTask()); err != nil {
		t.Fatal(err)
	}
	f, err := st.Facts(ctx, "acme", clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := []program.Result{{At: dealAt, Value: 12000, Origin: program.OriginPartner}}
	if diff := cmp.Diff(want, f.Deals); diff != "" {
		t.Errorf("deals (-want, +got):\n%s", diff)
	}
	want = []program.Result{{At: buyAt, Value: 30000, Origin: program.OriginVendor}}
	if diff := cmp.Diff(want, f.Purchases); diff != "" {
		t.Errorf("purchases (-want, +got):\n%s", diff)
	}
	if !f.LastEngagedAt.Equal(start) || len(f.EngagedMonths) != 1 {
		t.Errorf("engagement: last %v, months %v; want %v in one month", f.LastEngagedAt, f.EngagedMonths, start)
	}
	if f.Score30 == nil || !cmp.Equal(*f.Score30, before.Score, cmpopts.EquateApprox(1e-6, 1e-4)) {
		t.Errorf("score 30 days ago = %v, want the snapshot of %v", f.Score30, before.Score)
	}
	if before.Score <= 0 || f.Score >= before.Score {
		t.Errorf("score now %v, 30 days ago %v: want a decayed, positive score", f.Score, before.Score)
	}
}

// An ingested batch that logs a partner's result queues its stage task
// once, however often the batch is retried; the task records the
// partner's baseline stage once, and a second run records nothing.
func TestIngestQueuesTheStageOncePerBatch(t *testing.T) {
	t.Parallel()
	f0 := newProgramFixture(t, time.Date(2026, 11, 6, 9, 0, 0, 0, time.UTC), true)
	ctx, rdb, clock, st, mux := f0.ctx, f0.rdb, f0.clock, f0.st, f0.mux
	evs := []event.Event{{ID: "d1", Type: event.DealRegistered, ContactID: "jane", OccurredAt: clock.Now().Add(-time.Hour), Value: 12000, Source: "crm"}}
	for i := range 3 { // the task retried
		if err := mux.ProcessTask(ctx, jobs.NewIngestEventsTask(evs)); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	pending, err := insp.ListPendingTasks(jobs.QueueProgram)
	if err != nil || len(pending) != 1 || pending[0].Type != jobs.TypeProgramStage {
		t.Fatalf("program queue: %d tasks %v, want one %s", len(pending), err, jobs.TypeProgramStage)
	}
	for range 2 {
		if err := mux.ProcessTask(ctx, asynq.NewTask(pending[0].Type, pending[0].Payload)); err != nil {
			t.Fatal(err)
		}
	}
	f, err := st.Facts(ctx, "acme", clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := []program.StageChange{{At: clock.Now(), To: program.Productive}}
	if diff := cmp.Diff(want, f.StageChanges); diff != "" {
		t.Errorf("stage changes (-want, +got):\n%s", diff)
	}
	// The baseline fires no trigger.
	if n, err := insp.ListPendingTasks(jobs.QueueNurture); err == nil && len(n) != 0 {
		t.Errorf("%d nurture triggers queued for a baseline", len(n))
	}
}

// programFixture is the ingest and program tasks on a real Redis, run
// through mux, with partner acme (joined 2026-01-10) and its contact jane.
type programFixture struct {
	ctx    context.Context
	rdb    *redis.Client
	clock  *testclock.Clock
	engine *scoring.Engine
	st     *store.Store
	mux    *asynq.ServeMux
}

// newProgramFixture starts the clock at start; withStages also wires the
// stage recorder, so ingested results queue program:stage.
func newProgramFixture(t *testing.T, start time.Time, withStages bool) *programFixture {
	t.Helper()
	ctx := context.Background()
	rdb := redistest.New(t)
	clock := testclock.New(start)
	dir, err := directory.New(rdb, directory.Config{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := scoring.NewEngine(rdb, scoring.Config{}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	q, err := repqueue.New(rdb, dir, engine, repqueue.Config{}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	proc, err := ingest.NewProcessor(ingest.Config{}, dir, engine)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.New(rdb, store.Deps{Directory: dir, Scores: engine, Outcomes: q, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { client.Close() })
	deps := fullDeps(t)
	deps.Events, deps.Tasks = proc, client
	deps.Program = jobs.ProgramDeps{Recorder: st, Snapshots: st}
	if withStages {
		deps.Program.Stages, deps.Program.Clock = st, clock.Now
	}
	mux := asynq.NewServeMux()
	jobs.Register(mux, deps)
	if _, _, err := dir.PutPartner(ctx, directory.Partner{ID: "acme", Name: "Acme", JoinedAt: "2026-01-10"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := dir.PutContact(ctx, directory.Contact{ID: "jane", PartnerID: "acme", Email: "jane@acme.example"}); err != nil {
		t.Fatal(err)
	}
	return &programFixture{ctx: ctx, rdb: rdb, clock: clock, engine: engine, st: st, mux: mux}
}
