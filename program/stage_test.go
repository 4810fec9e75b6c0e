package program_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/longtailhq/longtail/program"
)

func TestStage(t *testing.T) {
	t.Parallel()
	cfg := program.Config{} // defaults: productive_within 365d, dormant_after 180d
	recent := day("2026-12-01")
	deal := func(at string, v float64) program.Result { return program.Result{At: day(at), Value: v} }
	// 2025-12-06 12:00 is exactly 365 days (and 12 months) before now.
	yearAgo := time.Date(2025, 12, 6, 12, 0, 0, 0, time.UTC)
	// 2026-06-09 12:00 is exactly 180 days before now.
	dormantEdge := time.Date(2026, 6, 9, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		facts program.Facts
		want  program.StageName
	}{
		{"no join date, no result", program.Facts{LastEngagedAt: recent}, program.Recruited},
		{"joins next month", program.Facts{JoinedAt: day("2027-01-04")}, program.Recruited},
		{"joined, no deal yet", program.Facts{JoinedAt: day("2026-06-01"), LastEngagedAt: recent}, program.Onboarding},
		{"joined, never engaged, still within the year", program.Facts{JoinedAt: day("2026-03-01")}, program.Onboarding},
		{"exactly 12 months, no deal: still onboarding", program.Facts{JoinedAt: yearAgo, LastEngagedAt: recent}, program.Onboarding},
		{"12 months and a second, no deal: churned", program.Facts{JoinedAt: yearAgo.Add(-time.Second), LastEngagedAt: recent}, program.Churned},
		{"no deal at all in two years", program.Facts{JoinedAt: day("2024-12-01"), LastEngagedAt: recent}, program.Churned},
		{"a deal after the year: productive, not churned",
			program.Facts{JoinedAt: day("2025-06-01"), Deals: []program.Result{deal("2026-10-20", 500)}}, program.Productive},
		{"left the program", program.Facts{JoinedAt: day("2024-01-10"), LeftAt: day("2026-11-01"),
			Deals: []program.Result{deal("2024-03-01", 9000)}, LastEngagedAt: recent}, program.Churned},
		{"leaves next month: still in", program.Facts{JoinedAt: day("2026-05-10"), LeftAt: day("2027-01-01"), LastEngagedAt: recent}, program.Onboarding},
		{"a deal but no purchase", program.Facts{JoinedAt: day("2026-02-01"), Deals: []program.Result{deal("2026-10-15", 4000)}}, program.Productive},
		{"a purchase but no deal", program.Facts{JoinedAt: day("2026-02-01"), Purchases: []program.Result{deal("2026-11-15", 900)}}, program.Productive},
		{"first result in the last full quarter: no trend yet",
			program.Facts{JoinedAt: day("2026-02-01"), Deals: []program.Result{deal("2026-07-01", 4000)}, LastEngagedAt: recent}, program.Productive},
		{"a deal dated after now is not a result", program.Facts{JoinedAt: day("2026-06-01"), Deals: []program.Result{deal("2026-12-20", 4000)}}, program.Onboarding},
		{"Q2 10,000 then Q3 20,000: growing", program.Facts{JoinedAt: day("2025-06-01"),
			Deals: []program.Result{deal("2026-03-01", 1000), deal("2026-05-10", 10000)}, Purchases: []program.Result{deal("2026-08-10", 20000)},
			LastEngagedAt: recent}, program.Growing},
		{"Q2 10,000 then Q3 11,000: steady at the band's edge", program.Facts{JoinedAt: day("2025-06-01"),
			Deals: []program.Result{deal("2026-05-10", 10000), deal("2026-08-10", 11000)}, LastEngagedAt: recent}, program.Steady},
		{"Q2 10,000 then Q3 11,001: growing", program.Facts{JoinedAt: day("2025-06-01"),
			Deals: []program.Result{deal("2026-05-10", 10000), deal("2026-08-10", 11001)}, LastEngagedAt: recent}, program.Growing},
		{"Q2 10,000 then Q3 9,000: steady at the band's edge", program.Facts{JoinedAt: day("2025-06-01"),
			Deals: []program.Result{deal("2026-05-10", 10000), deal("2026-08-10", 9000)}, LastEngagedAt: recent}, program.Steady},
		{"Q2 10,000 then Q3 8,999: declining", program.Facts{JoinedAt: day("2025-06-01"),
			Deals: []program.Result{deal("2026-05-10", 10000), deal("2026-08-10", 8999)}, LastEngagedAt: recent}, program.Declining},
		{"deal and purchase values add up: Q2 6,000+4,000, Q3 5,000", program.Facts{JoinedAt: day("2025-06-01"),
			Deals: []program.Result{deal("2026-04-01", 6000), deal("2026-09-30", 5000)}, Purchases: []program.Result{deal("2026-06-30", 4000)},
			LastEngagedAt: recent}, program.Declining},
		{"nothing in either quarter, still engaged: steady", program.Facts{JoinedAt: day("2025-01-01"),
			Deals: []program.Result{deal("2025-06-01", 3000)}, LastEngagedAt: recent}, program.Steady},
		{"no result and no engagement for exactly 180 days: dormant", program.Facts{JoinedAt: day("2025-01-01"),
			Deals: []program.Result{deal("2025-06-01", 3000)}, LastEngagedAt: dormantEdge}, program.Dormant},
		{"a second short of 180 days: not dormant", program.Facts{JoinedAt: day("2025-01-01"),
			Deals: []program.Result{deal("2025-06-01", 3000)}, LastEngagedAt: dormantEdge.Add(time.Second)}, program.Steady},
		{"a purchase keeps it awake without engagement", program.Facts{JoinedAt: day("2025-01-01"),
			Deals: []program.Result{deal("2025-06-01", 3000)}, Purchases: []program.Result{deal("2026-09-01", 3000)}}, program.Growing},
		{"results but no join date: judged by its results", program.Facts{
			Deals: []program.Result{deal("2026-05-01", 5000), deal("2026-08-01", 5000)}, LastEngagedAt: recent}, program.Steady},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := program.Stage(tc.facts, cfg, now); got != tc.want {
				t.Errorf("Stage = %s, want %s", got, tc.want)
			}
		})
	}
}

