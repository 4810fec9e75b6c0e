package maintenance_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/internal/topology"
	"github.com/longtailhq/longtail/maintenance"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
)

// t0 is when the retention runs; retention.timeline is 180 days.
var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

type bundle struct {
	ctx    context.Context
	rdb    redis.UniversalClient
	clock  *testclock.Clock
	dir    *directory.Store
	scores *scoring.Engine
	queue  *repqueue.Queue
	store  *nurture.Store
}

func setup(t *testing.T) *bundle {
	t.Helper()
	return setupOn(t, redistest.New(t))
}

// setupOn is setup on rdb, a standalone or Cluster client.
func setupOn(t *testing.T, rdb redis.UniversalClient) *bundle {
	t.Helper()
	clock := testclock.New(t0)
	dir, err := directory.New(rdb, directory.Config{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	scores, err := scoring.NewEngine(rdb, scoring.Config{}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	q, err := repqueue.New(rdb, dir, scores, repqueue.Config{}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	st, err := nurture.NewStore(rdb)
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{ctx: context.Background(), rdb: rdb, clock: clock, dir: dir, scores: scores, queue: q, store: st}
	if _, _, err := dir.PutRep(b.ctx, directory.Rep{ID: "owner", Name: "Owner", Email: "owner@vendor.example", DailyCapacity: 100, Active: true}); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *bundle) retention(t *testing.T, batch int, partners maintenance.Partners) *maintenance.Retention {
	t.Helper()
	if partners == nil {
		partners = b.dir
	}
	r, err := maintenance.NewRetention(b.rdb, maintenance.RetentionConfig{Timeline: 180 * day, Batch: batch, Clock: b.clock.Now},
		maintenance.RetentionDeps{Partners: partners, Scoring: b.scores, Queue: b.queue, Histories: b.store})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (b *bundle) partner(t *testing.T, pid string, contacts ...string) {
	t.Helper()
	if _, _, err := b.dir.PutPartner(b.ctx, directory.Partner{ID: pid, Name: "Partner " + pid, OwnerRepID: "owner"}); err != nil {
		t.Fatal(err)
	}
	for _, cid := range contacts {
		if _, _, err := b.dir.PutContact(b.ctx, directory.Contact{ID: cid, PartnerID: pid, Email: cid + "@" + pid + ".example"}); err != nil {
			t.Fatal(err)
		}
	}
}

// score applies one batch of events to the contact at the clock's time,
// each occurring then, and returns the results.
func (b *bundle) score(t *testing.T, pid, cid string, ids ...string) []scoring.EventResult {
	t.Helper()
	evs := make([]event.Event, len(ids))
	for i, id := range ids {
		evs[i] = event.Event{ID: id, Type: event.EmailClick, ContactID: cid, PartnerID: pid, OccurredAt: b.clock.Now(), Source: "test", MessageID: "m-" + id}
	}
	res, err := b.scores.Apply(b.ctx, scoring.Target{PartnerID: pid, ContactID: cid}, evs)
	if err != nil {
		t.Fatal(err)
	}
	return res.Events
}

// timeline is the ids of the contact's timeline, newest first.
func (b *bundle) timeline(t *testing.T, pid, cid string) []string {
	t.Helper()
	v, err := b.scores.Contact(b.ctx, pid, cid)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range v.Timeline {
		ids = append(ids, it.ID)
	}
	return ids
}

// history commits one history item per time to an enrollment of pid's
// contact cid.
func (b *bundle) history(t *testing.T, pid, cid string, at ...time.Time) *nurture.Enrollment {
	t.Helper()
	en := &nurture.Enrollment{ID: nurture.EnrollmentID(pid, "f", cid), Flow: "f", ContactID: cid, PartnerID: pid}
	for i, a := range at {
		out, err := b.store.Commit(b.ctx, en, nurture.Change{Step: fmt.Sprint("s", i), Status: nurture.StatusActive, NextAt: a.Add(day),
			Done: &nurture.HistoryItem{At: a, Step: fmt.Sprint("s", i), Outcome: "done"}}, a)
		if err != nil {
			t.Fatal(err)
		}
		en = out
	}
	return en
}

func (b *bundle) historyLen(t *testing.T, en *nurture.Enrollment) int {
	t.Helper()
	h, err := b.store.History(b.ctx, en)
	if err != nil {
		t.Fatal(err)
	}
	return len(h)
}

// seeded is what seed wrote and what retention must keep of it.
type seeded struct {
	active, idle *nurture.Enrollment
}

// seed writes, for partner "busy" (contact c1) and partner "idle"
// (contact c2, which never gets a write again), timelines with entries
// 200 days old and entries 10 days old (busy only), a call-queue
// timeline and enrollment histories alike. The clock ends at t0.
func (b *bundle) seed(t *testing.T) seeded {
	t.Helper()
	b.partner(t, "busy", "c1")
	b.partner(t, "idle", "c2")
	b.clock.Set(t0.Add(-200 * day))
	b.score(t, "busy", "c1", "old-1", "old-2")
	b.score(t, "busy", "c1", "old-3")
	b.score(t, "idle", "c2", "idle-1")
	if _, _, err := b.queue.Handoff(b.ctx, "busy", 1, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.queue.Handoff(b.ctx, "idle", 1, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	b.clock.Set(t0.Add(-10 * day))
	b.score(t, "busy", "c1", "new-1")
	if _, err := b.queue.Claim(b.ctx, "owner", "busy"); err != nil {
		t.Fatal(err)
	}
	b.clock.Set(t0)
	return seeded{
		active: b.history(t, "busy", "c1", t0.Add(-300*day), t0.Add(-200*day), t0.Add(-10*day)),
		idle:   b.history(t, "idle", "c2", t0.Add(-250*day), t0.Add(-190*day)),
	}
}

// check asserts what is left after retention: exactly the entries newer
// than 180 days.
func (b *bundle) check(t *testing.T, s seeded) {
	t.Helper()
	if got := b.timeline(t, "busy", "c1"); fmt.Sprint(got) != "[new-1]" {
		t.Errorf("busy c1 timeline %v, want [new-1]", got)
	}
	if got := b.timeline(t, "idle", "c2"); len(got) != 0 {
		t.Errorf("idle c2 timeline %v, want none", got)
	}
	for pid, want := range map[string]int{"busy": 1, "idle": 0} {
		tl, err := b.queue.Timeline(b.ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		if len(tl) != want {
			t.Errorf("%s queue timeline %+v, want %d transitions", pid, tl, want)
		}
		for _, tr := range tl {
			if tr.At.Before(t0.Add(-180 * day)) {
				t.Errorf("%s queue transition %+v kept past retention", pid, tr)
			}
		}
	}
	if n := b.historyLen(t, s.active); n != 1 {
		t.Errorf("busy enrollment history has %d items, want 1", n)
	}
	if n := b.historyLen(t, s.idle); n != 0 {
		t.Errorf("idle enrollment history has %d items, want 0", n)
	}
	// The entry, the enrollment and the scores are not timelines: kept.
	if e, err := b.queue.Get(b.ctx, "idle"); err != nil || e == nil {
		t.Errorf("idle queue entry: %+v %v", e, err)
	}
	if en, err := b.store.Get(b.ctx, s.idle.ID); err != nil || en.Step != "s1" {
		t.Errorf("idle enrollment: %+v %v", en, err)
	}
}

func TestRetentionRemovesExactlyWhatIsPastRetention(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.seed(t)
	r := b.retention(t, 0, nil)
	res, err := r.Run(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	// busy: 2 timeline batches; idle: 1. Queue: the hand-offs 200 days
	// ago. Histories: 2 + 2. Both contacts' compaction time has come (a
	// week after their last compaction): compacted, once.
	want := maintenance.RetentionResult{Partners: 2, ContactTimeline: 3, QueueTimeline: res.QueueTimeline, Histories: 4, Compacted: 2}
	if res.QueueTimeline == 0 || res != want {
		t.Errorf("result %+v, want %+v (queue transitions > 0)", res, want)
	}
	b.check(t, s)

	again, err := r.Run(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again != (maintenance.RetentionResult{Partners: 2}) {
		t.Errorf("second run %+v, want nothing removed", again)
	}
	b.check(t, s)
}

// On Redis Cluster the walk, the pops and the compactions run as on one
// node: every key is a partner's (or the cursor's own slot), every script
// one key.
func TestRetentionOnCluster(t *testing.T) {
	t.Parallel()
	cl := topology.StartCluster(t, 3)
	addrs := make([]string, len(cl.Nodes))
	for i, n := range cl.Nodes {
		addrs[i] = n.Addr
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { _ = rdb.Close() })
	b := setupOn(t, rdb)
	s := b.seed(t)
	res, err := b.retention(t, 1, nil).Run(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.ContactTimeline != 3 || res.Histories != 4 || res.QueueTimeline == 0 || res.Compacted != 2 {
		t.Errorf("result %+v", res)
	}
	b.check(t, s)
}

// Two runs at once remove each entry once between them, and leave what a
// single run leaves.
func TestRetentionTwiceConcurrently(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.seed(t)
	ref := setup(t)
	ref.seed(t)
	single, err := ref.retention(t, 0, nil).Run(ref.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]maintenance.RetentionResult, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() { results[i], errs[i] = b.retention(t, 0, nil).Run(b.ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	sum := results[0]
	sum.ContactTimeline += results[1].ContactTimeline
	sum.QueueTimeline += results[1].QueueTimeline
	sum.Histories += results[1].Histories
	if sum.ContactTimeline != single.ContactTimeline || sum.QueueTimeline != single.QueueTimeline || sum.Histories != single.Histories {
		t.Errorf("two concurrent runs removed %+v and %+v, one run alone %+v", results[0], results[1], single)
	}
	b.check(t, s)
}

// An idle contact's expired dedup markers go; one inside the replay
// window stays, so a redelivery still counts once.
func TestRetentionKeepsDedupInsideTheReplayWindow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.partner(t, "p", "c")
	// The contact's first write sets its compaction time a week later
	// (t0); the second is before it, so no write compacts.
	b.clock.Set(t0.Add(-7 * day))
	b.score(t, "p", "c", "expired")
	b.clock.Set(t0.Add(-2 * time.Hour))
	b.score(t, "p", "c", "recent")
	b.clock.Set(t0.Add(time.Minute))
	r := b.retention(t, 0, nil)
	res, err := r.Run(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Compacted != 1 {
		t.Fatalf("compacted %d contacts, want 1", res.Compacted)
	}
	if again, err := r.Run(b.ctx); err != nil || again.Compacted != 0 {
		t.Errorf("second run compacted %d (%v), want 0", again.Compacted, err)
	}
	// A redelivery of the recent event, inside dedup_retention (72h):
	// still a duplicate. The expired one's id was forgotten with it.
	if got := b.score(t, "p", "c", "recent"); !got[0].Duplicate {
		t.Errorf("redelivered recent event: %+v, want a duplicate", got[0])
	}
	if got := b.score(t, "p", "c", "expired"); got[0].Duplicate {
		t.Errorf("event seen 7 days ago: %+v, want counted again (past its replay window)", got[0])
	}
}

// failingPartners fails its page number failAt once, as a crash or a lost
// Redis would stop a run part way.
type failingPartners struct {
	maintenance.Partners
	calls, failAt atomic.Int32
}

func (f *failingPartners) ScanPartnerIDs(ctx context.Context, cursor uint64, count int64) ([]string, uint64, error) {
	if f.calls.Add(1) == f.failAt.Load() {
		return nil, 0, errors.New("redis went away")
	}
	return f.Partners.ScanPartnerIDs(ctx, cursor, count)
}

// A run stopped part way resumes where it stopped: the retry does not
// start over, and between them every partner is pruned.
func TestRetentionResumesWhereItStopped(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 400 // past Redis's small-set encoding, so SSCAN pages
	b.clock.Set(t0.Add(-200 * day))
	for i := range n {
		pid := fmt.Sprint("p", i)
		b.partner(t, pid, "c")
		b.score(t, pid, "c", "e")
	}
	b.clock.Set(t0)
	fp := &failingPartners{Partners: b.dir}
	fp.failAt.Store(4)
	first, err := b.retention(t, 50, fp).Run(b.ctx)
	if err == nil {
		t.Fatal("first run succeeded, want the injected failure")
	}
	if first.Resumed || first.Partners == 0 || first.Partners >= n {
		t.Fatalf("first run %+v: want a part of the partners", first)
	}
	second, err := b.retention(t, 50, fp).Run(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Resumed || second.Partners >= n {
		t.Errorf("second run %+v: want it resumed, not over all %d partners", second, n)
	}
	if got := first.ContactTimeline + second.ContactTimeline; got != n {
		t.Errorf("removed %d timeline batches over both runs, want %d", got, n)
	}
	for i := range n {
		if tl := b.timeline(t, fmt.Sprint("p", i), "c"); len(tl) != 0 {
			t.Fatalf("p%d timeline %v left", i, tl)
		}
	}
	// The walk completed: the next run starts over.
	third, err := b.retention(t, 50, nil).Run(b.ctx)
	if err != nil || third.Resumed || third.Partners < n || third.ContactTimeline != 0 {
		t.Errorf("third run %+v %v: want a fresh walk over every partner removing nothing", third, err)
	}
}
