package program_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/longtailhq/longtail/program"
)

// A seeded two-year history: eleven partners joined from January 2025 to
// (one day) January 2027, in three cohorts, with deals and purchases of
// both origins. Every figure below is worked out by hand in the
// comments.
func TestKPIs(t *testing.T) {
	t.Parallel()
	r := func(at string, v float64, o program.Origin) program.Result {
		return program.Result{At: day(at), Value: v, Origin: o}
	}
	P, V, U := program.OriginPartner, program.OriginVendor, program.OriginUnknown
	recent := day("2026-12-01")
	all := []program.Facts{
		// Cohort 2025-Q1.
		// A: first result 2025-03-01, 45 days after joining (0–3 months).
		{PartnerID: "A", JoinedAt: day("2025-01-15"), Deals: []program.Result{r("2025-03-01", 5000, P)},
			Purchases: []program.Result{r("2025-04-20", 5000, P)}, LastEngagedAt: recent},
		// B: a purchase and no deal, 212 days after joining (6–9 months:
		// after 2025-08-01, by 2025-11-01).
		{PartnerID: "B", JoinedAt: day("2025-02-01"), Purchases: []program.Result{r("2025-09-01", 20000, V)}, LastEngagedAt: recent},
		// C: nothing in 21 months: churned.
		{PartnerID: "C", JoinedAt: day("2025-03-10"), LastEngagedAt: recent},
		// D: a deal 42 days after joining, then left: productive and
		// churned.
		{PartnerID: "D", JoinedAt: day("2025-03-20"), LeftAt: day("2026-01-10"), Deals: []program.Result{r("2025-05-01", 3000, U)}},

		// Cohort 2025-Q3.
		// E: a deal 224 days after joining (6–9 months), closed 50 days
		// later; a second deal, of no stated origin, still open.
		{PartnerID: "E", JoinedAt: day("2025-07-01"), Deals: []program.Result{r("2026-02-10", 8000, P), r("2026-10-20", 2000, U)},
			Purchases: []program.Result{r("2026-04-01", 8000, P)}, LastEngagedAt: recent},
		// F: a first purchase 382 days after joining: beyond 12 months,
		// yet productive now, so not churned.
		{PartnerID: "F", JoinedAt: day("2025-08-15"), Purchases: []program.Result{r("2026-09-01", 1000, V)}, LastEngagedAt: recent},
		// G: nothing for 14 months: churned.
		{PartnerID: "G", JoinedAt: day("2025-09-30")},

		// Cohort 2026-Q2.
		// H: a deal and no purchase, 75 days after joining (0–3 months).
		{PartnerID: "H", JoinedAt: day("2026-04-01"), Deals: []program.Result{r("2026-06-15", 4000, P)}, LastEngagedAt: recent},
		// I: onboarding.
		{PartnerID: "I", JoinedAt: day("2026-05-20"), LastEngagedAt: recent},

		// No cohort: J has no join date (its deals still count in
		// sourcing and cycles: 2026-10-01 → 2026-11-15, 45 days); K joins
		// next month.
		{PartnerID: "J", Deals: []program.Result{r("2026-10-01", 7000, V)}, Purchases: []program.Result{r("2026-11-15", 7000, V)}},
		{PartnerID: "K", JoinedAt: day("2027-01-01")},
	}
	got := program.KPIs(all, program.Config{}, now)

	// Cohort chart: months m whose m-month anniversary of the cohort's
	// last join is not after now. 2025-Q1 (last join 2025-03-20): 20
	// months; A within 2 (by 03-15), D within 2 (by 05-20), B within 7
	// (by 09-01 exactly).
	q1 := []float64{0, .5, .5, .5, .5, .5}
	for range 14 {
		q1 = append(q1, .75)
	}
	// 2025-Q3 (last join 2025-09-30): 14 months; E within 8 (by
	// 2026-03-01), F within 13 (by 2026-09-15).
	q3 := []float64{0, 0, 0, 0, 0, 0, 0, 1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3, 2.0 / 3, 2.0 / 3}
	// 2026-Q2 (last join 2026-05-20): 6 months; H within 3 (by 07-01).
	q2 := []float64{0, 0, .5, .5, .5, .5}
	buckets := func(c0_3, c3_6, c6_9, c9_12, c12 int) []program.Bucket {
		return []program.Bucket{{UpToMonths: 3, Count: c0_3}, {UpToMonths: 6, Count: c3_6}, {UpToMonths: 9, Count: c6_9},
			{UpToMonths: 12, Count: c9_12}, {UpToMonths: 0, Count: c12}}
	}
	want := program.KPIReport{
		At:            now,
		Partners:      9,
		Productive:    6,       // A, B, D, E, F, H
		Churned:       3,       // C, D, G
		ChurnRate:     3.0 / 9, // a third
		WithoutCohort: 2,       // J, K
		Cohorts: []program.Cohort{
			{Quarter: program.QuarterOf(day("2025-01-01")), Partners: 4, Productive: 3, ProductiveShare: .75,
				TimeToProductive: buckets(2, 0, 1, 0, 0), MedianDays: fp(45), // 42, 45, 212
				ProductiveByMonth: q1, Churned: 2, ChurnRate: .5, Revenue: 25000, RevenuePerPartner: 6250},
			{Quarter: program.QuarterOf(day("2025-07-01")), Partners: 3, Productive: 2, ProductiveShare: 2.0 / 3,
				TimeToProductive: buckets(0, 0, 1, 0, 1), MedianDays: fp(303), // (224 + 382) / 2
				ProductiveByMonth: q3, Churned: 1, ChurnRate: 1.0 / 3, Revenue: 9000, RevenuePerPartner: 3000},
			{Quarter: program.QuarterOf(day("2026-04-01")), Partners: 2, Productive: 1, ProductiveShare: .5,
				TimeToProductive: buckets(1, 0, 0, 0, 0), MedianDays: fp(75),
				ProductiveByMonth: q2, Churned: 0, ChurnRate: 0, Revenue: 0, RevenuePerPartner: 0},
		},
		// After 2025-12-06 12:00: deals E 8,000 P, E 2,000 ?, H 4,000 P,
		// J 7,000 V; purchases E 8,000 P, F 1,000 V, J 7,000 V.
		Sourcing: program.Sourcing{
			Deals: program.ByOrigin{Partner: program.Sum{Count: 2, Value: 12000}, Vendor: program.Sum{Count: 1, Value: 7000},
				Unknown: program.Sum{Count: 1, Value: 2000}, PartnerShare: fp(2.0 / 3)},
			Purchases: program.ByOrigin{Partner: program.Sum{Count: 1, Value: 8000}, Vendor: program.Sum{Count: 2, Value: 8000},
				PartnerShare: fp(1.0 / 3)},
		},
		// Cycles closed in the 12 months: E 50 days (a partner deal), J 45
		// (a vendor deal); A's closed in 2025.
		DealCycle: program.DealCycle{
			All:     program.CycleStats{Count: 2, MedianDays: fp(47.5)},
			Partner: program.CycleStats{Count: 1, MedianDays: fp(50)},
			Vendor:  program.CycleStats{Count: 1, MedianDays: fp(45)},
		},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("KPIs (-want, +got):\n%s", diff)
	}
}

func TestKPIsEmpty(t *testing.T) {
	t.Parallel()
	got := program.KPIs(nil, program.Config{}, now)
	if got.Partners != 0 || got.ChurnRate != 0 || len(got.Cohorts) != 0 || got.Sourcing.Deals.PartnerShare != nil || got.DealCycle.All.MedianDays != nil {
		t.Errorf("KPIs of no partner = %+v", got)
	}
}
