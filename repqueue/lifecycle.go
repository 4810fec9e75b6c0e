package repqueue

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Outcome is what a rep records after a call.
type Outcome struct {
	// Kind is one of the Outcome* constants.
	Kind string `json:"kind"`
	Note string `json:"note,omitempty"`
	// CallbackAt is required for callback and refused for other kinds; it
	// must be in the future, within maxCallbackAhead.
	CallbackAt *time.Time `json:"callback_at,omitempty"`
	// Value of the registered deal, for converted only; not negative.
	Value float64 `json:"value,omitempty"`
}

const (
	maxNote          = 2000
	maxCallbackAhead = 366 * 24 * time.Hour
)

// validate checks the outcome at now.
func (o Outcome) validate(now time.Time) error {
	if !validOutcome(o.Kind) {
		return fmt.Errorf("%w: outcome kind %q is not one of converted, callback, not_now, not_a_fit, wrong_contact, no_answer", ErrInvalid, o.Kind)
	}
	if len(o.Note) > maxNote {
		return fmt.Errorf("%w: note is longer than %d bytes", ErrInvalid, maxNote)
	}
	if o.Kind == OutcomeCallback {
		if o.CallbackAt == nil || o.CallbackAt.IsZero() {
			return fmt.Errorf("%w: callback needs callback_at", ErrInvalid)
		}
		if !o.CallbackAt.After(now) || o.CallbackAt.Sub(now) > maxCallbackAhead {
			return fmt.Errorf("%w: callback_at %s must be in the future and within a year", ErrInvalid, o.CallbackAt.Format(time.RFC3339))
		}
	} else if o.CallbackAt != nil {
		return fmt.Errorf("%w: callback_at is only for a callback outcome, not %s", ErrInvalid, o.Kind)
	}
	if o.Value < 0 || math.IsNaN(o.Value) || math.IsInf(o.Value, 0) {
		return fmt.Errorf("%w: value must be a non-negative number", ErrInvalid)
	}
	if o.Value != 0 && o.Kind != OutcomeConverted {
		return fmt.Errorf("%w: value is only for a converted outcome, not %s", ErrInvalid, o.Kind)
	}
	return nil
}

// fingerprint identifies an outcome request, so that recording it again
// is recognised and changes nothing.
func (o Outcome) fingerprint() string {
	cb := ""
	if o.CallbackAt != nil {
		cb = ms(*o.CallbackAt)
	}
	return o.Kind + "\x1f" + o.Note + "\x1f" + cb + "\x1f" + fmtFloat(o.Value)
}

// ownEntry reads the partner's entry for a rep's action.
func (q *Queue) ownEntry(ctx context.Context, repID, partnerID string) (*Entry, map[string]string, error) {
	if err := checkID("rep_id", repID); err != nil {
		return nil, nil, err
	}
	if err := checkID("partner_id", partnerID); err != nil {
		return nil, nil, err
	}
	e, raw, err := q.readEntry(ctx, partnerID)
	if err != nil {
		return nil, nil, err
	}
	if e == nil {
		return nil, nil, fmt.Errorf("%w: no handoff for partner %q", ErrNotFound, partnerID)
	}
	if e.RepID != repID {
		return nil, nil, fmt.Errorf("%w: partner %q is not in the queue of rep %q", ErrForbidden, partnerID, repID)
	}
	return e, raw, nil
}

