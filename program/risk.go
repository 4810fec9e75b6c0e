package program

import (
	"cmp"
	"slices"
	"time"
)

// Why a partner is at risk.
const (
	// RiskNoDeal: joined more than program.productive_within ago and
	// never brought a deal or a purchase.
	RiskNoDeal = "no_deal"
	// RiskFalling: has results, and they fell two quarters in a row: each
	// of the last two full quarters more than SteadyBand below the one
	// before.
	RiskFalling = "falling"
)

// Recommended actions for a partner at risk: one last re-engagement
// flow, then stop mailing it.
const (
	// ActionReengage: start one last re-engagement flow (it has had none
	// since it became at risk).
	ActionReengage = "reengage"
	// ActionWait: its last re-engagement flow started less than
	// program.exit_after ago; give it time.
	ActionWait = "wait"
	// ActionExit: re-engaged program.exit_after or more ago and still at
	// risk: stop mailing it, with a suppression of reason
	// program_exit (reversible).
	ActionExit = "exit"
	// ActionExited: already suppressed with reason program_exit; listed
	// so that the exit can be reversed.
	ActionExited = "exited"
)

// SuppressionReason is the reason of the suppression an exit records.
const SuppressionReason = "program_exit"

// Risk is a partner on the "let go" list.
type Risk struct {
	PartnerID string    `json:"partner_id"`
	Rule      string    `json:"rule"`
	Stage     StageName `json:"stage"`
	// Since is when the risk became known: joined_at + productive_within
	// for no_deal; for falling, the end of the second quarter that fell
	// (the start of now's quarter). A re-engagement flow older than that
	// was for something else.
	Since time.Time `json:"since"`
	// Quarters are the three quarters' results of a falling partner,
	// oldest first.
	Quarters []float64 `json:"quarters,omitempty"`
	Action   string    `json:"action"`
	// State is where the "let go" action stands: recommended,
	// reengaging, exited or kept (LetGo...).
	State string `json:"state"`
}

// AtRisk says whether the partner is at risk at now, and what to do. A
// partner that left the program is gone, never at risk. The no_deal rule
// wins over falling (a partner with no result cannot fall).
//
// The action: exited when the partner is suppressed with reason
// program_exit; else reengage when it had no re-engagement flow since it
// was found at risk (Since); wait while that flow is younger than
// exit_after; exit after: one last flow, not one a quarter. A partner
// that answers it with a deal leaves the no_deal rule by itself; one
// whose results still fell is let go.
func AtRisk(f Facts, cfg Config, now time.Time) (Risk, bool) {
	cfg = cfg.WithDefaults()
	if f.hasLeft(now) {
		return Risk{}, false
	}
	r := Risk{PartnerID: f.PartnerID, Stage: Stage(f, cfg, now)}
	_, productive := f.firstResult(now)
	switch {
	case !productive && f.joined(now) && now.After(f.JoinedAt.Add(cfg.ProductiveWithin)):
		r.Rule, r.Since = RiskNoDeal, f.JoinedAt.Add(cfg.ProductiveWithin)
	case productive:
		last := QuarterOf(now).Add(-1)
		q := []float64{quarterResults(f, last.Add(-2)), quarterResults(f, last.Add(-1)), quarterResults(f, last)}
		if !fell(q[0], q[1]) || !fell(q[1], q[2]) {
			return Risk{}, false
		}
		r.Rule, r.Since, r.Quarters = RiskFalling, last.Add(1).Start(), q
	default:
		return Risk{}, false
	}
	reengaged := !f.ReengagedAt.IsZero() && !f.ReengagedAt.After(now) && !f.ReengagedAt.Before(r.Since)
	kept := !f.KeptAt.IsZero() && !f.KeptAt.After(now) && !f.KeptAt.Before(r.Since)
	switch {
	case !f.ExitedAt.IsZero() && !f.ExitedAt.After(now):
		r.Action, r.State = ActionExited, LetGoExited
	case kept:
		r.Action, r.State = ActionKept, LetGoKept
	case !reengaged:
		r.Action, r.State = ActionReengage, LetGoRecommended
	case now.Sub(f.ReengagedAt) < cfg.ExitAfter:
		r.Action, r.State = ActionWait, LetGoReengaging
	default:
		r.Action, r.State = ActionExit, LetGoReengaging
	}
	return r, true
}

// AtRiskAll is the "let go" list of all partners: the ones to act on
// first (exit, then reengage, wait, exited), then the longest at risk,
// then by partner id.
func AtRiskAll(all []Facts, cfg Config, now time.Time) []Risk {
	var out []Risk
	for _, f := range all {
		if r, ok := AtRisk(f, cfg, now); ok {
			out = append(out, r)
		}
	}
	order := map[string]int{ActionExit: 0, ActionReengage: 1, ActionWait: 2, ActionKept: 3, ActionExited: 4}
	slices.SortFunc(out, func(a, b Risk) int {
		return cmp.Or(cmp.Compare(order[a.Action], order[b.Action]), a.Since.Compare(b.Since), cmp.Compare(a.PartnerID, b.PartnerID))
	})
	return out
}
