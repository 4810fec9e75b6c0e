package program

import "time"

// StageName is a partner's lifecycle stage.
type StageName string

// The lifecycle stages, in the order a partner goes through them.
const (
	// Recruited: known to the program, not joined yet (no joined_at, or
	// one in the future) and no result.
	Recruited StageName = "recruited"
	// Onboarding: joined, no result yet, and still within
	// program.productive_within of joining.
	Onboarding StageName = "onboarding"
	// Productive: has a first result (a deal or a purchase) but not two
	// full quarters of history to judge a trend by.
	Productive StageName = "productive"
	// Growing, Steady, Declining: the results of the last full quarter
	// against the one before (see Trend).
	Growing   StageName = "growing"
	Steady    StageName = "steady"
	Declining StageName = "declining"
	// Dormant: has had results, but no engagement, deal or purchase for
	// program.dormant_after.
	Dormant StageName = "dormant"
	// Churned: left the program, or past program.productive_within with
	// no result ever.
	Churned StageName = "churned"
)

// Stages lists the stages in lifecycle order.
func Stages() []StageName {
	return []StageName{Recruited, Onboarding, Productive, Growing, Steady, Declining, Dormant, Churned}
}

// Stage is the partner's lifecycle stage at now. The rules, first match
// wins:
//
//  1. churned when it left the program (left_at at or before now);
//  2. with no result (no deal and no purchase) at or before now:
//     recruited when it has not joined (no joined_at, or one after now);
//     onboarding while now ≤ joined_at + productive_within (the exact
//     boundary is still onboarding); churned after;
//  3. dormant when its last engagement, deal or purchase is dormant_after
//     or more before now;
//  4. productive when its first result is in the last full quarter or
//     later (no quarter before it to compare with);
//  5. else growing, steady or declining by Trend.
//
// A partner with results but no joined_at is judged by rules 3–5: its
// results say it is in the program. One that has not engaged yet within
// productive_within is still onboarding, never dormant: dormancy is for
// partners that were productive.
func Stage(f Facts, cfg Config, now time.Time) StageName {
	cfg = cfg.WithDefaults()
	if f.hasLeft(now) {
		return Churned
	}
	first, ok := f.firstResult(now)
	if !ok {
		switch {
		case !f.joined(now):
			return Recruited
		case !now.After(f.JoinedAt.Add(cfg.ProductiveWithin)):
			return Onboarding
		default:
			return Churned
		}
	}
	if now.Sub(f.lastActivity(now)) >= cfg.DormantAfter {
		return Dormant
	}
	t := TrendOf(f, now)
	if !first.Before(t.Last.Start()) {
		return Productive
	}
	return t.Direction
}

// Trend compares the partner's results (purchase values plus deal
// values) in the last full calendar quarter (UTC) with the quarter
// before: growing when the last is more than SteadyBand (10%) above the
// one before, declining when more than 10% below, steady otherwise (two
// empty quarters included). From nothing to anything is growing.
type Trend struct {
	// Before, Last are the two quarters compared; BeforeResults and
	// LastResults their results.
	Before        Quarter   `json:"before"`
	BeforeResults float64   `json:"before_results"`
	Last          Quarter   `json:"last"`
	LastResults   float64   `json:"last_results"`
	Direction     StageName `json:"direction"`
}

// TrendOf is the partner's results trend at now.
func TrendOf(f Facts, now time.Time) Trend {
	last := QuarterOf(now).Add(-1)
	t := Trend{Before: last.Add(-1), Last: last}
	t.BeforeResults = quarterResults(f, t.Before)
	t.LastResults = quarterResults(f, t.Last)
	t.Direction = direction(t.BeforeResults, t.LastResults)
	return t
}

// direction of a change from before to after, with the SteadyBand.
func direction(before, after float64) StageName {
	// Differences rather than before×1.1: 10000×1.1 is not 11000 in
	// floating point, and the band's edge must be exactly steady.
	switch band := before * SteadyBand; {
	case after-before > band:
		return Growing
	case before-after > band:
		return Declining
	default:
		return Steady
	}
}

// fell says whether results fell from before to after by more than the
// SteadyBand.
func fell(before, after float64) bool { return direction(before, after) == Declining }

func quarterResults(f Facts, q Quarter) float64 {
	w := q.Window()
	return sumIn(f.Deals, w).Value + sumIn(f.Purchases, w).Value
}
