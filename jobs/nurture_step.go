package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/ingest"
	"github.com/longtailhq/longtail/nurture"
)

// TypeNurtureStep runs one step of one nurture enrollment.
const TypeNurtureStep = "nurture:step"

// NurtureStepPayload is the wire form of a step task.
type NurtureStepPayload struct {
	Enrollment string `json:"enrollment"`
	Step       string `json:"step"`
	Seq        int64  `json:"seq"`
}

// NewNurtureStepTask builds the task of n, processed at n.At. Its TaskID
// is the enrollment, the step and the seq: however often a cause repeats
// (a retried ingest, a duplicate trigger, a stale task answering with the
// current schedule), the step is queued once.
func NewNurtureStepTask(n nurture.Next) *asynq.Task {
	return asynq.NewTask(TypeNurtureStep,
		marshal(TypeNurtureStep, NurtureStepPayload{Enrollment: n.Enrollment, Step: n.Step, Seq: n.Seq}),
		asynq.TaskID(NurtureStepTaskID(n.Task)), asynq.Queue(QueueNurture), asynq.ProcessAt(n.At), asynq.MaxRetry(20))
}

// NurtureStepTaskID is the TaskID of the step task of t.
func NurtureStepTaskID(t nurture.Task) string { return TypeNurtureStep + ":" + t.ID() }

// Nurture is the nurture engine as the tasks see it; *nurture.Engine
// implements it.
type Nurture interface {
	Run(ctx context.Context, t nurture.Task) (*nurture.Next, error)
	OnEvents(ctx context.Context, in nurture.ContactEvents) ([]nurture.Next, error)
	NurtureTriggers
}

// EnqueueNurture queues the steps the engine asked for.
func EnqueueNurture(ctx context.Context, c *asynq.Client, next ...nurture.Next) error {
	for _, n := range next {
		if err := enqueue(ctx, c, NewNurtureStepTask(n)); err != nil {
			return fmt.Errorf("queue nurture step %s: %w", n.ID(), err)
		}
	}
	return nil
}

// handleNurtureStep runs the step and queues the next one. A failure after
// the engine committed the step and before the next is queued is repaired
// on the retry: the engine answers a task it has overtaken with the
// enrollment's current schedule.
func handleNurtureStep(n Nurture, tasks *asynq.Client) asynq.Handler {
	return Handle(func(ctx context.Context, p NurtureStepPayload) error {
		next, err := n.Run(ctx, nurture.Task{Enrollment: p.Enrollment, Step: p.Step, Seq: p.Seq})
		if errors.Is(err, nurture.ErrBadEnrollmentID) {
			return fmt.Errorf("%s: %w: %w", TypeNurtureStep, err, ErrPermanent)
		}
		if err != nil {
			return err
		}
		if next == nil {
			return nil
		}
		return EnqueueNurture(ctx, tasks, *next)
	})
}

// nurtureEvents gives each contact's new events (duplicates left out) to
// the nurture engine after scoring, and queues what it asks for.
func nurtureEvents(ctx context.Context, n Nurture, tasks *asynq.Client, res *ingest.Result) error {
	for _, c := range res.Contacts {
		evs := c.Events
		if c.Scored != nil {
			dup := map[string]bool{}
			for _, r := range c.Scored.Events {
				if r.Duplicate {
					dup[r.ID] = true
				}
			}
			evs = slices.DeleteFunc(slices.Clone(evs), func(e event.Event) bool { return dup[e.ID] })
		}
		if len(evs) == 0 {
			continue
		}
		next, err := n.OnEvents(ctx, nurture.ContactEvents{ContactID: c.ContactID, PartnerID: c.PartnerID, Events: evs})
		if err != nil {
			return fmt.Errorf("nurture events of %s: %w", c.ContactID, err)
		}
		if err := EnqueueNurture(ctx, tasks, next...); err != nil {
			return err
		}
	}
	return nil
}
