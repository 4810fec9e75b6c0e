package scoring

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/scoring/internal/store"
)

// RFMSummary reports a ComputeRFM run.
type RFMSummary struct {
	// Partners ranked (the unassigned pseudo-partner is left out).
	Partners int            `json:"partners"`
	Segments map[string]int `json:"segments"`
	// Basis is how each metric was ranked this run: "quintile" or
	// "threshold" (fewer than scoring.rfm.min_population partners with a
	// value for it).
	Basis RFMBasis `json:"basis"`
	// Entered lists the partners whose segment changed at this run (from
	// the one stored by the previous run; a first ranking counts as
	// entering): what nurture's {segment: X} trigger fires on.
	Entered []SegmentEntry `json:"-"`
}

// SegmentEntry is a partner that entered Segment at a ranking run; From
// is its segment before ("" when it had none).
type SegmentEntry struct {
	PartnerID, Segment, From string
}

// RFMBasis says, per metric, how ranks were set: BasisQuintile,
// BasisThreshold, or (on a partner's RFM) BasisNone.
type RFMBasis struct {
	R string `json:"r"`
	F string `json:"f"`
	M string `json:"m"`
}

// How a rank was set (RFMBasis).
const (
	// BasisQuintile: ranked against the other partners with a value.
	BasisQuintile = "quintile"
	// BasisThreshold: scored on the fixed scoring.rfm.thresholds.
	BasisThreshold = "threshold"
	// BasisNone: the partner has no value for the metric, so rank 1.
	BasisNone = "none"
)

// rfmFacts are a partner's raw figures at one time.
type rfmFacts struct {
	id        string
	engaged   bool
	recency   int // days since the last scored engagement, purchase or deal
	frequency int
	monetary  float64
	segment   string // the segment the previous run stored
}

const rfmChunk = 500

// ComputeRFM computes recency, frequency and monetary figures of the given
// partners at now, ranks each 1–5, names the segment, and stores the
// result on each partner (read by Partner). The unassigned pseudo-partner
// (Config.UnassignedPartner) is skipped: it is no company. The scheduler
// runs it periodically over every partner (see ScoredPartners).
//
// Recency is the days since the last scored engagement or the last day
// with monetary value (a purchase or a deal, even one scoring no points):
// a partner that bought today is recent. Frequency counts scored
// engagements in RFM.FrequencyWindow, monetary sums values in
// RFM.MonetaryWindow.
//
// A partner without a value for a metric (never engaged, nothing in the
// window) ranks 1 on it. The others are ranked against each other when
// there are at least RFM.MinPopulation of them: by percentile rank, the
// share of them with a worse value plus half the share with an equal one
// (ties get the same rank, and a large tie sits in the middle of the band
// it covers rather than at its bottom), cut in fifths: rank = 1 +
// ⌊5·percentile⌋. With fewer, RFM.Thresholds score them. Each metric
// decides on its own population, so a thousand engaged partners get
// recency quintiles while their three purchases get monetary thresholds.
// Both depend only on the figures, never on the order of partnerIDs. It
// also drops day buckets older than both windows.
func (e *Engine) ComputeRFM(ctx context.Context, partnerIDs []string, now time.Time) (*RFMSummary, error) {
	facts := make([]rfmFacts, 0, len(partnerIDs))
	today := floorDiv(sinceEpoch(now), 86400000) // the script's day numbers
	fromF := today - int64(e.cfg.RFM.FrequencyWindow/Day) + 1
	fromM := today - int64(e.cfg.RFM.MonetaryWindow/Day) + 1
	oldest := min(fromF, fromM)
	ids := make([]string, 0, len(partnerIDs))
	for _, pid := range partnerIDs {
		if pid != e.cfg.UnassignedPartner {
			ids = append(ids, pid)
			continue
		}
		// A ranking stored before it was left out would still show.
		if err := e.rdb.HDel(ctx, partnerScoreKey(pid), "rfm").Err(); err != nil {
			return nil, fmt.Errorf("scoring: rfm: %w", err)
		}
	}
	for start := 0; start < len(ids); start += rfmChunk {
		chunk := ids[start:min(start+rfmChunk, len(ids))]
		pipe := e.rdb.Pipeline()
		partners := make([]*redis.MapStringStringCmd, len(chunk))
		for i, pid := range chunk {
			if err := checkID("partner_id", pid); err != nil {
				return nil, err
			}
			partners[i] = pipe.HGetAll(ctx, partnerScoreKey(pid))
		}
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return nil, fmt.Errorf("scoring: rfm read: %w", err)
		}
		prune := e.rdb.Pipeline()
		for i, pid := range chunk {
			f := rfmFacts{id: pid, recency: -1}
			fields := partners[i].Val()
			if raw := fields["rfm"]; raw != "" {
				var prev RFM
				if json.Unmarshal([]byte(raw), &prev) == nil {
					f.segment = prev.Segment
				}
			}
			if ms := int64(store.ParsePartnerHead(fields["h"]).Last); ms > 0 {
				f.engaged = true
				f.recency = int(max(now.Sub(time.UnixMilli(ms)), 0) / Day)
			}
			var stale []string
			for field, v := range fields {
				if field == "" || (field[0] != 'f' && field[0] != 'm') {
					continue
				}
				day, err := strconv.ParseInt(field[1:], 10, 64)
				if err != nil { // "fit"
					continue
				}
				switch {
				case day < oldest:
					stale = append(stale, field)
				case field[0] == 'f' && day >= fromF && day <= today:
					f.frequency += int(binNum(v, 0))
				case field[0] == 'm' && day >= fromM && day <= today:
					money := binNum(v, 0)
					f.monetary += money
					if d := int(today - day); money > 0 && (!f.engaged || d < f.recency) {
						f.engaged, f.recency = true, d
					}
				}
			}
			if len(stale) > 0 {
				prune.HDel(ctx, partnerScoreKey(pid), stale...)
			}
			facts = append(facts, f)
		}
		if prune.Len() > 0 {
			if _, err := prune.Exec(ctx); err != nil {
				return nil, fmt.Errorf("scoring: rfm prune: %w", err)
			}
		}
	}

	n := len(facts)
	rc := e.cfg.RFM
	// Each metric as a "goodness" (higher is better) of the partners that
	// have a value for it, and how a value is scored on the fixed scale.
	r := e.rank(n, func(i int) (float64, bool) { return -float64(facts[i].recency), facts[i].engaged },
		func(v float64) int { return 5 - countBelow(rc.Thresholds.RecencyDays, int(-v)) })
	f := e.rank(n, func(i int) (float64, bool) { return float64(facts[i].frequency), facts[i].frequency > 0 },
		func(v float64) int { return 1 + countAtMost(rc.Thresholds.Frequency, int(v)) })
	m := e.rank(n, func(i int) (float64, bool) { return facts[i].monetary, facts[i].monetary > 0 },
		func(v float64) int { return 1 + countAtMost(rc.Thresholds.Monetary, v) })

	sum := &RFMSummary{Partners: n, Segments: map[string]int{}, Basis: RFMBasis{R: r.basis, F: f.basis, M: m.basis}}
	for start := 0; start < n; start += rfmChunk {
		pipe := e.rdb.Pipeline()
		for i := start; i < min(start+rfmChunk, n); i++ {
			fa := facts[i]
			res := RFM{
				R: r.ranks[i], F: f.ranks[i], M: m.ranks[i], RecencyDays: fa.recency, Frequency: fa.frequency,
				Monetary: fa.monetary, ComputedAt: now.UTC(),
				Basis: RFMBasis{R: r.basisOf(i), F: f.basisOf(i), M: m.basisOf(i)},
			}
			res.Segment = e.segment(res.R, res.F, res.M)
			sum.Segments[res.Segment]++
			if res.Segment != fa.segment {
				sum.Entered = append(sum.Entered, SegmentEntry{PartnerID: fa.id, Segment: res.Segment, From: fa.segment})
			}
			b, err := json.Marshal(res)
			if err != nil {
				return nil, fmt.Errorf("scoring: rfm encode: %w", err)
			}
			pipe.HSet(ctx, partnerScoreKey(fa.id), "rfm", b)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("scoring: rfm write: %w", err)
		}
	}
	return sum, nil
}

