package jobs

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
)

// TypeScoreRFM recomputes RFM ranks across all partners.
const TypeScoreRFM = "score:rfm"

// ScoreRFMPayload is the wire form of an RFM task.
type ScoreRFMPayload struct {
	// RequestedAt is informational; the run uses the clock at run time.
	RequestedAt time.Time `json:"requested_at"`
}

// RFMRunner recomputes RFM ranks for every partner.
type RFMRunner interface {
	RunRFM(ctx context.Context) error
}

// NewScoreRFMTask builds an on-demand RFM task. Unique for a minute so a
// burst of requests runs once.
func NewScoreRFMTask(now time.Time) *asynq.Task {
	return asynq.NewTask(TypeScoreRFM, marshal(TypeScoreRFM, ScoreRFMPayload{RequestedAt: now}),
		asynq.Queue(QueuePeriodic), asynq.Unique(time.Minute), asynq.MaxRetry(3), asynq.Timeout(30*time.Minute))
}

// NewScheduledScoreRFMTask is the scheduler's form: no Unique, since the
// tick's TaskID already makes it unique (see Periodic.Task).
func NewScheduledScoreRFMTask() *asynq.Task {
	return asynq.NewTask(TypeScoreRFM, marshal(TypeScoreRFM, ScoreRFMPayload{}),
		asynq.Queue(QueuePeriodic), asynq.MaxRetry(3), asynq.Timeout(30*time.Minute))
}

// EnqueueRFM queues an RFM run; one already queued counts as success.
func EnqueueRFM(ctx context.Context, c *asynq.Client, now time.Time) error {
	return enqueue(ctx, c, NewScoreRFMTask(now))
}

func handleScoreRFM(r RFMRunner) asynq.Handler {
	return Handle(func(ctx context.Context, _ ScoreRFMPayload) error { return r.RunRFM(ctx) })
}
