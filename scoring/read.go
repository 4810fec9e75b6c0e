package scoring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/scoring/internal/store"
)

// TimelineItem is one recorded event of a contact. The timeline keeps the
// last TimelineLength events to arrive and lists them newest first.
type TimelineItem struct {
	ID         string     `json:"id"`
	Type       event.Type `json:"type"`
	OccurredAt time.Time  `json:"occurred_at"`
	Topic      string     `json:"topic,omitempty"`
	// Points credited before decay; 0 when Filtered says why.
	Points    float64 `json:"points"`
	Filtered  string  `json:"filtered,omitempty"`
	Title     string  `json:"title,omitempty"`
	URL       string  `json:"url,omitempty"`
	Source    string  `json:"source,omitempty"`
	MessageID string  `json:"message_id,omitempty"`
}

// ContactScore is a contact's scoring state decayed to now.
type ContactScore struct {
	Score     float64            `json:"score"`
	Fit       float64            `json:"fit"`
	Interests map[string]float64 `json:"interests"`
	// Suppressed is the first reason the contact must not be mailed:
	// "hard_bounce", "spam", "unsubscribe", or "".
	Suppressed string         `json:"suppressed"`
	Timeline   []TimelineItem `json:"timeline"`
}

// RFM is a partner's recency / frequency / monetary figures and ranks.
type RFM struct {
	R       int    `json:"r"`
	F       int    `json:"f"`
	M       int    `json:"m"`
	Segment string `json:"segment"`
	// RecencyDays since the last scored engagement, purchase or deal; -1
	// when there was none.
	RecencyDays int     `json:"recency_days"`
	Frequency   int     `json:"frequency"`
	Monetary    float64 `json:"monetary"`
	// Basis says how each rank was set: "quintile" (against the other
	// partners), "threshold" (scoring.rfm.thresholds: too few partners to
	// rank against) or "none" (no value: 1).
	Basis      RFMBasis  `json:"basis"`
	ComputedAt time.Time `json:"computed_at"`
}

// PartnerScore is a partner's scoring state decayed to now.
type PartnerScore struct {
	Score            float64            `json:"score"`
	HottestContactID string             `json:"hottest_contact_id"`
	Interests        map[string]float64 `json:"interests"`
	// RFM is nil until ComputeRFM has ranked the partner.
	RFM                *RFM       `json:"rfm"`
	ThresholdCrossedAt *time.Time `json:"threshold_crossed_at"`
	// Armed is false between a crossing and the re-arm.
	Armed bool `json:"armed"`
	// Fit is kept apart from Score and never counts toward the threshold.
	Fit float64 `json:"fit"`
}

// Contact reads a contact's decayed score, interests, suppression and
// timeline. An unknown contact reads as zero.
func (e *Engine) Contact(ctx context.Context, partnerID, contactID string) (*ContactScore, error) {
	if err := checkID("partner_id", partnerID); err != nil {
		return nil, err
	}
	if err := checkID("contact_id", contactID); err != nil {
		return nil, err
	}
	pipe := e.rdb.Pipeline()
	h := pipe.Get(ctx, contactScoreKey(partnerID, contactID))
	tl := pipe.LRange(ctx, contactTimelineKey(partnerID, contactID), 0, -1)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("scoring: read contact %s: %w", contactID, err)
	}
	if err := tl.Err(); err != nil { // Exec reports the first error: GET's "nil" for a new contact
		return nil, fmt.Errorf("scoring: read contact %s timeline: %w", contactID, err)
	}
	d := e.decay(e.clock())
	fields, err := contactFields(h.Val())
	if err != nil {
		return nil, fmt.Errorf("scoring: read contact %s: %w", contactID, err)
	}
	out := &ContactScore{
		Score:      binNum(fields["h"], slotN) * d,
		Fit:        binNum(fields["h"], slotFit),
		Interests:  contactInterests(fields, d),
		Suppressed: suppression(fields["h"]),
		Timeline:   make([]TimelineItem, 0, len(tl.Val())),
	}
	// Elements are batches, oldest first, of items joined by newlines:
	// the newest TimelineLength items, newest arrival first.
	elems := tl.Val()
	for i := len(elems) - 1; i >= 0 && len(out.Timeline) < e.cfg.TimelineLength; i-- {
		items := strings.Split(elems[i], "\n")
		for j := len(items) - 1; j >= 0 && len(out.Timeline) < e.cfg.TimelineLength; j-- {
			it, err := e.rubric.timelineItem([]byte(items[j]))
			if err != nil {
				return nil, fmt.Errorf("scoring: contact %s timeline item: %w", contactID, err)
			}
			out.Timeline = append(out.Timeline, it)
		}
	}
	// Newest arrival first so far; shown newest occurrence first.
	sort.SliceStable(out.Timeline, func(i, j int) bool {
		return out.Timeline[i].OccurredAt.After(out.Timeline[j].OccurredAt)
	})
	return out, nil
}