// The configured windows move the boundaries.
func TestStageConfigured(t *testing.T) {
	t.Parallel()
	cfg := program.Config{ProductiveWithin: 180 * program.Day, DormantAfter: 30 * program.Day}
	tests := []struct {
		name  string
		facts program.Facts
		want  program.StageName
	}{
		{"181 days without a deal", program.Facts{JoinedAt: now.AddDate(0, 0, -181)}, program.Churned},
		{"180 days without a deal", program.Facts{JoinedAt: now.AddDate(0, 0, -180)}, program.Onboarding},
		{"30 days since the last deal", program.Facts{JoinedAt: day("2025-01-01"),
			Deals: []program.Result{{At: now.AddDate(0, 0, -30), Value: 1}}}, program.Dormant},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := program.Stage(tc.facts, cfg, now); got != tc.want {
				t.Errorf("Stage = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestTrendOf(t *testing.T) {
	t.Parallel()
	f := program.Facts{
		Deals:     []program.Result{{At: day("2026-04-01"), Value: 6000}, {At: day("2026-10-01"), Value: 99999}},
		Purchases: []program.Result{{At: day("2026-06-30").Add(24*time.Hour - time.Nanosecond), Value: 4000}, {At: day("2026-07-01"), Value: 5000}},
	}
	got := program.TrendOf(f, now)
	if got.Before.String() != "2026-Q2" || got.Last.String() != "2026-Q3" || got.BeforeResults != 10000 || got.LastResults != 5000 || got.Direction != program.Declining {
		t.Errorf("TrendOf = %+v, want 2026-Q2 10000 → 2026-Q3 5000 declining", got)
	}
}

func TestQuarter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		at   time.Time
		want string
		add  int
		then string
	}{
		{day("2026-01-01"), "2026-Q1", -1, "2025-Q4"},
		{day("2026-03-31"), "2026-Q1", 4, "2027-Q1"},
		{day("2026-04-01"), "2026-Q2", -5, "2025-Q1"},
		{time.Date(2026, 12, 31, 23, 30, 0, 0, time.FixedZone("", -3600)), "2027-Q1", 0, "2027-Q1"},
	}
	for _, tc := range tests {
		q := program.QuarterOf(tc.at)
		if q.String() != tc.want || q.Add(tc.add).String() != tc.then {
			t.Errorf("QuarterOf(%s) = %s, +%d = %s; want %s, %s", tc.at, q, tc.add, q.Add(tc.add), tc.want, tc.then)
		}
	}
}

func TestParseQuarter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"2026-Q3", true}, {"1999-Q1", true}, {"2026-Q5", false}, {"2026-Q0", false}, {"2026Q3", false},
		{"2026-q3", false}, {"2026-Q3x", false}, {" 2026-Q3", false}, {"", false},
	} {
		q, err := program.ParseQuarter(tc.in)
		if (err == nil) != tc.ok || (tc.ok && q.String() != tc.in) {
			t.Errorf("ParseQuarter(%q) = %s, %v; want ok %v", tc.in, q, err, tc.ok)
		}
	}
	// A KPI report survives a JSON round trip through its quarters.
	var c program.Cohort
	if err := json.Unmarshal([]byte(`{"quarter":"2025-Q4"}`), &c); err != nil || c.Quarter != program.QuarterOf(day("2025-11-30")) {
		t.Errorf("cohort quarter from JSON: %s, %v", c.Quarter, err)
	}
}