// Claim marks the rep's queued entry as being worked. Claiming an entry
// the rep has claimed already returns it unchanged. Another rep's entry
// (including one the SLA sweep moved away) is ErrForbidden; a closed entry
// is ErrState.
func (q *Queue) Claim(ctx context.Context, repID, partnerID string) (*Entry, error) {
	for range casAttempts {
		e, raw, err := q.ownEntry(ctx, repID, partnerID)
		if err != nil {
			return nil, err
		}
		switch e.State {
		case StateClaimed:
			return e, nil
		case StateClosed:
			return nil, fmt.Errorf("%w: the handoff of partner %q is closed (%s): it comes back to a queue when the partner crosses the threshold again", ErrState, partnerID, e.Outcome)
		}
		now := q.now()
		var ef fields
		ef.set(fState, StateClaimed)
		ef.set(fClaimed, ms(now))
		ef.set(fFingerprint, "")
		tl := &Transition{At: now, Kind: KindClaimed, Seq: e.Seq, RepID: repID, State: StateClaimed}
		out, err := q.cas(ctx, e, raw, ef, nil, tl)
		if err != nil {
			return nil, err
		}
		if out == nil {
			continue
		}
		ttc := max(now.Sub(e.AvailableAt), 0)
		pipe := q.rdb.Pipeline()
		q.countClaim(ctx, pipe, repID, ttc)
		if _, err := pipe.Exec(ctx); err != nil {
			return out, fmt.Errorf("repqueue: claim %s: kpi: %w", partnerID, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: the handoff of partner %q kept changing", ErrConflict, partnerID)
}

// recycles reports whether an outcome closing an entry hands the partner
// back to nurture and lets it cross the threshold again.
func recycles(e *Entry) bool {
	if e.State != StateClosed {
		return false
	}
	switch e.Outcome {
	case OutcomeNotNow, OutcomeWrongContact, OutcomeNoAnswer:
		return true
	}
	return false
}

// RecordOutcome records the outcome of the rep's claimed entry:
//
//   - converted: closed; the partner is not re-armed. The returned entry's
//     DealEvent is the deal.won event (with Value) the caller ingests so
//     monetary RFM counts the deal (and the rubric gives it its points).
//   - callback: back to queued, available at CallbackAt (List hides it
//     until then, Scheduled shows it), due ClaimSLA of business time later.
//   - not_now: closed, partner re-armed, nurture paused until now +
//     NotNowCooldown.
//   - not_a_fit: closed, nurture stopped for the partner until
//     ResumeNurture; not re-armed.
//   - wrong_contact: closed, partner re-armed, nurture resumes.
//   - no_answer: attempts+1; back to queued after NoAnswerRetryAfter of
//     business time while attempts ≤ NoAnswerRetries, else closed and
//     recycled like wrong_contact.
//
// Recording the same outcome (kind, note, callback time, value) again
// before the entry is claimed anew returns the entry and changes nothing
// (the re-arm of a recycled partner is repeated, which is harmless, so a
// retry after a failed re-arm completes it). An entry that is not claimed
// is ErrState; another rep's entry is ErrForbidden.
func (q *Queue) RecordOutcome(ctx context.Context, repID, partnerID string, o Outcome) (*Entry, error) {
	now := q.now()
	if err := o.validate(now); err != nil {
		return nil, err
	}
	if o.CallbackAt != nil {
		cb := time.UnixMilli(o.CallbackAt.UnixMilli()).UTC()
		o.CallbackAt = &cb
	}
	fp := o.fingerprint()
	for range casAttempts {
		e, raw, err := q.ownEntry(ctx, repID, partnerID)
		if err != nil {
			return nil, err
		}
		if raw[fFingerprint] == fp {
			if recycles(e) {
				if err := q.rearm(ctx, partnerID); err != nil {
					return nil, err
				}
			}
			return e, nil
		}
		switch e.State {
		case StateQueued:
			return nil, fmt.Errorf("%w: the handoff of partner %q is queued: claim it before recording an outcome", ErrState, partnerID)
		case StateClosed:
			return nil, fmt.Errorf("%w: the handoff of partner %q is already closed (%s): an outcome is recorded once per hand-off", ErrState, partnerID, e.Outcome)
		}
		out, err := q.applyOutcome(ctx, e, raw, repID, o, fp, now)
		if err != nil {
			return nil, err
		}
		if out != nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("%w: the handoff of partner %q kept changing", ErrConflict, partnerID)
}

// applyOutcome writes the outcome if the entry is as read (nil when not).
func (q *Queue) applyOutcome(ctx context.Context, e *Entry, raw map[string]string, repID string, o Outcome, fp string, now time.Time) (*Entry, error) {
	var ef, nf fields
	ef.set(fOutcome, o.Kind)
	ef.set(fNote, o.Note)
	ef.set(fFingerprint, fp)
	cb := ""
	if o.CallbackAt != nil {
		cb = ms(*o.CallbackAt)
	}
	ef.set(fCallback, cb)
	state := StateClosed
	var avail, due time.Time
	requeue := func(at time.Time) {
		state = StateQueued
		avail = at
		due = q.hours.add(at, q.cfg.ClaimSLA)
		// The rep's zone when the rep can be read; the configured zone
		// otherwise, rather than failing an outcome over a due date.
		if rep, err := q.dir.GetRep(ctx, repID); err == nil {
			due = q.repHours(&rep).add(at, q.cfg.ClaimSLA)
		}
		ef.set(fAvail, ms(avail))
		ef.set(fDue, ms(due))
		ef.set(fClaimed, "")
	}
	switch o.Kind {
	case OutcomeConverted:
		ef.set(fValue, fmtFloat(o.Value))
	case OutcomeCallback:
		requeue(*o.CallbackAt)
	case OutcomeNotNow:
		nf.set(nUntil, ms(now.Add(q.cfg.NotNowCooldown)))
	case OutcomeNotAFit:
		nf.set(nStop, HoldNotAFit)
	case OutcomeNoAnswer:
		att := e.Attempts + 1
		ef.set(fAttempts, strconv.Itoa(att))
		if att <= q.cfg.NoAnswerRetries {
			requeue(q.hours.add(now, q.cfg.NoAnswerRetryAfter))
		}
	}
	ef.set(fState, state)
	if state == StateClosed {
		ef.set(fClosed, ms(now))
	}
	if state == StateQueued {
		// Added before the CAS (keys.go); the exact score follows it.
		if err := q.rdb.ZAddNX(ctx, dueKey, redis.Z{Score: float64(due.UnixMilli()), Member: e.PartnerID}).Err(); err != nil {
			return nil, fmt.Errorf("repqueue: outcome %s: index: %w", e.PartnerID, err)
		}
	}
	tl := &Transition{At: now, Kind: KindOutcome, Seq: e.Seq, RepID: repID, State: state,
		Outcome: o.Kind, Note: o.Note, CallbackAt: o.CallbackAt, Value: o.Value}
	out, err := q.cas(ctx, e, raw, ef, nf, tl)
	if err != nil || out == nil {
		return nil, err
	}
	if q.obs != nil {
		q.obs.OutcomeRecorded(o.Kind)
	}
	pipe := q.rdb.Pipeline()
	if state == StateQueued {
		pipe.ZAdd(ctx, repQueueKey(repID), redis.Z{Score: float64(avail.UnixMilli()), Member: e.PartnerID})
		pipe.ZAdd(ctx, dueKey, redis.Z{Score: float64(due.UnixMilli()), Member: e.PartnerID})
	} else {
		pipe.ZRem(ctx, repQueueKey(repID), e.PartnerID)
		pipe.ZRem(ctx, dueKey, e.PartnerID)
		pipe.ZRem(ctx, escalatedKey, e.PartnerID)
	}
	q.countOutcome(ctx, pipe, repID, o.Kind)
	if _, err := pipe.Exec(ctx); err != nil {
		return out, fmt.Errorf("repqueue: outcome %s: index: %w", e.PartnerID, err)
	}
	if recycles(out) {
		if err := q.rearm(ctx, e.PartnerID); err != nil {
			return out, err
		}
	}
	return out, nil
}

func (q *Queue) rearm(ctx context.Context, pid string) error {
	if _, err := q.scores.Rearm(ctx, pid); err != nil {
		return fmt.Errorf("repqueue: recycle %s: %w", pid, err)
	}
	return nil
}
