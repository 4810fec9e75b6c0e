package store_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/program"
	"github.com/longtailhq/longtail/program/store"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
)

// benchPartners is how many partners the nightly benchmark seeds:
// LONGTAIL_BENCH_PARTNERS, else 10,000 (100,000 takes minutes to seed).
func benchPartners(b *testing.B) int {
	if v := os.Getenv("LONGTAIL_BENCH_PARTNERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("LONGTAIL_BENCH_PARTNERS=%q", v)
		}
		return n
	}
	return 10_000
}

// seedBench puts n partners joined over two years, two in three with a
// deal and a purchase, each with two engaged months and two snapshots.
func seedBench(b *testing.B, rdb *redis.Client, dir *directory.Store, st *store.Store, n int) {
	b.Helper()
	ctx := context.Background()
	const chunk = 1000
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		items := make([]directory.PartnerPut, 0, hi-lo)
		var results []store.Result
		var engaged []store.Engagement
		scores := map[string]float64{}
		for i := lo; i < hi; i++ {
			id := fmt.Sprintf("p%06d", i)
			joined := now.AddDate(0, 0, -(i % 730)).Format(time.DateOnly)
			items = append(items, directory.PartnerPut{ID: id, Merge: func(p directory.Partner, _ bool) (directory.Partner, error) {
				p.Name, p.Tier, p.JoinedAt = "Partner "+id, "registered", joined
				return p, nil
			}})
			if i%3 != 0 {
				results = append(results,
					store.Result{PartnerID: id, EventID: id + "-d", Type: event.DealRegistered, At: now.AddDate(0, 0, -(i % 300)), Value: 10000, Origin: "partner"},
					store.Result{PartnerID: id, EventID: id + "-p", Type: event.Purchase, At: now.AddDate(0, 0, -(i % 200)), Value: 25000})
			}
			engaged = append(engaged, store.Engagement{PartnerID: id, At: now.AddDate(0, -1, 0)}, store.Engagement{PartnerID: id, At: now.AddDate(0, -2, 0)})
			scores[id] = float64(i % 40)
		}
		if _, err := dir.NewBatch().PutPartners(ctx, items); err != nil {
			b.Fatal(err)
		}
		if err := st.Record(ctx, results, engaged); err != nil {
			b.Fatal(err)
		}
		for _, ago := range []int{30, 90} {
			if err := st.Snapshot(ctx, now.AddDate(0, 0, -ago), scores); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkNightlyScorecards is the nightly computation over every
// partner: gather each one's facts (directory record, results log,
// engaged months, snapshots, score and RFM, hand-off outcomes) and
// compute its scorecard; BenchmarkRawScan reads the same keys with the
// same pipelining and computes nothing. Their ratio is the figure the
// issue asks for (README, Benchmarks).
func BenchmarkNightlyScorecards(b *testing.B) {
	rdb := redistest.New(b)
	dir, err := directory.New(rdb, directory.Config{})
	if err != nil {
		b.Fatal(err)
	}
	eng, err := scoring.NewEngine(rdb, scoring.Config{}, func() time.Time { return now })
	if err != nil {
		b.Fatal(err)
	}
	q, err := repqueue.New(rdb, dir, eng, repqueue.Config{}, func() time.Time { return now })
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.New(rdb, store.Deps{Directory: dir, Scores: eng, Outcomes: q})
	if err != nil {
		b.Fatal(err)
	}
	n := benchPartners(b)
	seedBench(b, rdb, dir, st, n)
	ctx := context.Background()

	b.Run("scorecards", func(b *testing.B) {
		for b.Loop() {
			all, err := st.AllFacts(ctx, now)
			if err != nil {
				b.Fatal(err)
			}
			if len(all) != n {
				b.Fatalf("%d facts, want %d", len(all), n)
			}
			for _, f := range all {
				_ = program.Scorecard(f, program.Config{}, now)
			}
		}
		b.ReportMetric(float64(n), "partners")
	})
	b.Run("raw-scan", func(b *testing.B) {
		// The same keys: the partner record, the three program keys, the
		// partner's score hash and contacts, the queue timeline.
		tag := directory.PartnerTag
		for b.Loop() {
			var ids []string
			for id, err := range dir.PartnerIDs(ctx) {
				if err != nil {
					b.Fatal(err)
				}
				ids = append(ids, id)
			}
			for lo := 0; lo < len(ids); lo += 500 {
				pipe := rdb.Pipeline()
				for _, id := range ids[lo:min(lo+500, len(ids))] {
					pipe.Get(ctx, "lt:"+tag(id)+":partner")
					pipe.HGetAll(ctx, "lt:"+tag(id)+":pg:res")
					pipe.ZRangeWithScores(ctx, "lt:"+tag(id)+":pg:eng", 0, -1)
					pipe.Get(ctx, "lt:"+tag(id)+":pg:snap")
					pipe.HGetAll(ctx, "lt:"+tag(id)+":s:p")
					pipe.Get(ctx, "lt:"+tag(id)+":s:pc")
					pipe.LRange(ctx, "lt:"+tag(id)+":q:tl", 0, -1)
				}
				if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(n), "partners")
	})
}