// metricRanks are one metric's ranks of a run.
type metricRanks struct {
	ranks []int
	has   []bool
	basis string // BasisQuintile or BasisThreshold
}

func (m metricRanks) basisOf(i int) string {
	if !m.has[i] {
		return BasisNone
	}
	return m.basis
}

// rank ranks n partners on one metric: value(i) is partner i's goodness
// and whether it has a value at all; scale scores a goodness on the fixed
// thresholds. Partners without a value rank 1; the others by quintiles
// when there are at least RFM.MinPopulation of them, else by scale.
func (e *Engine) rank(n int, value func(i int) (float64, bool), scale func(v float64) int) metricRanks {
	out := metricRanks{ranks: make([]int, n), has: make([]bool, n), basis: BasisThreshold}
	vals := make([]float64, 0, n)
	for i := range n {
		v, ok := value(i)
		out.has[i] = ok
		if ok {
			vals = append(vals, v)
		}
	}
	if len(vals) >= e.cfg.RFM.MinPopulation {
		out.basis = BasisQuintile
	}
	sort.Float64s(vals)
	for i := range n {
		v, ok := value(i)
		switch {
		case !ok:
			out.ranks[i] = 1
		case out.basis == BasisQuintile:
			out.ranks[i] = quintile(vals, v)
		default:
			out.ranks[i] = min(max(scale(v), 1), 5)
		}
	}
	return out
}

// quintile is the rank 1–5 of v among the sorted values (v among them):
// 1 + ⌊5·p⌋ with p its percentile rank, (below + equal/2) / n. Equal
// values share p, so ties share a rank; p < 1, so the rank is at most 5.
func quintile(sorted []float64, v float64) int {
	below := sort.SearchFloat64s(sorted, v)
	equal := sort.Search(len(sorted), func(i int) bool { return sorted[i] > v }) - below
	// 1 + ⌊5·(below + equal/2)/n⌋ in integers: ⌊(10·below + 5·equal) / 2n⌋.
	return 1 + (10*below+5*equal)/(2*len(sorted))
}

// countBelow is how many of the bounds are < v.
func countBelow(bounds []int, v int) int {
	n := 0
	for _, b := range bounds {
		if b < v {
			n++
		}
	}
	return n
}

// countAtMost is how many of the bounds are ≤ v.
func countAtMost[T int | float64](bounds []T, v T) int {
	n := 0
	for _, b := range bounds {
		if b <= v {
			n++
		}
	}
	return n
}

func (e *Engine) segment(r, f, m int) string {
	for _, s := range e.cfg.RFM.Segments {
		if s.match(r, f, m) {
			return s.Name
		}
	}
	return ""
}
