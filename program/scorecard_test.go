package program_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/longtailhq/longtail/program"
)

// One partner with a year and a half of history, every figure of its
// scorecard worked out by hand below.
func TestScorecard(t *testing.T) {
	t.Parallel()
	r := func(at string, v float64, o program.Origin) program.Result {
		return program.Result{At: day(at), Value: v, Origin: o}
	}
	f := program.Facts{
		PartnerID: "acme",
		Tier:      "registered",
		JoinedAt:  day("2025-10-01"),
		Deals: []program.Result{ // given out of order on purpose
			r("2026-09-20", 12000, program.OriginPartner),
			r("2025-11-20", 10000, program.OriginPartner),
			r("2026-11-01", 5000, program.OriginPartner),
			r("2026-03-10", 8000, program.OriginVendor),
		},
		Purchases: []program.Result{
			r("2026-11-30", 12000, program.OriginPartner),
			r("2026-01-19", 9500, program.OriginPartner),
			r("2026-05-08", 8000, program.OriginVendor),
		},
		LastEngagedAt: day("2026-12-04"),
		EngagedMonths: months("2025-12", "2026-11", "2026-02", "2026-03"),
		Score:         24,
		Score30:       fp(18),
		Score90:       fp(30),
		Outcomes: []program.Outcome{
			{At: day("2025-11-01"), Kind: "not_now"}, // more than 12 months ago
			{At: day("2026-02-01"), Kind: "no_answer"},
			{At: day("2026-09-21"), Kind: "converted"},
		},
		Segment: "loyal",
	}
	got := program.Scorecard(f, program.Config{}, now)

	// 90 days: after 2026-09-07 12:00. 12 months: after 2025-12-06 12:00.
	want := program.Card{
		PartnerID: "acme",
		At:        now,
		Revenue90: program.Sum{Count: 1, Value: 12000}, // 11-30
		Revenue12: program.Sum{Count: 3, Value: 29500}, // 01-19, 05-08, 11-30
		Deals90:   program.Sum{Count: 2, Value: 17000}, // 09-20, 11-01
		Deals12:   program.Sum{Count: 3, Value: 25000}, // 03-10, 09-20, 11-01 (not 2025-11-20)
		Quarters: []program.QuarterResults{
			{Quarter: program.QuarterOf(day("2025-10-01")), Deals: program.Sum{Count: 1, Value: 10000}},
			{Quarter: program.QuarterOf(day("2026-01-01")), Deals: program.Sum{Count: 1, Value: 8000}, Purchases: program.Sum{Count: 1, Value: 9500}},
			{Quarter: program.QuarterOf(day("2026-04-01")), Purchases: program.Sum{Count: 1, Value: 8000}},
			{Quarter: program.QuarterOf(day("2026-07-01")), Deals: program.Sum{Count: 1, Value: 12000}},
		},
		// 2025-10-01 → 2025-11-20: 31 + 19 days.
		DaysToFirstDeal: fp(50),
		// First in, first out: 2025-11-20 → 2026-01-19 (60 days),
		// 2026-03-10 → 2026-05-08 (59), 2026-09-20 → 2026-11-30 (71);
		// the deal of 2026-11-01 is still open. Median 60.
		Cycle:    program.CycleStats{Count: 3, MedianDays: fp(60)},
		Outcomes: map[string]int{"no_answer": 1, "converted": 1},
		// 24 against 18 and 30: +6, −6; 24 is more than 10% below 30.
		Engagement: program.Engagement{Now: 24, Ago30: fp(18), Ago90: fp(30), Change30: fp(6), Change90: fp(-6), Direction: program.Declining},
		Segment:    "loyal",
		// 2026-Q2 8,000 (a purchase) → 2026-Q3 12,000 (a deal): growing.
		Stage: program.Growing,
		Trend: program.Trend{Before: program.QuarterOf(day("2026-04-01")), BeforeResults: 8000,
			Last: program.QuarterOf(day("2026-07-01")), LastResults: 12000, Direction: program.Growing},
		// 3 deals ≥ 2 and a score of 24 ≥ 10: silver; not gold.
		Tier: program.Suggestion{Current: "registered", Suggested: "silver", Move: program.MoveUp,
			Deals12: 3, Revenue12: 29500, Score: 24, EngagedMonths: 10, CountedMonths: 12,
			Reason: map[string]string{
				"en": "3 registered deals and €29.5k in 12 months, engaged 10 of 12 months: registered → silver",
				"fr": "3 affaires enregistrées et 29,5 k€ en 12 mois, actif 10 mois sur 12 : registered → silver",
			}},
		StageChanges: []program.StageChange{},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Scorecard (-want, +got):\n%s", diff)
	}
	if _, err := json.Marshal(got); err != nil {
		t.Errorf("the scorecard does not encode: %v", err)
	}
}

// The boundaries on a scorecard: no deal at all, a deal but no
// purchase, a purchase with no deal before it.
func TestScorecardBoundaries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		facts     program.Facts
		firstDeal *float64
		cycle     program.CycleStats
		stage     program.StageName
	}{
		{"no deal at all", program.Facts{JoinedAt: day("2025-01-01")}, nil, program.CycleStats{}, program.Churned},
		{"a deal but no purchase", program.Facts{JoinedAt: day("2026-10-01"), Deals: []program.Result{{At: day("2026-10-31"), Value: 7000}}},
			fp(30), program.CycleStats{}, program.Productive},
		{"a purchase before any deal", program.Facts{JoinedAt: day("2026-10-01"),
			Purchases: []program.Result{{At: day("2026-10-05"), Value: 100}}, Deals: []program.Result{{At: day("2026-10-06")}}},
			fp(5), program.CycleStats{}, program.Productive},
		{"a deal before the join date counts as at joining", program.Facts{JoinedAt: day("2026-10-01"),
			Deals: []program.Result{{At: day("2026-09-01")}}, Purchases: []program.Result{{At: day("2026-09-01").Add(36 * 3600e9)}}},
			fp(0), program.CycleStats{Count: 1, MedianDays: fp(1.5)}, program.Productive},
		{"no join date: no time to first deal", program.Facts{Deals: []program.Result{{At: day("2026-10-01")}}},
			nil, program.CycleStats{}, program.Productive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := program.Scorecard(tc.facts, program.Config{}, now)
			if diff := cmp.Diff(tc.firstDeal, c.DaysToFirstDeal); diff != "" {
				t.Errorf("days to first deal (-want, +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.cycle, c.Cycle); diff != "" {
				t.Errorf("cycle (-want, +got):\n%s", diff)
			}
			if c.Stage != tc.stage {
				t.Errorf("stage %s, want %s", c.Stage, tc.stage)
			}
			if c.Engagement.Direction != "" || c.Engagement.Change30 != nil {
				t.Errorf("engagement trend without snapshots: %+v", c.Engagement)
			}
		})
	}
}