// Suppressed reads only why a contact must not be mailed ("hard_bounce",
// "spam", "unsubscribe"), or "": the check before every send, so it leaves
// the timeline and interests alone.
func (e *Engine) Suppressed(ctx context.Context, partnerID, contactID string) (string, error) {
	if err := checkID("partner_id", partnerID); err != nil {
		return "", err
	}
	if err := checkID("contact_id", contactID); err != nil {
		return "", err
	}
	h, err := e.rdb.GetRange(ctx, contactScoreKey(partnerID, contactID), 0, store.HeaderLen-1).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("scoring: read contact %s: %w", contactID, err)
	}
	return suppression(h), nil
}

// Partner reads a partner's decayed score, hottest contact, interests, RFM
// and threshold state. An unknown partner reads as zero.
func (e *Engine) Partner(ctx context.Context, partnerID string) (*PartnerScore, error) {
	if err := checkID("partner_id", partnerID); err != nil {
		return nil, err
	}
	pipe := e.rdb.Pipeline()
	h := pipe.HGetAll(ctx, partnerScoreKey(partnerID))
	members := pipe.Get(ctx, partnerContactsKey(partnerID))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("scoring: read partner %s: %w", partnerID, err)
	}
	ids, err := store.ParseEntries(members.Val())
	if err != nil {
		return nil, fmt.Errorf("scoring: read partner %s: %w", partnerID, err)
	}
	hot, err := e.hottest(ctx, partnerID, ids)
	if err != nil {
		return nil, err
	}
	d := e.decay(e.clock())
	fields := h.Val()
	head := store.ParsePartnerHead(fields["h"])
	out := &PartnerScore{
		Score:     head.N * d,
		Interests: interests(fields, d),
		Armed:     fields["dis"] != "1",
		Fit:       head.Fit,
	}
	out.HottestContactID = hot
	if ms := int64(head.CrossedAt); ms > 0 {
		at := time.UnixMilli(ms).UTC()
		out.ThresholdCrossedAt = &at
	}
	if s := fields["rfm"]; s != "" {
		out.RFM = new(RFM)
		if err := json.Unmarshal([]byte(s), out.RFM); err != nil {
			return nil, fmt.Errorf("scoring: partner %s rfm: %w", partnerID, err)
		}
	}
	return out, nil
}

// Entry is one leaderboard row.
type Entry struct {
	PartnerID string  `json:"partner_id"`
	Score     float64 `json:"score"`
}

// Leaderboard returns the limit partners with the highest decayed scores,
// highest first. With one half-life for all, the order of the stored
// normalised scores is the order of the decayed scores at any time. The
// unassigned pseudo-partner (Config.UnassignedPartner) is never listed:
// its contacts are scored without a roll-up, and should a roll-up have
// reached it anyway it is no company to call.
func (e *Engine) Leaderboard(ctx context.Context, limit int) ([]Entry, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: limit must be positive, got %d", ErrInvalidTarget, limit)
	}
	// One more than asked, in case the unassigned partner is among them.
	zs, err := e.rdb.ZRevRangeWithScores(ctx, leaderboardKey, 0, int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("scoring: leaderboard: %w", err)
	}
	d := e.decay(e.clock())
	out := make([]Entry, 0, min(len(zs), limit))
	for _, z := range zs {
		if pid := z.Member.(string); pid != e.cfg.UnassignedPartner && len(out) < limit {
			out = append(out, Entry{PartnerID: pid, Score: z.Score * d})
		}
	}
	return out, nil
}

