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
	Partners int            `json:"partners"`
	Segments map[string]int `json:"segments"`
}

// rfmFacts are a partner's raw figures at one time.
type rfmFacts struct {
	id        string
	engaged   bool
	recency   int // days since last scored engagement
	frequency int
	monetary  float64
}

const rfmChunk = 500

// ComputeRFM computes recency, frequency and monetary figures of the given
// partners at now, ranks each 1–5 by quintile across them, names the
// segment, and stores the result on each partner (read by Partner). Ties
// share a rank (the rank of the first position they occupy), so the result
// depends only on the figures; partners with no scored engagement rank
// lowest. It also drops day buckets older than both windows. The scheduler
// runs it periodically over every partner (see ScoredPartners).
func (e *Engine) ComputeRFM(ctx context.Context, partnerIDs []string, now time.Time) (*RFMSummary, error) {
	facts := make([]rfmFacts, 0, len(partnerIDs))
	today := floorDiv(sinceEpoch(now), 86400000) // the script's day numbers
	fromF := today - int64(e.cfg.RFM.FrequencyWindow/Day) + 1
	fromM := today - int64(e.cfg.RFM.MonetaryWindow/Day) + 1
	oldest := min(fromF, fromM)
	for start := 0; start < len(partnerIDs); start += rfmChunk {
		chunk := partnerIDs[start:min(start+rfmChunk, len(partnerIDs))]
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
					f.monetary += binNum(v, 0)
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
	// Each metric is ranked ascending by "goodness": more days since the last
	// engagement,
	// fewer engagements, less money rank lower.
	r := quintiles(n, func(i, j int) int {
		a, b := facts[i], facts[j]
		switch {
		case a.engaged != b.engaged:
			if a.engaged {
				return 1
			}
			return -1
		}
		return cmpNum(b.recency, a.recency)
	})
	f := quintiles(n, func(i, j int) int { return cmpNum(facts[i].frequency, facts[j].frequency) })
	m := quintiles(n, func(i, j int) int { return cmpNum(facts[i].monetary, facts[j].monetary) })

	sum := &RFMSummary{Partners: n, Segments: map[string]int{}}
	for start := 0; start < n; start += rfmChunk {
		pipe := e.rdb.Pipeline()
		for i := start; i < min(start+rfmChunk, n); i++ {
			fa := facts[i]
			res := RFM{
				R: r[i], F: f[i], M: m[i], RecencyDays: fa.recency, Frequency: fa.frequency,
				Monetary: fa.monetary, ComputedAt: now.UTC(),
			}
			if !fa.engaged {
				res.R = 1
			}
			if fa.frequency == 0 {
				res.F = 1
			}
			if fa.monetary == 0 {
				res.M = 1
			}
			res.Segment = e.segment(res.R, res.F, res.M)
			sum.Segments[res.Segment]++
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

func (e *Engine) segment(r, f, m int) string {
	for _, s := range e.cfg.RFM.Segments {
		if s.match(r, f, m) {
			return s.Name
		}
	}
	return ""
}

// quintiles ranks n items 1–5 by cmp (ascending = worse first): an item's
// rank is 1 + floor(5·p/n) where p is the first sorted position holding a
// value equal to it, so ties always share a rank.
func quintiles(n int, cmp func(i, j int) int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return cmp(idx[a], idx[b]) < 0 })
	ranks := make([]int, n)
	first := 0
	for p, i := range idx {
		if p > 0 && cmp(idx[p-1], i) != 0 {
			first = p
		}
		ranks[i] = 1 + first*5/n
	}
	return ranks
}

func cmpNum[T int | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
