package jobs

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/repqueue"
)

// TypeHandoffSweep reassigns or escalates queue entries past their claim
// SLA and retries unrouted ones.
const TypeHandoffSweep = "handoff:sweep"

// HandoffSweepPayload is the wire form of a sweep task.
type HandoffSweepPayload struct{}

// Sweeper runs one SLA sweep.
type Sweeper interface {
	SweepSLA(ctx context.Context) (repqueue.SweepResult, error)
}

// NewHandoffSweepTask builds a sweep task. Unique for 50s so a schedule
// every minute and a manual run never overlap.
func NewHandoffSweepTask() *asynq.Task {
	return asynq.NewTask(TypeHandoffSweep, marshal(TypeHandoffSweep, HandoffSweepPayload{}),
		asynq.Queue(QueueHandoff), asynq.Unique(50*time.Second), asynq.MaxRetry(2), asynq.Timeout(5*time.Minute))
}

// NewScheduledHandoffSweepTask is the scheduler's form: no Unique, since
// the tick's TaskID already makes it unique (see Periodic.Task).
func NewScheduledHandoffSweepTask() *asynq.Task {
	return asynq.NewTask(TypeHandoffSweep, marshal(TypeHandoffSweep, HandoffSweepPayload{}),
		asynq.Queue(QueueHandoff), asynq.MaxRetry(2), asynq.Timeout(5*time.Minute))
}

func handleHandoffSweep(s Sweeper, log zerolog.Logger) asynq.Handler {
	return Handle(func(ctx context.Context, _ HandoffSweepPayload) error {
		res, err := s.SweepSLA(ctx)
		if err != nil {
			return err
		}
		if res.Reassigned+res.Escalated+res.Routed > 0 {
			log.Info().Str("task", TypeHandoffSweep).Int("reassigned", res.Reassigned).Int("escalated", res.Escalated).
				Int("routed", res.Routed).Msg("SLA sweep")
		}
		return nil
	})
}
