// Package outcome is what happens when a rep records the outcome of a
// call, the same whether the rep used the API or the rep page:
//
//  1. the call-queue entry changes, and a partner the outcome recycles
//     (not now, wrong contact, no answer for the last time) is re-armed so
//     it can cross the threshold again (repqueue.Queue.RecordOutcome);
//  2. a converted call's deal reaches scoring and monetary RFM as a
//     deal.won event, through the same durable queue as any event;
//  3. every handoff.webhooks receiver is told of the outcome;
//  4. nurture is told (Deps.Nurture): a recycled partner's paused
//     enrollments resume and its handoff.recycled flows enrol; converted
//     and not_a_fit end its enrollments.
//
// Every step is idempotent: recording the same outcome again changes
// nothing in the queue, repeats the re-arm, and queues the deal event and
// the webhooks under the same identities. So when a step after the first
// fails, Record says so (ErrFollowUp) and the caller asks for the same
// outcome again: the API answers 503 for the client to retry, the rep page
// shows the error with a button that submits the outcome again.
package outcome

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/notify"
	"github.com/longtailhq/longtail/repqueue"
)

// ErrFollowUp wraps the failure of a step after the outcome was recorded:
// the outcome stands, its follow-ups are incomplete, and recording the
// same outcome again completes them.
var ErrFollowUp = errors.New("outcome recorded, but what follows it did not complete")

// Queue records outcomes (*repqueue.Queue implements it).
type Queue interface {
	RecordOutcome(ctx context.Context, repID, partnerID string, o repqueue.Outcome) (*repqueue.Entry, error)
}

// Events durably queues events for scoring (*topic.Edge implements it).
type Events interface {
	Record(ctx context.Context, events []event.Event) error
}

// Webhooks queues one signed delivery of p to every handoff.webhooks
// receiver, once per receiver however often it is called with the same
// payload (*jobs.WebhookQueue implements it).
type Webhooks interface {
	Enqueue(ctx context.Context, p notify.Payload) error
}

// Nurture is told of each outcome, to resume and trigger the partner's
// nurture on a recycle and end it on converted or not_a_fit; once per
// hand-off and outcome however often it is called
// (*jobs.NurtureTriggerQueue implements it).
type Nurture interface {
	Outcome(ctx context.Context, partnerID, handoffID, outcome string, recycled bool) error
}

// Deps are a Recorder's collaborators; all are required but Nurture.
type Deps struct {
	Queue    Queue
	Events   Events
	Webhooks Webhooks
	// Nurture, if set, follows outcomes in nurture (nil: nurture is not
	// told; the gate still pauses and stops it).
	Nurture Nurture
	// Clock dates the webhook of an outcome that leaves the entry open
	// (callback, no answer), which has no time of its own: a retry of such
	// an outcome may reach the receivers again, with a later date. A
	// closing outcome carries its closing time. If nil, time.Now.
	Clock func() time.Time
}

// Recorder records outcomes and everything that follows them.
type Recorder struct{ d Deps }

// New checks deps.
func New(d Deps) (*Recorder, error) {
	if d.Queue == nil || d.Events == nil || d.Webhooks == nil {
		return nil, errors.New("outcome: Queue, Events and Webhooks are required")
	}
	if d.Clock == nil {
		d.Clock = time.Now
	}
	return &Recorder{d: d}, nil
}

// Record records the rep's outcome for the partner's entry and runs what
// follows it. Errors of the queue (repqueue.ErrInvalid, ErrForbidden...)
// come back as they are, with a nil entry: nothing was recorded. An error
// wrapping ErrFollowUp comes with the recorded entry: run Record again with
// the same outcome to complete it.
func (r *Recorder) Record(ctx context.Context, repID, partnerID string, o repqueue.Outcome) (*repqueue.Entry, error) {
	e, err := r.d.Queue.RecordOutcome(ctx, repID, partnerID, o)
	if e == nil {
		return nil, err
	}
	// An entry with an error: the outcome is written but the queue's own
	// follow-up (an index, the re-arm) failed. The rest still runs.
	errs := []error{err}
	if ev := e.DealEvent(); ev != nil {
		if err := r.d.Events.Record(ctx, []event.Event{*ev}); err != nil {
			errs = append(errs, fmt.Errorf("queue the deal event: %w", err))
		}
	}
	if err := r.announce(ctx, e); err != nil {
		errs = append(errs, fmt.Errorf("queue the outcome webhooks: %w", err))
	}
	if r.d.Nurture != nil && e.State == repqueue.StateClosed {
		if err := r.d.Nurture.Outcome(ctx, e.PartnerID, e.HandoffID(), e.Outcome, e.Recycles()); err != nil {
			errs = append(errs, fmt.Errorf("queue the nurture follow-up: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return e, fmt.Errorf("outcome: %s for partner %s: %w: %w", e.Outcome, partnerID, ErrFollowUp, err)
	}
	return e, nil
}

// announce queues the outcome's webhooks.
func (r *Recorder) announce(ctx context.Context, e *repqueue.Entry) error {
	at := r.d.Clock()
	if e.ClosedAt != nil {
		at = *e.ClosedAt
	}
	p, err := notify.NewOutcomePayload(notify.Outcome{RepID: e.RepID, PartnerID: e.PartnerID, Outcome: e.Outcome, Note: e.Note, Value: e.Value, At: at})
	if err != nil {
		return err
	}
	return r.d.Webhooks.Enqueue(ctx, p)
}
