package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/program"
	"github.com/longtailhq/longtail/program/store"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// now is Sunday 6 December 2026, noon UTC.
var now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

type bundle struct {
	ctx   context.Context
	dir   *directory.Store
	eng   *scoring.Engine
	st    *store.Store
	clock *testclock.Clock
}

func setup(t *testing.T) *bundle {
	t.Helper()
	rdb := redistest.New(t)
	clock := testclock.New(now)
	dir, err := directory.New(rdb, directory.Config{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := scoring.NewEngine(rdb, scoring.Config{}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	q, err := repqueue.New(rdb, dir, eng, repqueue.Config{}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.New(rdb, store.Deps{Directory: dir, Scores: eng, Outcomes: q})
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{ctx: context.Background(), dir: dir, eng: eng, st: st, clock: clock}
}

func ptr(v float64) *float64 { return &v }

func TestRecordAndGather(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, p := range []directory.Partner{
		{ID: "p1", Name: "Acme", Tier: "silver", JoinedAt: "2025-03-01"},
		{ID: "p2", Name: "Globex", JoinedAt: "2024-01-15", LeftAt: "2026-06-30T10:00:00Z"},
	} {
		if _, _, err := b.dir.PutPartner(b.ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	results := []store.Result{
		{PartnerID: "p1", EventID: "d1", Type: event.DealRegistered, At: day("2026-05-10"), Value: 12000, Origin: "partner"},
		{PartnerID: "p1", EventID: "w1", Type: event.DealWon, At: day("2026-07-01"), Value: 9000},
		{PartnerID: "p1", EventID: "b1", Type: event.Purchase, At: day("2026-08-20"), Value: 30000, Origin: "vendor"},
		{PartnerID: "p1", EventID: "o1", Type: event.EmailOpen, At: day("2026-08-21")}, // not a result
	}
	engaged := []store.Engagement{
		{PartnerID: "p1", At: day("2026-11-03")},
		{PartnerID: "p1", At: day("2026-11-20")},
		{PartnerID: "p1", At: day("2026-11-10")}, // not the month's latest
		{PartnerID: "p1", At: day("2024-09-10")}, // older than 25 months: dropped
		{PartnerID: "p1", At: day("2026-02-14")},
	}
	for range 2 { // a retried task records the same events: each counts once
		if err := b.st.Record(b.ctx, results, engaged); err != nil {
			t.Fatal(err)
		}
	}
	// A redelivery that changed its value does not overwrite the first.
	if err := b.st.Record(b.ctx, []store.Result{{PartnerID: "p1", EventID: "d1", Type: event.DealRegistered, At: day("2026-05-10"), Value: 1}}, nil); err != nil {
		t.Fatal(err)
	}
	// Snapshots 90 and 30 days ago, and one 100 days before the 30-day
	// one, in the same ring slot, overwritten by it.
	for _, s := range []struct {
		at    time.Time
		score float64
	}{{now.AddDate(0, 0, -130), 99}, {now.AddDate(0, 0, -90), 8}, {now.AddDate(0, 0, -30), 12.5}} {
		if err := b.st.Snapshot(b.ctx, s.at, map[string]float64{"p1": s.score}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.st.Facts(b.ctx, "p1", now)
	if err != nil {
		t.Fatal(err)
	}
	want := program.Facts{
		PartnerID: "p1", Tier: "silver", JoinedAt: day("2025-03-01"),
		Deals: []program.Result{{At: day("2026-05-10"), Value: 12000, Origin: program.OriginPartner}},
		Purchases: []program.Result{
			{At: day("2026-07-01"), Value: 9000},
			{At: day("2026-08-20"), Value: 30000, Origin: program.OriginVendor},
		},
		LastEngagedAt: day("2026-11-20"),
		EngagedMonths: []time.Time{day("2026-02-14"), day("2026-11-20")},
		Score30:       ptr(12.5), Score90: ptr(8),
	}
	sortRes := cmpopts.SortSlices(func(a, b program.Result) bool { return a.At.Before(b.At) })
	if diff := cmp.Diff(want, got, sortRes); diff != "" {
		t.Errorf("facts (-want, +got):\n%s", diff)
	}

	all, err := b.st.AllFacts(b.ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("%d partners' facts, want 2", len(all))
	}
	for _, f := range all {
		if f.PartnerID == "p2" && (!f.LeftAt.Equal(time.Date(2026, 6, 30, 10, 0, 0, 0, time.UTC)) || f.Score30 != nil || len(f.Deals) != 0) {
			t.Errorf("p2 facts: %+v", f)
		}
	}
	if _, err := b.st.Facts(b.ctx, "nope", now); err == nil {
		t.Error("facts of an unknown partner: no error")
	}
}

func TestSnapshotDayOutOfRange(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if err := b.st.Snapshot(b.ctx, day("1999-12-31"), map[string]float64{"p1": 1}); err == nil {
		t.Error("a snapshot before 2000 was accepted")
	}
}
