package repqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/redis/go-redis/v9"
)

// Handoff puts a partner that crossed the threshold (scoring crossing seq,
// at crossedAt) in a rep's queue: it routes the partner, reserves one of
// the rep's daily slots, builds the entry (hottest contact, score,
// interests, RFM segment, reasons in en and fr, due date from the claim
// SLA) and records the transition. With no eligible rep the entry is
// created unrouted (ListUnrouted) and still pauses nurture.
//
// It is idempotent per (partner, seq): a retried task returns the
// existing entry and created=false. While the partner has an open entry a
// later crossing changes nothing either (created=false): one partner, one
// open entry. A crossing older than the current entry returns that entry.
func (q *Queue) Handoff(ctx context.Context, partnerID string, seq int64, crossedAt time.Time) (*Entry, bool, error) {
	if err := checkID("partner_id", partnerID); err != nil {
		return nil, false, err
	}
	if seq <= 0 {
		return nil, false, fmt.Errorf("%w: seq must be positive, got %d", ErrInvalid, seq)
	}
	if partnerID == q.dir.UnassignedPartnerID() {
		return nil, false, q.refuseUnassigned(ctx, partnerID, seq)
	}
	pipe := q.rdb.Pipeline()
	h := pipe.HGetAll(ctx, entryKey(partnerID))
	pend := pipe.Get(ctx, pendKey(partnerID))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, false, fmt.Errorf("repqueue: handoff %s: %w", partnerID, err)
	}
	cur, ok, err := decodeEntry(partnerID, h.Val())
	if err != nil {
		return nil, false, err
	}
	if ok && (cur.Seq >= seq || cur.Open()) {
		return cur, false, nil
	}
	now := q.now()
	e, p, err := q.buildEntry(ctx, partnerID, seq, crossedAt, now)
	if err != nil {
		return nil, false, err
	}
	resID := handoffID(partnerID, seq)
	prefer := ""
	if s, rep, ok := strings.Cut(pend.Val(), " "); ok && s == strconv.FormatInt(seq, 10) {
		prefer = rep
	}
	pendVal := strconv.FormatInt(seq, 10) + " "
	c, err := q.route(ctx, p, nil, resID, prefer, func(repID string) error {
		// Written before each reservation, so a retry after a crash finds
		// the rep it may already hold a slot of.
		if repID == prefer {
			return nil
		}
		return q.rdb.Set(ctx, pendKey(partnerID), pendVal+repID, 7*24*time.Hour).Err()
	})
	if err != nil {
		return nil, false, err
	}
	tl := &Transition{At: now, Kind: KindUnrouted, Seq: seq, State: StateQueued}
	if c != nil {
		e.RepID = c.rep.ID
		e.DueAt = q.repHours(&c.rep).add(now, q.cfg.ClaimSLA)
		tl.Kind, tl.RepID = KindQueued, c.rep.ID
	} else {
		e.DueAt = q.hours.add(now, q.cfg.ClaimSLA)
	}
	// Index membership first (see keys.go): a crash after this leaves a
	// member its entry does not back, which readers skip.
	pipe = q.rdb.Pipeline()
	if c != nil {
		pipe.ZAdd(ctx, repQueueKey(c.rep.ID), redis.Z{Score: float64(e.AvailableAt.UnixMilli()), Member: partnerID})
		pipe.ZAddNX(ctx, dueKey, redis.Z{Score: float64(e.DueAt.UnixMilli()), Member: partnerID})
	} else {
		pipe.ZAdd(ctx, unroutedKey, redis.Z{Score: float64(now.UnixMilli()), Member: partnerID})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, false, fmt.Errorf("repqueue: handoff %s: index: %w", partnerID, err)
	}
	ef, err := newEntryFields(e)
	if err != nil {
		return nil, false, err
	}
	item, err := json.Marshal(tl)
	if err != nil {
		return nil, false, err
	}
	args := make([]any, 0, 3+len(ef))
	args = append(args, seq, string(item), timelineLength)
	for _, s := range ef {
		args = append(args, s)
	}
	n, err := createScript.Run(ctx, q.rdb, []string{entryKey(partnerID), timelineKey(partnerID), pendKey(partnerID)}, args...).Int()
	if err != nil {
		return nil, false, fmt.Errorf("repqueue: handoff %s: create entry: %w", partnerID, err)
	}
	if n == 0 {
		return q.lostHandoff(ctx, partnerID, seq, c, resID)
	}
	e.Version = 1
	if q.obs != nil {
		route := RouteUnrouted
		if c != nil {
			route = c.step
		}
		q.obs.HandedOff(route)
	}
	pipe = q.rdb.Pipeline()
	if c != nil {
		pipe.ZAdd(ctx, dueKey, redis.Z{Score: float64(e.DueAt.UnixMilli()), Member: partnerID})
		q.countHandoff(ctx, pipe, c.rep.ID)
	} else {
		q.countHandoff(ctx, pipe, "")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return e, true, fmt.Errorf("repqueue: handoff %s: after create: %w", partnerID, err)
	}
	return e, true, nil
}

