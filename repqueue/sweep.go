package repqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/redis/go-redis/v9"
)

// SweepResult is what one SLA sweep did.
type SweepResult struct {
	// Reassigned: breached entries moved to another rep.
	Reassigned int `json:"reassigned"`
	// Escalated: breached entries sent to the breaching rep's manager, or
	// flagged escalated where there was none.
	Escalated int `json:"escalated"`
	// Routed: unrouted entries a rep could take now.
	Routed int `json:"routed"`
}

// sweepBatch bounds the entries one sweep reads per index page.
const sweepBatch = 200

// sweepPages bounds the pages of one sweep; the next run goes on.
const sweepPages = 50

// SweepSLA handles every routed queued entry whose due date has passed:
// the breach is counted against its rep, and the entry goes to the next
// eligible rep (routing as for a handoff, never a rep who breached it
// before) with a fresh due date. The breach that brings an entry's
// breaches to EscalateAfterBreaches, or one with no other eligible rep,
// escalates instead: the entry goes to the breaching rep's manager
// (Rep.ManagerID), or stays with the rep flagged escalated when there is
// no manager; an escalated entry is not swept again. Then it offers the
// unrouted entries to routing once more.
//
// Every move is a compare-and-set on the entry: a claim that lands first
// keeps the entry, and sweeps running at once move an entry once.
func (q *Queue) SweepSLA(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	now := q.now()
	for range sweepPages {
		pids, err := q.rdb.ZRangeByScore(ctx, dueKey, &redis.ZRangeBy{
			Min: "-inf", Max: ms(now), Count: sweepBatch,
		}).Result()
		if err != nil {
			return res, fmt.Errorf("repqueue: sweep: %w", err)
		}
		for _, pid := range pids {
			if err := q.breach(ctx, pid, now, &res); err != nil {
				return res, err
			}
		}
		if len(pids) < sweepBatch {
			break
		}
	}
	pids, err := q.rdb.ZRange(ctx, unroutedKey, 0, sweepBatch-1).Result()
	if err != nil {
		return res, fmt.Errorf("repqueue: sweep: %w", err)
	}
	for _, pid := range pids {
		if err := q.routeUnrouted(ctx, pid, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// breach handles one member of the due index.
func (q *Queue) breach(ctx context.Context, pid string, now time.Time, res *SweepResult) error {
	for range casAttempts {
		e, raw, err := q.readEntry(ctx, pid)
		if err != nil {
			return err
		}
		if e == nil || e.State != StateQueued || e.RepID == "" || e.Escalated {
			// Claimed, closed or escalated: nothing is due any more.
			return q.rdb.ZRem(ctx, dueKey, pid).Err()
		}
		if e.DueAt.After(now) {
			// A member left behind with an old score.
			return q.rdb.ZAdd(ctx, dueKey, redis.Z{Score: float64(e.DueAt.UnixMilli()), Member: pid}).Err()
		}
		done, err := q.moveBreached(ctx, e, raw, now, res)
		if err != nil || done {
			return err
		}
	}
	return fmt.Errorf("%w: sweep: the handoff of partner %q kept changing", ErrConflict, pid)
}

// moveBreached reassigns or escalates a breached entry; done is false when
// the entry changed under it (the caller reads it again).
func (q *Queue) moveBreached(ctx context.Context, e *Entry, raw map[string]string, now time.Time, res *SweepResult) (bool, error) {
	from := e.RepID
	breached := append(append([]string(nil), e.BreachedBy...), from)
	breaches := e.Breaches + 1
	exclude := map[string]bool{}
	for _, r := range breached {
		exclude[r] = true
	}
	var c *candidate
	resID := handoffID(e.PartnerID, e.Seq) + ":b" + strconv.Itoa(breaches)
	if breaches < q.cfg.EscalateAfterBreaches {
		p, err := q.dir.GetPartner(ctx, e.PartnerID)
		if errors.Is(err, directory.ErrNotFound) {
			p = directory.Partner{ID: e.PartnerID}
		} else if err != nil {
			return false, fmt.Errorf("repqueue: sweep %s: %w", e.PartnerID, err)
		}
		if c, err = q.route(ctx, p, exclude, resID, "", nil); err != nil {
			return false, err
		}
	}
	var ef fields
	ef.set(fBreaches, strconv.Itoa(breaches))
	ef.set(fBreached, strings.Join(breached, " "))
	ef.set(fAvail, ms(now))
	tl := &Transition{At: now, Seq: e.Seq, FromRepID: from, State: StateQueued}
	to := from
	var hours = q.hours
	if c != nil {
		to, hours = c.rep.ID, q.repHours(&c.rep)
		tl.Kind, tl.RepID = KindReassigned, to
	} else {
		// Escalation: to the breaching rep's manager if there is one.
		tl.Kind = KindEscalated
		ef.set(fEscalated, "1")
		if mgr, ok, err := q.manager(ctx, from); err != nil {
			return false, err
		} else if ok {
			to, hours = mgr.ID, q.repHours(&mgr)
		}
		tl.RepID = to
	}
	due := hours.add(now, q.cfg.ClaimSLA)
	ef.set(fRep, to)
	ef.set(fDue, ms(due))
	pipe := q.rdb.Pipeline()
	pipe.ZAdd(ctx, repQueueKey(to), redis.Z{Score: float64(now.UnixMilli()), Member: e.PartnerID})
	if c == nil {
		pipe.ZAdd(ctx, escalatedKey, redis.Z{Score: float64(now.UnixMilli()), Member: e.PartnerID})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return false, fmt.Errorf("repqueue: sweep %s: index: %w", e.PartnerID, err)
	}
	out, err := q.cas(ctx, e, raw, ef, nil, tl)
	if err != nil {
		return false, err
	}
	if out == nil {
		return false, q.undoMove(ctx, e.PartnerID, to, c, resID)
	}
	pipe = q.rdb.Pipeline()
	if to != from {
		pipe.ZRem(ctx, repQueueKey(from), e.PartnerID)
		q.countAssignment(ctx, pipe, to)
	}
	if c != nil {
		pipe.ZAdd(ctx, dueKey, redis.Z{Score: float64(due.UnixMilli()), Member: e.PartnerID})
		res.Reassigned++
	} else {
		pipe.ZRem(ctx, dueKey, e.PartnerID)
		res.Escalated++
	}
	q.countBreach(ctx, pipe, from, c == nil)
	if _, err := pipe.Exec(ctx); err != nil {
		return true, fmt.Errorf("repqueue: sweep %s: after move: %w", e.PartnerID, err)
	}
	return true, nil
}

// undoMove gives back what a move that lost its CAS took, unless the
// entry now sits with that rep anyway (a concurrent sweep made the same
// move).
func (q *Queue) undoMove(ctx context.Context, pid, to string, c *candidate, resID string) error {
	cur, _, err := q.readEntry(ctx, pid)
	if err != nil {
		return err
	}
	if cur != nil && cur.RepID == to && cur.Open() {
		return nil
	}
	pipe := q.rdb.Pipeline()
	pipe.ZRem(ctx, repQueueKey(to), pid)
	if c != nil {
		pipe.SRem(ctx, capacityKey(c.rep.ID, c.day), resID)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("repqueue: sweep %s: undo: %w", pid, err)
	}
	return nil
}

// manager returns the rep's manager, when the rep has one on record.
func (q *Queue) manager(ctx context.Context, repID string) (directory.Rep, bool, error) {
	rep, err := q.dir.GetRep(ctx, repID)
	if errors.Is(err, directory.ErrNotFound) {
		return directory.Rep{}, false, nil
	}
	if err != nil {
		return directory.Rep{}, false, fmt.Errorf("repqueue: manager of %s: %w", repID, err)
	}
	if rep.ManagerID == "" {
		return directory.Rep{}, false, nil
	}
	mgr, err := q.dir.GetRep(ctx, rep.ManagerID)
	if errors.Is(err, directory.ErrNotFound) {
		return directory.Rep{}, false, nil
	}
	if err != nil {
		return directory.Rep{}, false, fmt.Errorf("repqueue: manager of %s: %w", repID, err)
	}
	return mgr, true, nil
}

// routeUnrouted offers an unrouted entry to routing again.
func (q *Queue) routeUnrouted(ctx context.Context, pid string, res *SweepResult) error {
	for range casAttempts {
		e, raw, err := q.readEntry(ctx, pid)
		if err != nil {
			return err
		}
		if e == nil || e.RepID != "" || !e.Open() {
			return q.rdb.ZRem(ctx, unroutedKey, pid).Err()
		}
		r, err := q.assign(ctx, e, raw, nil, KindRouted, "")
		if err != nil {
			return err
		}
		switch r {
		case assigned:
			res.Routed++
			return nil
		case noRep:
			return nil
		}
	}
	return fmt.Errorf("%w: sweep: the handoff of partner %q kept changing", ErrConflict, pid)
}

// Results of assign.
const (
	assigned = iota
	noRep
	raced
)

// assign routes an open entry, or gives it to rep when rep is set (ops
// routing by hand, which ignores capacity).
func (q *Queue) assign(ctx context.Context, e *Entry, raw map[string]string, rep *directory.Rep, kind, note string) (int, error) {
	now := q.now()
	var c *candidate
	resID := handoffID(e.PartnerID, e.Seq)
	if rep == nil {
		p, err := q.dir.GetPartner(ctx, e.PartnerID)
		if errors.Is(err, directory.ErrNotFound) {
			p = directory.Partner{ID: e.PartnerID}
		} else if err != nil {
			return raced, fmt.Errorf("repqueue: route %s: %w", e.PartnerID, err)
		}
		if c, err = q.route(ctx, p, nil, resID, "", nil); err != nil {
			return raced, err
		}
		if c == nil {
			return noRep, nil
		}
		rep = &c.rep
	}
	due := q.repHours(rep).add(now, q.cfg.ClaimSLA)
	var ef fields
	ef.set(fRep, rep.ID)
	ef.set(fAvail, ms(now))
	ef.set(fDue, ms(due))
	ef.set(fEscalated, "")
	pipe := q.rdb.Pipeline()
	pipe.ZAdd(ctx, repQueueKey(rep.ID), redis.Z{Score: float64(now.UnixMilli()), Member: e.PartnerID})
	pipe.ZAddNX(ctx, dueKey, redis.Z{Score: float64(due.UnixMilli()), Member: e.PartnerID})
	if _, err := pipe.Exec(ctx); err != nil {
		return raced, fmt.Errorf("repqueue: route %s: index: %w", e.PartnerID, err)
	}
	tl := &Transition{At: now, Kind: kind, Seq: e.Seq, RepID: rep.ID, FromRepID: e.RepID, State: StateQueued, Note: note}
	out, err := q.cas(ctx, e, raw, ef, nil, tl)
	if err != nil {
		return raced, err
	}
	if out == nil {
		return raced, q.undoMove(ctx, e.PartnerID, rep.ID, c, resID)
	}
	pipe = q.rdb.Pipeline()
	if e.RepID == "" {
		pipe.ZRem(ctx, unroutedKey, e.PartnerID)
	} else if e.RepID != rep.ID {
		pipe.ZRem(ctx, repQueueKey(e.RepID), e.PartnerID)
	}
	pipe.ZRem(ctx, escalatedKey, e.PartnerID)
	pipe.ZAdd(ctx, dueKey, redis.Z{Score: float64(due.UnixMilli()), Member: e.PartnerID})
	q.countAssignment(ctx, pipe, rep.ID)
	if _, err := pipe.Exec(ctx); err != nil {
		return assigned, fmt.Errorf("repqueue: route %s: after: %w", e.PartnerID, err)
	}
	return assigned, nil
}

// Assign gives a queued (not claimed) entry to a rep by hand: how ops
// route an unrouted or escalated entry. It ignores the rep's capacity and
// availability, clears the escalated flag and starts a fresh due date.
func (q *Queue) Assign(ctx context.Context, partnerID, repID, note string) (*Entry, error) {
	if err := checkID("partner_id", partnerID); err != nil {
		return nil, err
	}
	if err := checkID("rep_id", repID); err != nil {
		return nil, err
	}
	if len(note) > maxNote {
		return nil, fmt.Errorf("%w: note is longer than %d bytes", ErrInvalid, maxNote)
	}
	rep, err := q.dir.GetRep(ctx, repID)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, fmt.Errorf("%w: rep %q", ErrNotFound, repID)
	}
	if err != nil {
		return nil, fmt.Errorf("repqueue: assign %s: %w", partnerID, err)
	}
	for range casAttempts {
		e, raw, err := q.readEntry(ctx, partnerID)
		if err != nil {
			return nil, err
		}
		if e == nil {
			return nil, fmt.Errorf("%w: no handoff for partner %q", ErrNotFound, partnerID)
		}
		if e.State != StateQueued {
			return nil, fmt.Errorf("%w: the handoff of partner %q is %s: only a queued entry can be assigned", ErrInvalid, partnerID, e.State)
		}
		if e.RepID == repID && !e.Escalated {
			return e, nil
		}
		r, err := q.assign(ctx, e, raw, &rep, KindRouted, note)
		if err != nil {
			return nil, err
		}
		if r == assigned {
			return q.Get(ctx, partnerID)
		}
	}
	return nil, fmt.Errorf("%w: the handoff of partner %q kept changing", ErrConflict, partnerID)
}
