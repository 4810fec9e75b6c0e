package program

import "time"

// StageChange is one recorded change of a partner's lifecycle stage: an
// entry of its timeline of stages.
type StageChange struct {
	At time.Time `json:"at"`
	// From is "" for the first stage recorded for the partner.
	From StageName `json:"from"`
	To   StageName `json:"to"`
}

// NextStage is the change to record for the partner at now, if any: its
// stage (Stage) against the one last recorded (Facts.LastStage). The
// first recomputation records the partner's stage as a baseline (From
// "").
func NextStage(f Facts, cfg Config, now time.Time) (StageChange, bool) {
	to := Stage(f, cfg, now)
	if f.LastStage == to {
		return StageChange{}, false
	}
	return StageChange{At: now, From: f.LastStage, To: to}, true
}

// Fires says whether recording c fires the nurture trigger {stage: To}:
// only a change from a recorded stage. The baseline is not a change: the
// first nightly run after deploying on an existing base must not mail
// every dormant partner at once.
func (c StageChange) Fires() bool { return c.From != "" && c.From != c.To }
