package jobs

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/nurture/flow"
)

// TypeNurtureTrigger fires one nurture trigger that has a source other
// than an ingested event: a contact created (API or CSV import), a
// partner's RFM segment entered, a rep's outcome. It is a task, not a
// call, so that the process that sees the cause (an import CLI, an api
// process) need not run the engine, and so the trigger survives a crash
// after its cause was written.
const TypeNurtureTrigger = "nurture:trigger"

// Trigger kinds of a NurtureTriggerPayload.
const (
	// TriggerContactCreated: ContactID was created.
	TriggerContactCreated = "contact.created"
	// TriggerSegment: PartnerID entered Segment at a ranking run.
	TriggerSegment = "segment"
	// TriggerOutcome: a rep recorded Outcome for PartnerID's hand-off.
	TriggerOutcome = "outcome"
	// TriggerStage: PartnerID entered the program lifecycle Stage.
	TriggerStage = "stage"
)

// NurtureTriggerPayload is the wire form of a trigger task.
type NurtureTriggerPayload struct {
	Kind      string `json:"kind"`
	ContactID string `json:"contact_id,omitempty"`
	PartnerID string `json:"partner_id,omitempty"`
	Segment   string `json:"segment,omitempty"`
	Outcome   string `json:"outcome,omitempty"`
	Stage     string `json:"stage,omitempty"`
}

// NurtureTriggers is what trigger tasks ask of the engine; *nurture.Engine
// implements it.
type NurtureTriggers interface {
	Trigger(ctx context.Context, contactID string, causes ...flow.Cause) ([]nurture.Next, error)
	TriggerPartner(ctx context.Context, pid string, cause flow.Cause) ([]nurture.Next, error)
	Recycled(ctx context.Context, pid string) ([]nurture.Next, error)
	EndPartner(ctx context.Context, pid, reason string) error
}

func newNurtureTriggerTask(p NurtureTriggerPayload, id string) *asynq.Task {
	return asynq.NewTask(TypeNurtureTrigger, marshal(TypeNurtureTrigger, p),
		// The id refuses the same cause queued again while it waits; once
		// it ran, a repeat is harmless (an enrolled contact stays where it
		// is, a resumed enrollment is no longer paused), so it is not kept.
		asynq.TaskID(TypeNurtureTrigger+":"+id), asynq.Queue(QueueNurture), asynq.MaxRetry(20))
}

// NurtureTriggerQueue queues trigger tasks; the zero value is unusable.
type NurtureTriggerQueue struct{ tasks *asynq.Client }

// NewNurtureTriggerQueue queues on c.
func NewNurtureTriggerQueue(c *asynq.Client) *NurtureTriggerQueue {
	return &NurtureTriggerQueue{tasks: c}
}

// ContactsCreated queues contact.created for each contact, once per contact.
func (q *NurtureTriggerQueue) ContactsCreated(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		t := newNurtureTriggerTask(NurtureTriggerPayload{Kind: TriggerContactCreated, ContactID: id}, "created:"+id)
		if err := enqueue(ctx, q.tasks, t); err != nil {
			return fmt.Errorf("queue contact.created of %s: %w", id, err)
		}
	}
	return nil
}

// SegmentEntered queues the segment trigger of a partner that entered
// segment at the ranking run of at (once per partner, segment and run).
func (q *NurtureTriggerQueue) SegmentEntered(ctx context.Context, pid, segment string, at time.Time) error {
	t := newNurtureTriggerTask(NurtureTriggerPayload{Kind: TriggerSegment, PartnerID: pid, Segment: segment},
		"segment:"+pid+":"+segment+":"+strconv.FormatInt(at.UnixMilli(), 10))
	if err := enqueue(ctx, q.tasks, t); err != nil {
		return fmt.Errorf("queue segment trigger of %s: %w", pid, err)
	}
	return nil
}

// StageEntered queues the stage trigger of a partner that entered stage
// at the recomputation of at (once per partner, stage and time).
func (q *NurtureTriggerQueue) StageEntered(ctx context.Context, pid, stage string, at time.Time) error {
	t := newNurtureTriggerTask(NurtureTriggerPayload{Kind: TriggerStage, PartnerID: pid, Stage: stage},
		"stage:"+pid+":"+stage+":"+strconv.FormatInt(at.UnixMilli(), 10))
	if err := enqueue(ctx, q.tasks, t); err != nil {
		return fmt.Errorf("queue stage trigger of %s: %w", pid, err)
	}
	return nil
}

// Outcome queues what nurture does after a rep's outcome on the hand-off
// handoffID (once per hand-off and outcome kind): resume and trigger on a
// recycle, end on converted or not_a_fit. Other outcomes queue nothing.
func (q *NurtureTriggerQueue) Outcome(ctx context.Context, pid, handoffID, outcome string, recycled bool) error {
	switch {
	case recycled:
	case outcome == nurture.ReasonConverted, outcome == nurture.ReasonNotAFit:
	default:
		return nil
	}
	if recycled {
		outcome = "recycled"
	}
	t := newNurtureTriggerTask(NurtureTriggerPayload{Kind: TriggerOutcome, PartnerID: pid, Outcome: outcome}, "outcome:"+handoffID+":"+outcome)
	if err := enqueue(ctx, q.tasks, t); err != nil {
		return fmt.Errorf("queue nurture follow-up of %s: %w", pid, err)
	}
	return nil
}

// handleNurtureTrigger runs a trigger and queues the steps it asks for.
// With nurture off (n nil) there is nothing to enrol: the task is done.
func handleNurtureTrigger(n NurtureTriggers, tasks *asynq.Client) asynq.Handler {
	return Handle(func(ctx context.Context, p NurtureTriggerPayload) error {
		if n == nil {
			return nil
		}
		var next []nurture.Next
		var err error
		switch p.Kind {
		case TriggerContactCreated:
			next, err = n.Trigger(ctx, p.ContactID, flow.Cause{Kind: flow.TriggerContactCreated})
		case TriggerSegment:
			next, err = n.TriggerPartner(ctx, p.PartnerID, flow.Cause{Kind: flow.TriggerSegment, Segment: p.Segment})
		case TriggerStage:
			next, err = n.TriggerPartner(ctx, p.PartnerID, flow.Cause{Kind: flow.TriggerStage, Stage: p.Stage})
		case TriggerOutcome:
			if p.Outcome == "recycled" {
				next, err = n.Recycled(ctx, p.PartnerID)
			} else {
				err = n.EndPartner(ctx, p.PartnerID, p.Outcome)
			}
		default:
			return fmt.Errorf("%s: unknown kind %q: %w", TypeNurtureTrigger, p.Kind, ErrPermanent)
		}
		// Steps the engine committed before an error are queued all the
		// same; the retry finds them enrolled and answers with them again.
		if qerr := EnqueueNurture(ctx, tasks, next...); qerr != nil {
			return qerr
		}
		return err
	})
}
