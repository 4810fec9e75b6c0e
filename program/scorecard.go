package program

import (
	"slices"
	"time"
)

// Card is a partner's scorecard: results first (revenue and deals),
// then what the program makes of them.
type Card struct {
	PartnerID string    `json:"partner_id"`
	At        time.Time `json:"at"`
	// Revenue is the value of purchases, Deals the count and value of
	// registered deals, over the 90 days and the 12 months up to At.
	Revenue90 Sum `json:"revenue_90d"`
	Revenue12 Sum `json:"revenue_12m"`
	Deals90   Sum `json:"deals_90d"`
	Deals12   Sum `json:"deals_12m"`
	// Quarters are the results (deal plus purchase values) of the last
	// four full quarters, oldest first.
	Quarters []QuarterResults `json:"quarters"`
	// DaysToFirstDeal: from joining to the first registered deal; nil
	// without a deal or a join date (0 for a deal before joining).
	DaysToFirstDeal *float64 `json:"days_to_first_deal"`
	// Cycle is the deal-to-purchase cycle (see Cycles).
	Cycle CycleStats `json:"deal_to_purchase"`
	// Outcomes counts the hand-off outcomes of the last 12 months by kind.
	Outcomes map[string]int `json:"outcomes_12m"`
	// Engagement is the score now against 30 and 90 days ago.
	Engagement Engagement `json:"engagement"`
	Segment    string     `json:"segment"`
	Stage      StageName  `json:"stage"`
	Trend      Trend      `json:"trend"`
	Tier       Suggestion `json:"tier"`
	// StageChanges are the partner's recorded stage changes, newest first
	// (its timeline of stages; empty before the first recomputation).
	StageChanges []StageChange `json:"stage_changes"`
}

// QuarterResults are a quarter's deals and purchases.
type QuarterResults struct {
	Quarter   Quarter `json:"quarter"`
	Deals     Sum     `json:"deals"`
	Purchases Sum     `json:"purchases"`
}

// Engagement is the score's trend: Change30 and Change90 are the score
// now less the snapshot 30 and 90 days ago (nil without a snapshot);
// Direction compares with the 90-day snapshot (else the 30-day one) with
// the SteadyBand: growing, steady or declining ("" without a snapshot).
type Engagement struct {
	Now       float64   `json:"now"`
	Ago30     *float64  `json:"ago_30d"`
	Ago90     *float64  `json:"ago_90d"`
	Change30  *float64  `json:"change_30d"`
	Change90  *float64  `json:"change_90d"`
	Direction StageName `json:"direction,omitempty"`
}

// Scorecard is the partner's scorecard at now.
func Scorecard(f Facts, cfg Config, now time.Time) Card {
	cfg = cfg.WithDefaults()
	w90, w12 := Last90Days(now), Last12Months(now)
	c := Card{
		PartnerID: f.PartnerID,
		At:        now,
		Revenue90: sumIn(f.Purchases, w90),
		Revenue12: sumIn(f.Purchases, w12),
		Deals90:   sumIn(f.Deals, w90),
		Deals12:   sumIn(f.Deals, w12),
		Cycle:     cycleStats(Cycles(f, w12)),
		Outcomes:  map[string]int{},
		Segment:   f.Segment,
		Stage:     Stage(f, cfg, now),
		Trend:     TrendOf(f, now),
		Tier:      SuggestTier(f, cfg, now),
		// Never null: a page or client iterates it.
		StageChanges: append([]StageChange{}, f.StageChanges...),
	}
	last := QuarterOf(now).Add(-1)
	for q := last.Add(-3); q != last.Add(1); q = q.Add(1) {
		c.Quarters = append(c.Quarters, QuarterResults{Quarter: q, Deals: sumIn(f.Deals, q.Window()), Purchases: sumIn(f.Purchases, q.Window())})
	}
	if f.joined(now) {
		var first time.Time
		for _, d := range f.Deals {
			if !d.At.After(now) && (first.IsZero() || d.At.Before(first)) {
				first = d.At
			}
		}
		if !first.IsZero() {
			days := max(days(first.Sub(f.JoinedAt)), 0)
			c.DaysToFirstDeal = &days
		}
	}
	for _, o := range f.Outcomes {
		if w12.Has(o.At) {
			c.Outcomes[o.Kind]++
		}
	}
	c.Engagement = Engagement{Now: f.Score, Ago30: f.Score30, Ago90: f.Score90}
	if f.Score30 != nil {
		d := f.Score - *f.Score30
		c.Engagement.Change30 = &d
	}
	if f.Score90 != nil {
		d := f.Score - *f.Score90
		c.Engagement.Change90 = &d
	}
	switch {
	case f.Score90 != nil:
		c.Engagement.Direction = direction(*f.Score90, f.Score)
	case f.Score30 != nil:
		c.Engagement.Direction = direction(*f.Score30, f.Score)
	}
	return c
}

// Cycle is one deal matched with the purchase that closed it.
type Cycle struct {
	Deal     Result  `json:"deal"`
	Purchase Result  `json:"purchase"`
	Days     float64 `json:"days"`
}

// Cycles pairs the partner's deals with its purchases dated in w: the
// canonical events carry no deal id, so each purchase, oldest first,
// closes the oldest deal not yet closed that was registered at or before
// it (first in, first out). A purchase with no open deal before it is a
// purchase without a registered deal, and a deal never closed has no
// cycle yet.
func Cycles(f Facts, w Window) []Cycle {
	deals := sortedByTime(f.Deals, w.To)
	purchases := sortedByTime(f.Purchases, w.To)
	var out []Cycle
	next := 0
	for _, p := range purchases {
		if next >= len(deals) || deals[next].At.After(p.At) {
			continue
		}
		d := deals[next]
		next++
		if w.Has(p.At) {
			out = append(out, Cycle{Deal: d, Purchase: p, Days: days(p.At.Sub(d.At))})
		}
	}
	return out
}

// CycleStats sums up deal-to-purchase cycles.
type CycleStats struct {
	Count int `json:"count"`
	// MedianDays is nil without a cycle.
	MedianDays *float64 `json:"median_days"`
}

func cycleStats(cs []Cycle) CycleStats {
	ds := make([]float64, len(cs))
	for i, c := range cs {
		ds[i] = c.Days
	}
	return CycleStats{Count: len(cs), MedianDays: median(ds)}
}

// sortedByTime is the results at or before until, oldest first.
func sortedByTime(list []Result, until time.Time) []Result {
	out := make([]Result, 0, len(list))
	for _, r := range list {
		if !r.At.After(until) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b Result) int { return a.At.Compare(b.At) })
	return out
}

// median of vs (the mean of the middle two for an even count); nil for
// none. vs is sorted in place.
func median(vs []float64) *float64 {
	if len(vs) == 0 {
		return nil
	}
	slices.Sort(vs)
	m := vs[len(vs)/2]
	if len(vs)%2 == 0 {
		m = (vs[len(vs)/2-1] + m) / 2
	}
	return &m
}

// days is d in days, fractions kept.
func days(d time.Duration) float64 { return d.Hours() / 24 }
