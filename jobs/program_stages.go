package jobs

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"
)

// TypeProgramStages recomputes every partner's lifecycle stage, nightly:
// stages change with time alone (a partner goes dormant by not acting),
// which no fact change reports.
const TypeProgramStages = "program:stages"

// ProgramStagesPayload is the wire form of the nightly stages task.
type ProgramStagesPayload struct{}

// NewScheduledProgramStagesTask is the task the scheduler enqueues; the
// tick's TaskID makes it once per tick.
func NewScheduledProgramStagesTask() *asynq.Task {
	return asynq.NewTask(TypeProgramStages, marshal(TypeProgramStages, ProgramStagesPayload{}),
		asynq.Queue(QueuePeriodic), asynq.MaxRetry(3), asynq.Timeout(30*time.Minute))
}

// NewProgramStagesTask is the task run on demand (tests, an operator).
func NewProgramStagesTask() *asynq.Task { return NewScheduledProgramStagesTask() }

func handleProgramStages(r stageRecorder, log zerolog.Logger) asynq.Handler {
	return Handle(func(ctx context.Context, _ ProgramStagesPayload) error {
		now := r.clock()
		all, err := r.stages.AllFacts(ctx, now)
		if err != nil {
			return err
		}
		n := 0
		for _, f := range all {
			recorded, err := r.record(ctx, f, now)
			if err != nil {
				return err
			}
			if recorded {
				n++
			}
		}
		log.Info().Str("task", TypeProgramStages).Int("partners", len(all)).Int("changed", n).Msg("stages recomputed")
		return nil
	})
}
