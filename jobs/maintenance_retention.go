package jobs

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/maintenance"
)

// TypeMaintenanceRetention removes, across every partner, timeline
// entries past retention.timeline and expired dedup records.
const TypeMaintenanceRetention = "maintenance:retention"

// MaintenanceRetentionPayload is the wire form of a retention task.
type MaintenanceRetentionPayload struct{}

// Retainer runs one retention pass; *maintenance.Retention implements it.
type Retainer interface {
	Run(ctx context.Context) (maintenance.RetentionResult, error)
}

// NewScheduledRetentionTask is the retention task the scheduler enqueues:
// without asynq.Unique, as the tick's TaskID already makes it once per
// tick (see Periodic.Task). A retry resumes the walk where it stopped.
func NewScheduledRetentionTask() *asynq.Task {
	return asynq.NewTask(TypeMaintenanceRetention, marshal(TypeMaintenanceRetention, MaintenanceRetentionPayload{}),
		asynq.Queue(QueuePeriodic), asynq.MaxRetry(5), asynq.Timeout(2*time.Hour))
}

func handleMaintenanceRetention(r Retainer, log zerolog.Logger) asynq.Handler {
	return Handle(func(ctx context.Context, _ MaintenanceRetentionPayload) error {
		res, err := r.Run(ctx)
		ev := log.Info()
		if err != nil {
			ev = log.Warn().Err(err)
		}
		ev.Str("task", TypeMaintenanceRetention).Int("partners", res.Partners).Int("contact_timeline", res.ContactTimeline).
			Int("queue_timeline", res.QueueTimeline).Int("histories", res.Histories).Int("compacted", res.Compacted).
			Bool("resumed", res.Resumed).Msg("retention")
		return err
	})
}