// ScoredPartners returns the ids of every partner that has been scored (the
// leaderboard's members, so never the unassigned partner), for ComputeRFM
// and Sweep.
func (e *Engine) ScoredPartners(ctx context.Context) ([]string, error) {
	ids, err := e.rdb.ZRange(ctx, leaderboardKey, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("scoring: scored partners: %w", err)
	}
	return slices.DeleteFunc(ids, func(id string) bool { return id == e.cfg.UnassignedPartner }), nil
}

// Explanation breaks a partner's score down by contact, event type and
// topic, decayed to At.
type Explanation struct {
	PartnerID string               `json:"partner_id"`
	At        time.Time            `json:"at"`
	Score     float64              `json:"score"`
	Contacts  []ContactExplanation `json:"contacts"`
	Rubric    RubricSummary        `json:"rubric"`
}

// ContactExplanation is one contact's part of an Explanation.
type ContactExplanation struct {
	ContactID  string        `json:"contact_id"`
	Score      float64       `json:"score"`
	Suppressed string        `json:"suppressed,omitempty"`
	Items      []ExplainItem `json:"items"`
}

// ExplainItem aggregates one (type, topic) of a contact since its first
// event: how many events scored, their points before and after decay, and
// how many were recorded but not scored, by reason.
type ExplainItem struct {
	Type     event.Type     `json:"type"`
	Topic    string         `json:"topic,omitempty"`
	Count    int            `json:"count"`
	Points   float64        `json:"points"`
	Decayed  float64        `json:"decayed"`
	Filtered map[string]int `json:"filtered,omitempty"`
}

// RubricSummary is the rubric the points were computed with.
type RubricSummary struct {
	Points           map[event.Type]float64 `json:"points"`
	HalfLife         time.Duration          `json:"half_life"`
	Threshold        float64                `json:"threshold"`
	TierThresholds   map[string]float64     `json:"tier_thresholds,omitempty"`
	TopicMultipliers map[string]float64     `json:"topic_multipliers,omitempty"`
	Rules            []Rule                 `json:"rules,omitempty"`
	DailyCaps        map[event.Type]int     `json:"daily_caps"`
}

// Explain breaks the partner's score down for the given contacts, or for
// every contact ever scored under the partner when contactIDs is nil
// (then highest score first). Items are sorted by decayed points, highest
// first.
func (e *Engine) Explain(ctx context.Context, partnerID string, contactIDs []string) (*Explanation, error) {
	if err := checkID("partner_id", partnerID); err != nil {
		return nil, err
	}
	now := e.clock()
	d := e.decay(now)
	all := contactIDs == nil
	if all {
		list, err := e.rdb.Get(ctx, partnerContactsKey(partnerID)).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("scoring: explain %s: %w", partnerID, err)
		}
		if contactIDs, err = store.ParseEntries(list); err != nil {
			return nil, fmt.Errorf("scoring: explain %s: %w", partnerID, err)
		}
	}
	pipe := e.rdb.Pipeline()
	ps := pipe.HGet(ctx, partnerScoreKey(partnerID), "h")
	cmds := make([]*redis.StringCmd, len(contactIDs))
	for i, cid := range contactIDs {
		if err := checkID("contact_id", cid); err != nil {
			return nil, err
		}
		cmds[i] = pipe.Get(ctx, contactScoreKey(partnerID, cid))
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, fmt.Errorf("scoring: explain %s: %w", partnerID, err)
	}
	cfg := e.cfg
	out := &Explanation{
		PartnerID: partnerID, At: now, Score: store.ParsePartnerHead(ps.Val()).N * d,
		Contacts: make([]ContactExplanation, 0, len(contactIDs)),
		Rubric: RubricSummary{
			Points: cfg.Points, HalfLife: cfg.HalfLife, Threshold: cfg.Threshold,
			TierThresholds: cfg.TierThresholds, TopicMultipliers: cfg.TopicMultipliers,
			Rules: cfg.Rules, DailyCaps: cfg.DailyCaps,
		},
	}
	for i, cid := range contactIDs {
		fields, err := contactFields(cmds[i].Val())
		if err != nil {
			return nil, fmt.Errorf("scoring: explain contact %s: %w", cid, err)
		}
		ce := ContactExplanation{ContactID: cid, Score: binNum(fields["h"], slotN) * d, Suppressed: suppression(fields["h"])}
		for f, v := range fields {
			if !strings.HasPrefix(f, "x") {
				continue
			}
			it, err := e.rubric.parseExplain(f, v, d)
			if err != nil {
				return nil, fmt.Errorf("scoring: explain contact %s: %w", cid, err)
			}
			ce.Items = append(ce.Items, it)
		}
		sort.Slice(ce.Items, func(a, b int) bool {
			x, y := ce.Items[a], ce.Items[b]
			if x.Decayed != y.Decayed {
				return x.Decayed > y.Decayed
			}
			if x.Type != y.Type {
				return x.Type < y.Type
			}
			return x.Topic < y.Topic
		})
		out.Contacts = append(out.Contacts, ce)
	}
	if all {
		sort.SliceStable(out.Contacts, func(a, b int) bool {
			x, y := out.Contacts[a], out.Contacts[b]
			if x.Score != y.Score {
				return x.Score > y.Score
			}
			return x.ContactID < y.ContactID
		})
	}
	return out, nil
}

