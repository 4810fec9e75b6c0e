package program_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/longtailhq/longtail/program"
)

func TestAtRisk(t *testing.T) {
	t.Parallel()
	cfg := program.Config{} // productive_within 365d, exit_after 30d
	recent := day("2026-12-01")
	// Results of 30,000, 20,000 and 10,000 in 2026-Q1, Q2 and Q3.
	falling := []program.Result{{At: day("2026-02-01"), Value: 30000}, {At: day("2026-05-01"), Value: 20000}, {At: day("2026-08-01"), Value: 10000}}
	joinedLong := day("2024-01-15")
	noDealSince := day("2025-06-01").Add(365 * program.Day) // 2026-06-01
	tests := []struct {
		name  string
		facts program.Facts
		want  *program.Risk
	}{
		{"past productive_within, no deal: re-engage once",
			program.Facts{PartnerID: "p", JoinedAt: day("2025-06-01"), LastEngagedAt: recent},
			&program.Risk{PartnerID: "p", Rule: program.RiskNoDeal, Stage: program.Churned, Since: noDealSince, Action: program.ActionReengage, State: program.LetGoRecommended}},
		{"exactly productive_within: not yet",
			program.Facts{PartnerID: "p", JoinedAt: now.Add(-365 * program.Day)}, nil},
		{"re-engaged 16 days ago: wait",
			program.Facts{PartnerID: "p", JoinedAt: day("2025-06-01"), ReengagedAt: day("2026-11-20")},
			&program.Risk{PartnerID: "p", Rule: program.RiskNoDeal, Stage: program.Churned, Since: noDealSince, Action: program.ActionWait, State: program.LetGoReengaging}},
		{"re-engaged exactly 30 days ago and still no deal: exit",
			program.Facts{PartnerID: "p", JoinedAt: day("2025-06-01"), ReengagedAt: now.AddDate(0, 0, -30)},
			&program.Risk{PartnerID: "p", Rule: program.RiskNoDeal, Stage: program.Churned, Since: noDealSince, Action: program.ActionExit, State: program.LetGoReengaging}},
		{"re-engaged before the risk began: that flow does not count",
			program.Facts{PartnerID: "p", JoinedAt: day("2025-06-01"), ReengagedAt: day("2026-01-10")},
			&program.Risk{PartnerID: "p", Rule: program.RiskNoDeal, Stage: program.Churned, Since: noDealSince, Action: program.ActionReengage, State: program.LetGoRecommended}},
		{"already exited: listed so it can be reversed",
			program.Facts{PartnerID: "p", JoinedAt: day("2025-06-01"), ReengagedAt: day("2026-07-01"), ExitedAt: day("2026-08-01")},
			&program.Risk{PartnerID: "p", Rule: program.RiskNoDeal, Stage: program.Churned, Since: noDealSince, Action: program.ActionExited, State: program.LetGoExited}},
		{"kept after it was found at risk: kept",
			program.Facts{PartnerID: "p", JoinedAt: day("2025-06-01"), ReengagedAt: day("2026-07-01"), KeptAt: day("2026-08-01")},
			&program.Risk{PartnerID: "p", Rule: program.RiskNoDeal, Stage: program.Churned, Since: noDealSince, Action: program.ActionKept, State: program.LetGoKept}},
		{"kept before it was found at risk: that does not count",
			program.Facts{PartnerID: "p", JoinedAt: day("2025-06-01"), KeptAt: day("2026-01-01")},
			&program.Risk{PartnerID: "p", Rule: program.RiskNoDeal, Stage: program.Churned, Since: noDealSince, Action: program.ActionReengage, State: program.LetGoRecommended}},
		{"left the program: gone, not at risk",
			program.Facts{PartnerID: "p", JoinedAt: day("2025-01-01"), LeftAt: day("2026-10-01")}, nil},
		{"a deal but no purchase, no deal since: not at risk (nothing fell)",
			program.Facts{PartnerID: "p", JoinedAt: joinedLong, Deals: []program.Result{{At: day("2024-05-01"), Value: 3000}}}, nil},
		{"results fell two quarters in a row",
			program.Facts{PartnerID: "p", JoinedAt: joinedLong, Purchases: falling, LastEngagedAt: recent},
			&program.Risk{PartnerID: "p", Rule: program.RiskFalling, Stage: program.Declining, Since: day("2026-10-01"),
				Quarters: []float64{30000, 20000, 10000}, Action: program.ActionReengage, State: program.LetGoRecommended}},
		{"falling, re-engaged in Q3 before the second fall was known: re-engage",
			program.Facts{PartnerID: "p", JoinedAt: joinedLong, Purchases: falling, LastEngagedAt: recent, ReengagedAt: day("2026-09-01")},
			&program.Risk{PartnerID: "p", Rule: program.RiskFalling, Stage: program.Declining, Since: day("2026-10-01"),
				Quarters: []float64{30000, 20000, 10000}, Action: program.ActionReengage, State: program.LetGoRecommended}},
		{"falling, re-engaged on 1 October: exit by now",
			program.Facts{PartnerID: "p", JoinedAt: joinedLong, Purchases: falling, LastEngagedAt: recent, ReengagedAt: day("2026-10-01")},
			&program.Risk{PartnerID: "p", Rule: program.RiskFalling, Stage: program.Declining, Since: day("2026-10-01"),
				Quarters: []float64{30000, 20000, 10000}, Action: program.ActionExit, State: program.LetGoReengaging}},
		{"fell to nothing, no join date, dormant",
			program.Facts{PartnerID: "p", Deals: []program.Result{{At: day("2026-01-05"), Value: 800}, {At: day("2026-04-05"), Value: 500}}},
			&program.Risk{PartnerID: "p", Rule: program.RiskFalling, Stage: program.Dormant, Since: day("2026-10-01"),
				Quarters: []float64{800, 500, 0}, Action: program.ActionReengage, State: program.LetGoRecommended}},
		{"fell once, rose once: not at risk",
			program.Facts{PartnerID: "p", JoinedAt: joinedLong, LastEngagedAt: recent,
				Deals: []program.Result{{At: day("2026-02-01"), Value: 10000}, {At: day("2026-05-01"), Value: 20000}, {At: day("2026-08-01"), Value: 10000}}}, nil},
		{"the first fall within the band: not at risk",
			program.Facts{PartnerID: "p", JoinedAt: joinedLong, LastEngagedAt: recent,
				Deals: []program.Result{{At: day("2026-02-01"), Value: 30000}, {At: day("2026-05-01"), Value: 27000}, {At: day("2026-08-01"), Value: 10000}}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := program.AtRisk(tc.facts, cfg, now)
			if tc.want == nil {
				if ok {
					t.Errorf("at risk: %+v", got)
				}
				return
			}
			if !ok {
				t.Fatal("not at risk")
			}
			if diff := cmp.Diff(*tc.want, got); diff != "" {
				t.Errorf("AtRisk (-want, +got):\n%s", diff)
			}
		})
	}
}

