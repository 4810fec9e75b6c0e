package nurture

import (
	"context"
	"errors"
	"time"

	"github.com/longtailhq/longtail/directory"
)

// Reasons the stale-enrollment cleanup ends an enrollment with (besides
// ReasonFlowRemoved, the reason a step run gives a flow a reload removed:
// the same fact keeps the same reason whoever finds it first).
const (
	// ReasonStale: the enrollment waited past nurture.stale_after without
	// moving (paused behind a call queue that never ended, waiting for an
	// event with no timeout, or a step run that never came).
	ReasonStale = "stale"
	// ReasonContactGone: its contact is no longer in the directory, or is
	// now another partner's.
	ReasonContactGone = "contact_gone"
	// ReasonPartnerGone: its partner is no longer in the directory.
	ReasonPartnerGone = "partner_gone"
)

// Ended is an enrollment the cleanup ended.
type Ended struct {
	Enrollment string `json:"enrollment"`
	Reason     string `json:"reason"`
	// Pending is the step run it had scheduled, if any. Run does nothing
	// for an ended enrollment, so the task is harmless; the caller removes
	// it from the queue so that it does not wait there for nothing.
	Pending *Next `json:"pending,omitempty"`
}

// Stale is whether a running enrollment that last moved at last has
// waited past staleAfter at now. A paused enrollment counts from its
// pause; one with no run scheduled (a wait_for with no timeout) from its
// last move; one with a run scheduled only once that run is staleAfter
// overdue, so that a long wait step is never cut short and a run due now
// is left to run.
func Stale(en *Enrollment, last, now time.Time, staleAfter time.Duration) bool {
	switch {
	case en.Status.Over():
		return false
	case en.Status == StatusPaused, en.NextAt.IsZero():
		return now.Sub(last) > staleAfter
	default:
		return now.Sub(en.NextAt) > staleAfter
	}
}

// CleanupPartner ends the partner's running enrollments that can never
// finish well: whose flow is gone (flow_removed), whose partner or
// contact is gone (partner_gone, contact_gone), or that are Stale
// (stale). Each is ended as any exit is, once (a commit on its seq: a run
// of the same enrollment, or a second cleanup, that moves it first wins),
// with the reason in its history and counted as exited in its flow's
// funnel. It returns the enrollments this call ended.
func (e *Engine) CleanupPartner(ctx context.Context, pid string, staleAfter time.Duration) ([]Ended, error) {
	list, err := e.cfg.Store.OfPartner(ctx, pid, "")
	if err != nil {
		return nil, err
	}
	list = running(list)
	if len(list) == 0 {
		return nil, nil
	}
	lasts, err := e.cfg.Store.lastMoves(ctx, list)
	if err != nil {
		return nil, err
	}
	partnerGone := false
	if _, err := e.cfg.Dir.GetPartner(ctx, pid); errors.Is(err, directory.ErrNotFound) {
		partnerGone = true
	} else if err != nil {
		return nil, err
	}
	now := e.now()
	lib := e.Library()
	var out []Ended
	for i, en := range list {
		reason := ""
		if _, ok := lib.Flows.Get(en.Flow); !ok {
			reason = ReasonFlowRemoved
		} else if partnerGone {
			reason = ReasonPartnerGone
		} else if c, err := e.cfg.Dir.GetContact(ctx, en.ContactID); errors.Is(err, directory.ErrNotFound) || (err == nil && c.PartnerID != pid) {
			reason = ReasonContactGone
		} else if err != nil {
			return out, err
		} else if Stale(en, lasts[i], now, staleAfter) {
			reason = ReasonStale
		}
		if reason == "" {
			continue
		}
		pending := e.schedule(en)
		ok, err := e.exited(ctx, en, reason, CountExited, now)
		if err != nil {
			return out, err
		}
		if ok {
			out = append(out, Ended{Enrollment: en.ID, Reason: reason, Pending: pending})
		}
	}
	return out, nil
}

func running(list []*Enrollment) []*Enrollment {
	out := list[:0]
	for _, en := range list {
		if !en.Status.Over() {
			out = append(out, en)
		}
	}
	return out
}