// hottest returns the id of the contact with the highest score among ids
// (the partner's scored contacts), the smallest id on a tie, or "" when
// none has a positive score. Normalised scores order contacts as their
// decayed scores do at any time, so it reads them as stored.
func (e *Engine) hottest(ctx context.Context, partnerID string, ids []string) (string, error) {
	best, bestN := "", 0.0
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		pipe := e.rdb.Pipeline()
		cmds := make([]*redis.StringCmd, len(chunk))
		for i, cid := range chunk {
			cmds[i] = pipe.GetRange(ctx, contactScoreKey(partnerID, cid), 0, store.HeaderLen-1)
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return "", fmt.Errorf("scoring: read partner %s contacts: %w", partnerID, err)
		}
		for i, cid := range chunk {
			n := binNum(cmds[i].Val(), slotN)
			if n > bestN || (n == bestN && n > 0 && cid < best) {
				best, bestN = cid, n
			}
		}
	}
	return best, nil
}

// contactFields reads a stored contact (see package store) as fields:
// "h", its header, and per explain key "x<type code><topic>" the sum of
// its explain records, packed as they are. An unknown contact ("") has
// none.
func contactFields(s string) (map[string]string, error) {
	out := map[string]string{}
	if s == "" {
		return out, nil
	}
	if len(s) < store.HeaderLen {
		return nil, fmt.Errorf("stored contact of %d bytes", len(s))
	}
	out["h"] = s[:store.HeaderLen]
	xs, err := store.Explains(s[store.HeaderLen:])
	if err != nil {
		return nil, err
	}
	for _, key := range xs.Order {
		code, topic := store.ExplainKey(key)
		out["x"+code+topic] = store.PackFloats(xs.Sums[key][:]...)
	}
	return out, nil
}

// parseExplain reads a field "x<type code><topic>" holding the packed
// float64 "count points N" and then, when any is set, one counter per
// filterReasons entry (see package store).
func (r *Rubric) parseExplain(field, value string, decay float64) (ExplainItem, error) {
	if len(field) < 3 {
		return ExplainItem{}, fmt.Errorf("malformed explain field %q", field)
	}
	typ, ok := typeOfCode(r.types, field[1:3])
	vals, err := store.ExplainValues(value)
	if !ok || err != nil {
		return ExplainItem{}, fmt.Errorf("malformed explain field %q = %x", field, value)
	}
	it := ExplainItem{Type: typ, Topic: field[3:], Count: int(vals[0]), Points: vals[1], Decayed: vals[2] * decay}
	for i, r := range filterReasons {
		if n := int(vals[3+i]); n > 0 {
			if it.Filtered == nil {
				it.Filtered = map[string]int{}
			}
			it.Filtered[r] = n
		}
	}
	return it, nil
}

// contactInterests sums a contact's explain aggregates per topic: the
// decayed points of each topic, with no field of their own.
func contactInterests(fields map[string]string, decay float64) map[string]float64 {
	out := map[string]float64{}
	for f, v := range fields {
		if len(f) <= 3 || f[0] != 'x' {
			continue
		}
		if vals, err := store.ExplainValues(v); err == nil {
			out[f[3:]] += vals[2] * decay
		}
	}
	return out
}

