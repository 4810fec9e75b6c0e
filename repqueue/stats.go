package repqueue

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ttcWindow is how many recent times to claim the quantiles are taken
// over, per rep and overall.
const ttcWindow = 1000

// KPI hash fields. Stored: never rename one.
const (
	kHandoffs    = "handoffs"
	kUnrouted    = "unrouted"
	kClaimed     = "claimed"
	kBreaches    = "breaches"
	kEscalations = "escalations"
	kOutcome     = "o:"
	// kRefusedUnassigned counts crossings of the unassigned partner that
	// Handoff refused (overall only).
	kRefusedUnassigned = "refused_unassigned"
)

// Stats are the queue KPIs of a rep, or of the whole queue.
type Stats struct {
	// Handoffs: for a rep, entries assigned to the rep (by routing, SLA
	// reassignment or escalation); overall, handoffs created.
	Handoffs int `json:"handoffs"`
	// Unrouted: handoffs no rep could take when they were created
	// (overall only).
	Unrouted int `json:"unrouted"`
	Claimed  int `json:"claimed"`
	// MedianTimeToClaim and P90TimeToClaim are over the last 1000 claims,
	// measured from when the entry became available to the claiming rep.
	MedianTimeToClaim time.Duration `json:"median_time_to_claim"`
	P90TimeToClaim    time.Duration `json:"p90_time_to_claim"`
	// SLABreaches: for a rep, breaches the rep let happen.
	SLABreaches int `json:"sla_breaches"`
	Escalations int `json:"escalations"`
	// Outcomes counts recorded outcomes by kind (recorded by the rep).
	Outcomes map[string]int `json:"outcomes"`
	// ConversionRate is converted outcomes per handoff (0 with none).
	ConversionRate float64 `json:"conversion_rate"`

	// RefusedUnassigned: crossings of the unassigned pseudo-partner that
	// were refused rather than handed off (overall only; expected 0).
	RefusedUnassigned int `json:"refused_unassigned"`
}

func kpiKeys(repID string) (hash, ttc string) {
	if repID == "" {
		return allKPIKey, allTTCKey
	}
	return repKPIKey(repID), repTTCKey(repID)
}

// countHandoff counts an entry given to repID ("" = unrouted). Overall,
// only creations count (assigned is false for re-routing).
func (q *Queue) countHandoff(ctx context.Context, pipe redis.Pipeliner, repID string) {
	now := q.now()
	day := dayKPIKey(now.Format(time.DateOnly))
	pipe.HIncrBy(ctx, allKPIKey, kHandoffs, 1)
	pipe.HIncrBy(ctx, day, kHandoffs, 1)
	// A TTL from the clock, not an instant: Redis expires on its own
	// wall clock.
	pipe.Expire(ctx, day, time.Duration(dayKPIDays)*24*time.Hour)
	if repID == "" {
		pipe.HIncrBy(ctx, allKPIKey, kUnrouted, 1)
		pipe.HIncrBy(ctx, day, kUnrouted, 1)
		return
	}
	pipe.HIncrBy(ctx, repKPIKey(repID), kHandoffs, 1)
}

func (q *Queue) countAssignment(ctx context.Context, pipe redis.Pipeliner, repID string) {
	pipe.HIncrBy(ctx, repKPIKey(repID), kHandoffs, 1)
}

func (q *Queue) countClaim(ctx context.Context, pipe redis.Pipeliner, repID string, ttc time.Duration) {
	for _, id := range []string{repID, ""} {
		h, l := kpiKeys(id)
		pipe.HIncrBy(ctx, h, kClaimed, 1)
		pipe.LPush(ctx, l, ttc.Milliseconds())
		pipe.LTrim(ctx, l, 0, ttcWindow-1)
	}
}

func (q *Queue) countOutcome(ctx context.Context, pipe redis.Pipeliner, repID, kind string) {
	for _, id := range []string{repID, ""} {
		h, _ := kpiKeys(id)
		pipe.HIncrBy(ctx, h, kOutcome+kind, 1)
	}
}

