package program_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/longtailhq/longtail/program"
)

// synthetic is n partners joined over two years before now, a third of
// them with no result, the others with a few deals and purchases: the
// pure share of the nightly run's cost, for the later comparison with a
// raw Redis scan of the same keys.
func synthetic(n int) []program.Facts {
	rng := rand.New(rand.NewPCG(15, 15))
	out := make([]program.Facts, n)
	for i := range out {
		joined := now.AddDate(0, 0, -rng.IntN(730))
		f := program.Facts{JoinedAt: joined, Tier: "registered", Score: float64(rng.IntN(40)), Score30: fp(10), Score90: fp(12),
			LastEngagedAt: now.AddDate(0, 0, -rng.IntN(200))}
		for m := 0; m < 12; m++ {
			if rng.IntN(2) == 0 {
				f.EngagedMonths = append(f.EngagedMonths, now.AddDate(0, -m-1, 0))
			}
		}
		if i%3 != 0 {
			span := int(now.Sub(joined) / (24 * time.Hour))
			for range 1 + rng.IntN(6) {
				at := joined.AddDate(0, 0, rng.IntN(span+1))
				f.Deals = append(f.Deals, program.Result{At: at, Value: float64(rng.IntN(20000)), Origin: program.OriginPartner})
				if rng.IntN(2) == 0 {
					f.Purchases = append(f.Purchases, program.Result{At: at.AddDate(0, 0, 30), Value: float64(rng.IntN(20000))})
				}
			}
			f.Outcomes = []program.Outcome{{At: now.AddDate(0, -2, 0), Kind: "converted"}}
		}
		out[i] = f
	}
	return out
}

// BenchmarkNightly100k: a scorecard and the risk check of each of
// 100,000 partners, and the KPIs over all of them, per op.
func BenchmarkNightly100k(b *testing.B) {
	all := synthetic(100_000)
	cfg := program.DefaultConfig()
	b.ResetTimer()
	for b.Loop() {
		for _, f := range all {
			_ = program.Scorecard(f, cfg, now)
			_, _ = program.AtRisk(f, cfg, now)
		}
		_ = program.KPIs(all, cfg, now)
	}
	b.ReportMetric(float64(len(all)*b.N)/b.Elapsed().Seconds(), "partners/s")
}