func interests(fields map[string]string, decay float64) map[string]float64 {
	out := map[string]float64{}
	for f, v := range fields {
		if topic, ok := strings.CutPrefix(f, "i|"); ok {
			out[topic] = binNum(v, 0) * decay
		}
	}
	return out
}

// suppression reads the suppression reason of a contact's header.
func suppression(h string) string {
	if h == "" {
		return ""
	}
	return store.SuppressionOf(store.Float(h, 3))
}

// Slots of the contact header (store.Header) read on their own.
const (
	slotN           = 1
	slotFit         = 2
	slotCompactions = 5
)

// binNum reads the i-th packed little-endian float64 of a stored value; a
// missing field or value is 0.
func binNum(s string, i int) float64 { return store.Float(s, i) }

// timelineItem decodes a stored timeline item.
func (r *Rubric) timelineItem(b []byte) (TimelineItem, error) {
	s, err := store.ParseItem(b)
	if err != nil {
		return TimelineItem{}, err
	}
	typ, ok := typeOfCode(r.types, s.Type)
	if !ok {
		return TimelineItem{}, fmt.Errorf("unknown type code %q", s.Type)
	}
	return TimelineItem{
		ID: s.ID, Type: typ, OccurredAt: s.OccurredAt, Topic: s.Topic, Points: s.Points,
		Filtered: s.Filtered, Title: s.Title, URL: s.URL, Source: s.Source, MessageID: s.MessageID,
	}, nil
}

// RFMs reads the RFM of each of partnerIDs, in their order: nil for a
// partner ComputeRFM has not ranked. One pipelined read per 500
// partners, for pages that show every partner's ranks at once.
func (e *Engine) RFMs(ctx context.Context, partnerIDs []string) ([]*RFM, error) {
	out := make([]*RFM, len(partnerIDs))
	for start := 0; start < len(partnerIDs); start += 500 {
		chunk := partnerIDs[start:min(start+500, len(partnerIDs))]
		pipe := e.rdb.Pipeline()
		cmds := make([]*redis.StringCmd, len(chunk))
		for i, pid := range chunk {
			if err := checkID("partner_id", pid); err != nil {
				return nil, err
			}
			cmds[i] = pipe.HGet(ctx, partnerScoreKey(pid), "rfm")
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("scoring: read rfm: %w", err)
		}
		for i, c := range cmds {
			if c.Val() == "" {
				continue
			}
			r := new(RFM)
			if err := json.Unmarshal([]byte(c.Val()), r); err != nil {
				return nil, fmt.Errorf("scoring: partner %s rfm: %w", chunk[i], err)
			}
			out[start+i] = r
		}
	}
	return out, nil
}

// PartnerSummary is a partner's decayed score and RFM ranks: Partner
// without the reads of its contacts (the hottest one, its interests).
type PartnerSummary struct {
	Score float64
	// RFM is nil until ComputeRFM has ranked the partner.
	RFM *RFM
}

// PartnerSummaries reads the summary of each of partnerIDs, in their
// order, in one pipelined read per 500 partners: what a run over every
// partner (the program's nightly facts) needs of scoring. A partner never
// scored has a zero summary.
func (e *Engine) PartnerSummaries(ctx context.Context, partnerIDs []string) ([]PartnerSummary, error) {
	out := make([]PartnerSummary, len(partnerIDs))
	d := e.decay(e.clock())
	for start := 0; start < len(partnerIDs); start += 500 {
		chunk := partnerIDs[start:min(start+500, len(partnerIDs))]
		pipe := e.rdb.Pipeline()
		cmds := make([]*redis.SliceCmd, len(chunk))
		for i, pid := range chunk {
			if err := checkID("partner_id", pid); err != nil {
				return nil, err
			}
			cmds[i] = pipe.HMGet(ctx, partnerScoreKey(pid), "h", "rfm")
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("scoring: read partners: %w", err)
		}
		for i, c := range cmds {
			v := c.Val()
			head, _ := v[0].(string)
			out[start+i].Score = store.ParsePartnerHead(head).N * d
			if s, _ := v[1].(string); s != "" {
				r := new(RFM)
				if err := json.Unmarshal([]byte(s), r); err != nil {
					return nil, fmt.Errorf("scoring: partner %s rfm: %w", chunk[i], err)
				}
				out[start+i].RFM = r
			}
		}
	}
	return out, nil
}