// The list puts what to do first: exits, then re-engagements (the
// longest at risk first), waits, and the exited last.
func TestAtRiskAll(t *testing.T) {
	t.Parallel()
	all := []program.Facts{
		{PartnerID: "fine", JoinedAt: day("2026-06-01")},
		{PartnerID: "exited", JoinedAt: day("2024-01-01"), ReengagedAt: day("2025-02-01"), ExitedAt: day("2025-03-05")},
		{PartnerID: "waiting", JoinedAt: day("2025-01-01"), ReengagedAt: day("2026-11-30")},
		{PartnerID: "late", JoinedAt: day("2025-09-01")},
		{PartnerID: "early", JoinedAt: day("2024-09-01")},
		{PartnerID: "let-go", JoinedAt: day("2025-03-01"), ReengagedAt: day("2026-04-01")},
	}
	var got []string
	for _, r := range program.AtRiskAll(all, program.Config{}, now) {
		got = append(got, r.PartnerID+":"+r.Action)
	}
	want := []string{"let-go:exit", "early:reengage", "late:reengage", "waiting:wait", "exited:exited"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AtRiskAll (-want, +got):\n%s", diff)
	}
}

// The last re-engagement flow settles once every contact's enrollment is
// over: kept when one answered, exited otherwise.
func TestLetGoSettled(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		calls []program.LastCall
		want  string
	}{
		{"nobody enrolled", nil, program.LetGoExited},
		{"one still running", []program.LastCall{{Over: true}, {}}, ""},
		{"all ended unanswered", []program.LastCall{{Over: true}, {Over: true}}, program.LetGoExited},
		{"one answered", []program.LastCall{{Over: true}, {Over: true, Completed: true}}, program.LetGoKept},
	} {
		if got := program.LetGoSettled(tc.calls); got != tc.want {
			t.Errorf("%s: LetGoSettled = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// A stage is recorded when it differs from the last recorded one; the
// first is a baseline that fires no trigger.
func TestNextStage(t *testing.T) {
	t.Parallel()
	f := program.Facts{PartnerID: "p", JoinedAt: day("2026-06-01")} // onboarding at now
	c, ok := program.NextStage(f, program.Config{}, now)
	if !ok || c.From != "" || c.To != program.Onboarding || c.Fires() {
		t.Errorf("first: %+v %v, want a baseline onboarding that does not fire", c, ok)
	}
	f.LastStage = program.Onboarding
	if c, ok := program.NextStage(f, program.Config{}, now); ok {
		t.Errorf("unchanged: %+v recorded", c)
	}
	f.LastStage = program.Recruited
	c, ok = program.NextStage(f, program.Config{}, now)
	if !ok || c.From != program.Recruited || c.To != program.Onboarding || !c.Fires() || !c.At.Equal(now) {
		t.Errorf("changed: %+v %v, want recruited → onboarding that fires", c, ok)
	}
}