// refuseUnassigned counts a crossing of the unassigned pseudo-partner
// (Stats.RefusedUnassigned) and says why it is not handed off. Scoring
// never rolls its contacts up, so such a crossing means a bug or data
// written by hand: it is counted for ops to see, not queued for a rep.
func (q *Queue) refuseUnassigned(ctx context.Context, pid string, seq int64) error {
	if err := q.rdb.HIncrBy(ctx, allKPIKey, kRefusedUnassigned, 1).Err(); err != nil {
		return fmt.Errorf("repqueue: handoff %s: count refusal: %w", pid, err)
	}
	return fmt.Errorf("%w: partner %q (crossing %d) holds the contacts of unknown company; "+
		"import them under their partner to hand them off", ErrUnassigned, pid, seq)
}

// lostHandoff returns the entry that won over this handoff, giving back
// what this one took unless the winner kept it.
func (q *Queue) lostHandoff(ctx context.Context, pid string, seq int64, c *candidate, resID string) (*Entry, bool, error) {
	cur, _, err := q.readEntry(ctx, pid)
	if err != nil {
		return nil, false, err
	}
	if cur == nil {
		return nil, false, fmt.Errorf("%w: handoff %s: entry vanished during creation", ErrConflict, pid)
	}
	pipe := q.rdb.Pipeline()
	if c != nil {
		if cur.Seq != seq || cur.RepID != c.rep.ID {
			pipe.SRem(ctx, capacityKey(c.rep.ID, c.day), resID)
		}
		if cur.RepID != c.rep.ID || !cur.Open() {
			pipe.ZRem(ctx, repQueueKey(c.rep.ID), pid)
		}
	} else if cur.RepID != "" || !cur.Open() {
		pipe.ZRem(ctx, unroutedKey, pid)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, false, fmt.Errorf("repqueue: handoff %s: compensate: %w", pid, err)
	}
	return cur, false, nil
}

func handoffID(pid string, seq int64) string {
	return "handoff:" + pid + ":" + strconv.FormatInt(seq, 10)
}

// buildEntry gathers the entry's content. A partner missing from the
// directory (scored before it was imported) is still handed off, under
// its id, by round robin.
func (q *Queue) buildEntry(ctx context.Context, pid string, seq int64, crossedAt, now time.Time) (*Entry, directory.Partner, error) {
	p, err := q.dir.GetPartner(ctx, pid)
	if errors.Is(err, directory.ErrNotFound) {
		p = directory.Partner{ID: pid, Name: pid}
	} else if err != nil {
		return nil, p, fmt.Errorf("repqueue: handoff %s: %w", pid, err)
	}
	ps, err := q.scores.Partner(ctx, pid)
	if err != nil {
		return nil, p, fmt.Errorf("repqueue: handoff %s: %w", pid, err)
	}
	e := &Entry{
		PartnerID: pid, PartnerName: p.Name, PartnerPhone: p.Phone, PartnerWebsite: p.Website,
		ContactID: ps.HottestContactID,
		Score:     ps.Score, Interests: ps.Interests, State: StateQueued,
		QueuedAt: now, AvailableAt: now, Seq: seq, Reasons: map[string][]string{},
	}
	if !crossedAt.IsZero() {
		e.CrossedAt = crossedAt.UTC()
	}
	if ps.RFM != nil {
		e.Segment = ps.RFM.Segment
	}
	if cid := ps.HottestContactID; cid != "" {
		card := &ContactCard{ID: cid, Timezone: p.Timezone, Locale: "en"}
		c, err := q.dir.GetContact(ctx, cid)
		switch {
		case errors.Is(err, directory.ErrNotFound):
		case err != nil:
			return nil, p, fmt.Errorf("repqueue: handoff %s: %w", pid, err)
		default:
			card.Name = strings.TrimSpace(c.FirstName + " " + c.LastName)
			card.Email, card.Persona = c.Email, c.Persona
			card.Phone, card.Title = c.Phone, c.Title
			if c.Timezone != "" {
				card.Timezone = c.Timezone
			}
			if c.Locale != "" {
				card.Locale = c.Locale
			}
		}
		e.Contact = card
		cs, err := q.scores.Contact(ctx, pid, cid)
		if err != nil {
			return nil, p, fmt.Errorf("repqueue: handoff %s: %w", pid, err)
		}
		e.Reasons = buildReasons(cs.Timeline, cs.Interests, now, q.cfg.ReasonsMax)
	}
	return e, p, nil
}