func (q *Queue) countBreach(ctx context.Context, pipe redis.Pipeliner, repID string, escalated bool) {
	for _, id := range []string{repID, ""} {
		h, _ := kpiKeys(id)
		pipe.HIncrBy(ctx, h, kBreaches, 1)
		if escalated {
			pipe.HIncrBy(ctx, h, kEscalations, 1)
		}
	}
}

// Stats returns the KPIs of a rep, or of the whole queue for repID "".
// They are counted as transitions happen, never by scanning entries.
func (q *Queue) Stats(ctx context.Context, repID string) (*Stats, error) {
	if repID != "" {
		if err := checkID("rep_id", repID); err != nil {
			return nil, err
		}
	}
	hk, lk := kpiKeys(repID)
	pipe := q.rdb.Pipeline()
	h := pipe.HGetAll(ctx, hk)
	l := pipe.LRange(ctx, lk, 0, -1)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("repqueue: stats: %w", err)
	}
	s := &Stats{Outcomes: map[string]int{}}
	for k, v := range h.Val() {
		n, _ := strconv.Atoi(v)
		switch {
		case k == kHandoffs:
			s.Handoffs = n
		case k == kUnrouted:
			s.Unrouted = n
		case k == kRefusedUnassigned:
			s.RefusedUnassigned = n
		case k == kClaimed:
			s.Claimed = n
		case k == kBreaches:
			s.SLABreaches = n
		case k == kEscalations:
			s.Escalations = n
		case strings.HasPrefix(k, kOutcome):
			s.Outcomes[k[len(kOutcome):]] = n
		}
	}
	ttc := make([]int64, 0, len(l.Val()))
	for _, v := range l.Val() {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			ttc = append(ttc, n)
		}
	}
	slices.Sort(ttc)
	s.MedianTimeToClaim = quantile(ttc, 0.5)
	s.P90TimeToClaim = quantile(ttc, 0.9)
	if s.Handoffs > 0 {
		s.ConversionRate = float64(s.Outcomes[OutcomeConverted]) / float64(s.Handoffs)
	}
	return s, nil
}

// quantile of sorted milliseconds, nearest rank.
func quantile(sorted []int64, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(float64(len(sorted))*p)) - 1
	i = min(max(i, 0), len(sorted)-1)
	return time.Duration(sorted[i]) * time.Millisecond
}

// dayKPIDays is how long a day's handoff counts are kept: enough for a
// month of daily figures.
const dayKPIDays = 35

// DayHandoffs are the handoffs created on one UTC day.
type DayHandoffs struct {
	// Day is the UTC day, "2006-01-02".
	Day string `json:"day"`
	// Handoffs created that day, Unrouted among them.
	Handoffs int `json:"handoffs"`
	Unrouted int `json:"unrouted"`
}

// HandoffsByDay returns the handoffs created on each UTC day from from
// to to (both included, at most 35 days), oldest first.
func (q *Queue) HandoffsByDay(ctx context.Context, from, to time.Time) ([]DayHandoffs, error) {
	from, to = from.UTC().Truncate(24*time.Hour), to.UTC().Truncate(24*time.Hour)
	n := int(to.Sub(from)/(24*time.Hour)) + 1
	if n < 1 || n > dayKPIDays {
		return nil, fmt.Errorf("%w: %d days asked, 1..%d kept", ErrInvalid, n, dayKPIDays)
	}
	pipe := q.rdb.Pipeline()
	out := make([]DayHandoffs, n)
	cmds := make([]*redis.MapStringStringCmd, n)
	for i := range n {
		out[i].Day = from.AddDate(0, 0, i).Format(time.DateOnly)
		cmds[i] = pipe.HGetAll(ctx, dayKPIKey(out[i].Day))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("repqueue: handoffs by day: %w", err)
	}
	for i, c := range cmds {
		out[i].Handoffs, _ = strconv.Atoi(c.Val()[kHandoffs])
		out[i].Unrouted, _ = strconv.Atoi(c.Val()[kUnrouted])
	}
	return out, nil
}
