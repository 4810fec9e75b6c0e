package program

import (
	"fmt"
	"time"
)

// Origin says who brought a deal or a purchase (the canonical event's
// optional "origin" field).
type Origin string

// Origins of deals and purchases.
const (
	// OriginPartner: the partner found the opportunity.
	OriginPartner Origin = "partner"
	// OriginVendor: the vendor brought the opportunity to the partner.
	OriginVendor Origin = "vendor"
	// OriginUnknown: the event did not say.
	OriginUnknown Origin = ""
)

// Result is one dated deal or purchase with its value.
type Result struct {
	At     time.Time `json:"at"`
	Value  float64   `json:"value"`
	Origin Origin    `json:"origin,omitempty"`
}

// Outcome is a rep's recorded outcome of a hand-off (repqueue's kinds:
// converted, callback, not_now, not_a_fit, wrong_contact, no_answer).
type Outcome struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
}

// Facts are everything the program view knows of one partner, gathered
// by the caller (from Redis and the directory) so that every function
// here is pure. Dates after now are ignored by every function.
type Facts struct {
	PartnerID string `json:"partner_id"`
	// Tier is the partner's current tier ("" when none).
	Tier string `json:"tier,omitempty"`
	// JoinedAt: when the partner joined the program; zero when unknown.
	JoinedAt time.Time `json:"joined_at"`
	// LeftAt: when it left the program; zero while it is in.
	LeftAt time.Time `json:"left_at"`
	// Deals are its registered deals (deal.registered, and any other
	// type the caller counts as a deal), in any order.
	Deals []Result `json:"deals"`
	// Purchases are its purchases, in any order; their values are its
	// revenue.
	Purchases []Result `json:"purchases"`
	// LastEngagedAt: its last scored engagement; zero for none.
	LastEngagedAt time.Time `json:"last_engaged_at"`
	// EngagedMonths are the calendar months (any instant in each, UTC)
	// in which it had at least one scored engagement.
	EngagedMonths []time.Time `json:"engaged_months"`
	// Score is its partner engagement score now; Score30 and Score90 the
	// daily snapshots 30 and 90 days ago, nil where none was kept.
	Score   float64  `json:"score"`
	Score30 *float64 `json:"score_30d_ago"`
	Score90 *float64 `json:"score_90d_ago"`
	// Outcomes are the outcomes reps recorded on its hand-offs.
	Outcomes []Outcome `json:"outcomes"`
	// Segment is its RFM segment ("" before the first RFM run).
	Segment string `json:"segment,omitempty"`
	// ReengagedAt: when its last re-engagement flow started; zero for
	// never. ExitedAt: when it was suppressed with reason program_exit;
	// zero while it is mailed.
	ReengagedAt time.Time `json:"reengaged_at"`
	ExitedAt    time.Time `json:"exited_at"`
	// KeptAt: when someone chose to keep it (the "keep" action, or its
	// contacts answered the last re-engagement flow); zero for never.
	KeptAt time.Time `json:"kept_at"`
	// LastStage is the stage last recorded for it, at LastStageAt ("" and
	// zero before the first recomputation); StageChanges the recorded
	// changes, newest first.
	LastStage    StageName     `json:"last_stage,omitempty"`
	LastStageAt  time.Time     `json:"last_stage_at"`
	StageChanges []StageChange `json:"stage_changes"`
}

// firstResult is the earliest deal or purchase at or before now.
func (f *Facts) firstResult(now time.Time) (time.Time, bool) {
	var first time.Time
	for _, list := range [][]Result{f.Deals, f.Purchases} {
		for _, r := range list {
			if !r.At.After(now) && (first.IsZero() || r.At.Before(first)) {
				first = r.At
			}
		}
	}
	return first, !first.IsZero()
}

// lastActivity is the latest engagement, deal or purchase at or before
// now.
func (f *Facts) lastActivity(now time.Time) time.Time {
	var last time.Time
	if !f.LastEngagedAt.After(now) {
		last = f.LastEngagedAt
	}
	for _, list := range [][]Result{f.Deals, f.Purchases} {
		for _, r := range list {
			if !r.At.After(now) && r.At.After(last) {
				last = r.At
			}
		}
	}
	return last
}

// hasLeft says whether the partner left the program by now.
func (f *Facts) hasLeft(now time.Time) bool {
	return !f.LeftAt.IsZero() && !f.LeftAt.After(now)
}

// joined says whether the partner is known to have joined by now.
func (f *Facts) joined(now time.Time) bool {
	return !f.JoinedAt.IsZero() && !f.JoinedAt.After(now)
}

// Window is the half-open span (From, To] of a figure: an event counts
// when it is after From and not after To.
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Last90Days is the window of the 90 days up to now.
func Last90Days(now time.Time) Window { return Window{From: now.AddDate(0, 0, -90), To: now} }

// Last12Months is the window of the 12 calendar months up to now (now
// less one year, to the second).
func Last12Months(now time.Time) Window { return Window{From: now.AddDate(-1, 0, 0), To: now} }

// Has says whether t falls in the window.
func (w Window) Has(t time.Time) bool { return t.After(w.From) && !t.After(w.To) }

// Sum is a count and total value of results.
type Sum struct {
	Count int     `json:"count"`
	Value float64 `json:"value"`
}

func sumIn(list []Result, w Window) Sum {
	var s Sum
	for _, r := range list {
		if w.Has(r.At) {
			s.Count++
			s.Value += r.Value
		}
	}
	return s
}

// Quarter is a calendar quarter in UTC.
type Quarter struct {
	Year int
	Q    int // 1–4
}

// QuarterOf is the quarter t falls in, in UTC.
func QuarterOf(t time.Time) Quarter {
	t = t.UTC()
	return Quarter{Year: t.Year(), Q: (int(t.Month())-1)/3 + 1}
}

// Start is the quarter's first instant.
func (q Quarter) Start() time.Time {
	return time.Date(q.Year, time.Month(3*(q.Q-1)+1), 1, 0, 0, 0, 0, time.UTC)
}

// Add is the quarter n quarters later (earlier for a negative n).
func (q Quarter) Add(n int) Quarter { return QuarterOf(q.Start().AddDate(0, 3*n, 0)) }

// Window is the quarter as a window: [Start, next Start). Expressed as
// (From, To] with From one nanosecond before the start so that an event
// at the quarter's first instant belongs to it.
func (q Quarter) Window() Window {
	return Window{From: q.Start().Add(-1), To: q.Add(1).Start().Add(-1)}
}

// String is "2026-Q3".
func (q Quarter) String() string { return fmt.Sprintf("%d-Q%d", q.Year, q.Q) }

// MarshalText writes the quarter as String does.
func (q Quarter) MarshalText() ([]byte, error) { return []byte(q.String()), nil }

// ParseQuarter reads "2026-Q3".
func ParseQuarter(s string) (Quarter, error) {
	var q Quarter
	var rest string
	if n, _ := fmt.Sscanf(s, "%4d-Q%1d%s", &q.Year, &q.Q, &rest); n != 2 || q.Q < 1 || q.Q > 4 || q.String() != s {
		return Quarter{}, fmt.Errorf("program: %q is not a quarter such as 2026-Q3", s)
	}
	return q, nil
}

// UnmarshalText reads the quarter as ParseQuarter does.
func (q *Quarter) UnmarshalText(b []byte) error {
	p, err := ParseQuarter(string(b))
	if err != nil {
		return err
	}
	*q = p
	return nil
}
