package jobs

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
)

// TypeNotifyDigest emails each rep who prefers a digest their open call
// queue, once a day.
const TypeNotifyDigest = "notify:digest"

// NotifyDigestPayload is the wire form of a digest run.
type NotifyDigestPayload struct{}

// NewScheduledNotifyDigestTask is the scheduler's form: no Unique, since
// the tick's TaskID already makes it unique (see Periodic.Task).
func NewScheduledNotifyDigestTask() *asynq.Task {
	return asynq.NewTask(TypeNotifyDigest, marshal(TypeNotifyDigest, NotifyDigestPayload{}),
		asynq.Queue(QueuePeriodic), asynq.MaxRetry(5))
}

// NewNotifyDigestTask builds a digest run; unique for an hour so a
// schedule and a manual run do not both go out.
func NewNotifyDigestTask() *asynq.Task {
	return asynq.NewTask(TypeNotifyDigest, marshal(TypeNotifyDigest, NotifyDigestPayload{}),
		asynq.Queue(QueuePeriodic), asynq.Unique(time.Hour), asynq.MaxRetry(5))
}

// handleNotifyDigest sends one digest per rep per day at most: a retried
// run skips the reps already done (see notify.RepNotifier.SendDigests).
func handleNotifyDigest(n RepNotifier) asynq.Handler {
	return Handle(func(ctx context.Context, _ NotifyDigestPayload) error { return n.SendDigests(ctx) })
}
