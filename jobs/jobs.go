// Package jobs holds longtail's background task types: one file per type,
// each with a stable wire name, a payload struct, a constructor and its
// handler. Register wires them all into an asynq.ServeMux.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/mailer"
	"github.com/longtailhq/longtail/notify"
)

// Queues, by priority weight. Handoffs are what a rep waits on, so they
// outrank bulk ingestion; periodic work comes last.
const (
	QueueHandoff  = "handoff"
	QueueIngest   = "ingest"
	QueuePeriodic = "periodic"
	// QueueNurture holds nurture steps: mail that can wait seconds behind
	// a hand-off and ingestion.
	QueueNurture = "nurture"
	// QueueProgram holds the program view's recomputations after ingested
	// facts (program:stage): one per partner per batch, never ahead of the
	// batches themselves.
	QueueProgram = "program"
)

// Queues returns the weighted queue map for asynq.Config.
func Queues() map[string]int {
	return map[string]int{QueueHandoff: 6, QueueIngest: 3, QueueNurture: 2, QueuePeriodic: 1, QueueProgram: 1}
}

// Handle adapts a typed handler: it decodes the JSON payload into T and
// turns a payload that cannot be decoded into asynq.SkipRetry, since no
// retry will ever make it decodable.
func Handle[T any](fn func(ctx context.Context, payload T) error) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		var p T
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return fmt.Errorf("%s: decode payload: %v: %w", t.Type(), err, asynq.SkipRetry)
		}
		return retryDecision(fn(ctx, p))
	})
}

// ErrPermanent marks a domain failure no retry can fix (bad data that
// passed the edge). Wrap it; the handler's error is then not retried.
var ErrPermanent = errors.New("permanent failure")

// retryDecision maps domain errors to asynq's retry control in one place:
// ErrPermanent and the domain errors no retry can fix (a message that
// cannot be built, an address the mail server refuses for good, a webhook
// receiver that is gone) are not retried.
func retryDecision(err error) error {
	if err == nil || errors.Is(err, asynq.SkipRetry) {
		return err
	}
	for _, permanent := range []error{ErrPermanent, notify.ErrInvalid, notify.ErrPermanent, mailer.ErrPermanent} {
		if errors.Is(err, permanent) {
			return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
	}
	return err
}

// enqueue submits t and treats a TaskID conflict as success: the same
// identity already queued means the work is already on its way.
func enqueue(ctx context.Context, c *asynq.Client, t *asynq.Task, opts ...asynq.Option) error {
	_, err := c.EnqueueContext(ctx, t, opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	return err
}

func marshal(typ string, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Payload structs hold only JSON-safe fields; failure is a bug.
		panic(fmt.Sprintf("jobs: marshal %s payload: %v", typ, err))
	}
	return b
}

// lostLeaseDelay is how soon a task whose worker lost it is run again.
const lostLeaseDelay = time.Second

// RetryLostLeaseSoon wraps a retry delay function: a task whose lease
// expired did not fail — its worker died, or lost Redis in a failover,
// before recording the result — so it runs again after a second instead
// of after the back-off meant for failures (asynq's default waits 15 s or
// more, on top of the 30 s lease and the recoverer's one-minute sweep).
// Every handler is idempotent, so running it again is safe.
func RetryLostLeaseSoon(next asynq.RetryDelayFunc) asynq.RetryDelayFunc {
	return func(n int, err error, t *asynq.Task) time.Duration {
		if errors.Is(err, asynq.ErrLeaseExpired) {
			return lostLeaseDelay
		}
		return next(n, err, t)
	}
}
