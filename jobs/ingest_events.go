package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/ingest"
	"github.com/longtailhq/longtail/scoring"
)

// TypeIngestEvents carries one request's accepted events to the scorer.
const TypeIngestEvents = "ingest:events"

// IngestEventsPayload is the wire form of an ingest task.
type IngestEventsPayload struct {
	Events []event.Event `json:"events"`
}

// NewIngestEventsTask builds the task for one request's events. Its TaskID
// derives from the event ids, so an identical redelivery while the first is
// still queued is absorbed by asynq; anything later is absorbed by the
// scorer's per-event dedup.
func NewIngestEventsTask(evs []event.Event) *asynq.Task {
	h := sha256.New()
	for _, ev := range evs {
		h.Write([]byte(ev.ID))
		h.Write([]byte{0})
	}
	id := TypeIngestEvents + ":" + hex.EncodeToString(h.Sum(nil))[:32]
	return asynq.NewTask(TypeIngestEvents, marshal(TypeIngestEvents, IngestEventsPayload{Events: evs}),
		asynq.TaskID(id), asynq.Queue(QueueIngest), asynq.MaxRetry(25))
}

// EventQueue is the durable Sink the edge writes to: Record returns only
// once Redis holds the task.
type EventQueue struct {
	client  *asynq.Client
	timeout time.Duration
}

// NewEventQueue wraps an asynq client. timeout bounds one enqueue so a
// caller learns quickly that Redis is away (0 means 5s).
func NewEventQueue(c *asynq.Client, timeout time.Duration) *EventQueue {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &EventQueue{client: c, timeout: timeout}
}

// Record enqueues evs as one task.
func (q *EventQueue) Record(ctx context.Context, evs []event.Event) error {
	if len(evs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	if err := enqueue(ctx, q.client, NewIngestEventsTask(evs)); err != nil {
		return fmt.Errorf("queue %d events: %w", len(evs), err)
	}
	return nil
}

// EventProcessor applies a batch of events and reports what happened;
// *ingest.Processor implements it.
type EventProcessor interface {
	Process(ctx context.Context, evs []event.Event) (*ingest.Result, error)
	AckCrossing(ctx context.Context, c scoring.Crossing) error
}

// handleIngestEvents scores the events, then hands off each threshold
// crossing they caused: the hand-off task is queued under the crossing's
// identity and only then acknowledged, so a crash in between queues it
// again on the retry, as the same task. The program view then records
// the deals and purchases, and nurture (when on) sees each contact's new
// events.
func handleIngestEvents(p EventProcessor, tasks *asynq.Client, program ProgramDeps, nu Nurture) asynq.Handler {
	return Handle(func(ctx context.Context, pl IngestEventsPayload) error {
		if len(pl.Events) == 0 {
			return fmt.Errorf("%s: empty batch: %w", TypeIngestEvents, ErrPermanent)
		}
		for i := range pl.Events {
			if err := pl.Events[i].Validate(); err != nil {
				return fmt.Errorf("%s: event %d: %w: %w", TypeIngestEvents, i, err, ErrPermanent)
			}
		}
		res, err := p.Process(ctx, pl.Events)
		if err != nil {
			return err
		}
		if err := recordProgram(ctx, program, tasks, res); err != nil {
			return err
		}
		for _, c := range res.Crossings {
			if err := enqueue(ctx, tasks, NewHandoffPartnerTask(c)); err != nil {
				return fmt.Errorf("%s: hand off partner %s: %w", TypeIngestEvents, c.PartnerID, err)
			}
			if err := p.AckCrossing(ctx, c); err != nil {
				return fmt.Errorf("%s: %w", TypeIngestEvents, err)
			}
		}
		if nu != nil {
			return nurtureEvents(ctx, nu, tasks, res)
		}
		return nil
	})
}
