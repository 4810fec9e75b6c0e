package jobs

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/program"
)

// TypeProgramSnapshot records every partner's score of the day, from
// which a scorecard reads the engagement trend (now against 30 and 90
// days ago).
const TypeProgramSnapshot = "program:snapshot"

// ProgramSnapshotPayload is the wire form of a snapshot task.
type ProgramSnapshotPayload struct{}

// Snapshotter records today's score of every partner (*store.Store).
type Snapshotter interface {
	SnapshotAll(ctx context.Context) (int, error)
}

// ProgramDeps are what the program view's tasks need. Both may be nil
// in a process that runs no program view (tests of other tasks): then
// nothing is recorded and program:snapshot is not registered.
type ProgramDeps struct {
	Recorder  ProgramRecorder
	Snapshots Snapshotter
	// Stages, when set, registers program:stage and program:stages, judged
	// by Config at Clock (time.Now if nil).
	Stages ProgramStages
	Config program.Config
	Clock  func() time.Time
	Log    zerolog.Logger
}

// NewProgramSnapshotTask builds a snapshot task. Unique for an hour: the
// day's snapshot is one write per partner, and a second run the same day
// would only overwrite it.
func NewProgramSnapshotTask() *asynq.Task {
	return asynq.NewTask(TypeProgramSnapshot, marshal(TypeProgramSnapshot, ProgramSnapshotPayload{}),
		asynq.Queue(QueuePeriodic), asynq.Unique(time.Hour), asynq.MaxRetry(3), asynq.Timeout(30*time.Minute))
}

// NewScheduledProgramSnapshotTask is the snapshot task the scheduler
// enqueues: without asynq.Unique, as the tick's TaskID already makes it
// once per tick (a uniqueness lock would outlive a refused twin and refuse
// the next tick).
func NewScheduledProgramSnapshotTask() *asynq.Task {
	return asynq.NewTask(TypeProgramSnapshot, marshal(TypeProgramSnapshot, ProgramSnapshotPayload{}),
		asynq.Queue(QueuePeriodic), asynq.MaxRetry(3), asynq.Timeout(30*time.Minute))
}

// RegisterProgram adds the program view's task handlers to mux; tasks
// queues the stage triggers.
func RegisterProgram(mux *asynq.ServeMux, d ProgramDeps, tasks *asynq.Client) {
	if d.Stages != nil {
		clock := d.Clock
		if clock == nil {
			clock = time.Now
		}
		r := stageRecorder{stages: d.Stages, cfg: d.Config, clock: clock, triggers: NewNurtureTriggerQueue(tasks)}
		mux.Handle(TypeProgramStage, handleProgramStage(r))
		mux.Handle(TypeProgramStages, handleProgramStages(r, d.Log))
	}
	if d.Snapshots == nil {
		return
	}
	mux.Handle(TypeProgramSnapshot, handleProgramSnapshot(d.Snapshots, d.Log))
}

func handleProgramSnapshot(s Snapshotter, log zerolog.Logger) asynq.Handler {
	return Handle(func(ctx context.Context, _ ProgramSnapshotPayload) error {
		n, err := s.SnapshotAll(ctx)
		if err != nil {
			return err
		}
		log.Info().Str("task", TypeProgramSnapshot).Int("partners", n).Msg("scores snapshot")
		return nil
	})
}
