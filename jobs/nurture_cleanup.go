package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/maintenance"
	"github.com/longtailhq/longtail/nurture"
)

// TypeNurtureCleanup ends, across every partner, the nurture enrollments
// that can never finish well (stale, flow_removed, contact_gone,
// partner_gone) and removes their pending step tasks.
const TypeNurtureCleanup = "nurture:cleanup"

// NurtureCleanupPayload is the wire form of a cleanup task.
type NurtureCleanupPayload struct{}

// EnrollmentCleaner runs one cleanup pass; *maintenance.Cleanup
// implements it.
type EnrollmentCleaner interface {
	Run(ctx context.Context, ended func(context.Context, nurture.Ended) error) (maintenance.CleanupResult, error)
}

// TaskDeleter removes a queued task; *asynq.Inspector implements it.
type TaskDeleter interface {
	DeleteTask(queue, id string) error
}

// MaintenanceDeps are what the maintenance tasks need. Retention may be
// nil only in a process that runs no maintenance (tests of other tasks):
// then neither task is registered. With Cleanup nil (nurture off) a
// cleanup task does nothing.
type MaintenanceDeps struct {
	Retention Retainer
	Cleanup   EnrollmentCleaner
	// Tasks removes an ended enrollment's pending step; nil leaves it to
	// run and find the enrollment over (it then does nothing).
	Tasks TaskDeleter
	Log   zerolog.Logger
}

// NewScheduledNurtureCleanupTask is the cleanup task the scheduler
// enqueues: without asynq.Unique, as the tick's TaskID already makes it
// once per tick (see Periodic.Task). A retry resumes the walk where it
// stopped; an enrollment ends once whatever runs it.
func NewScheduledNurtureCleanupTask() *asynq.Task {
	return asynq.NewTask(TypeNurtureCleanup, marshal(TypeNurtureCleanup, NurtureCleanupPayload{}),
		asynq.Queue(QueuePeriodic), asynq.MaxRetry(5), asynq.Timeout(2*time.Hour))
}

// RegisterMaintenance adds the maintenance tasks' handlers to mux.
func RegisterMaintenance(mux *asynq.ServeMux, d MaintenanceDeps) {
	if d.Retention == nil {
		return
	}
	mux.Handle(TypeMaintenanceRetention, handleMaintenanceRetention(d.Retention, d.Log))
	mux.Handle(TypeNurtureCleanup, handleNurtureCleanup(d.Cleanup, d.Tasks, d.Log))
}

func handleNurtureCleanup(c EnrollmentCleaner, tasks TaskDeleter, log zerolog.Logger) asynq.Handler {
	return Handle(func(ctx context.Context, _ NurtureCleanupPayload) error {
		if c == nil {
			return nil // nurture is off in this worker: nothing to clean
		}
		res, err := c.Run(ctx, func(_ context.Context, en nurture.Ended) error {
			if en.Pending == nil || tasks == nil {
				return nil
			}
			// The step would only find its enrollment over; removing it
			// keeps the queue honest. Not found (it ran, or was never
			// queued) is fine; a running one cannot be removed and will
			// do nothing.
			id := NurtureStepTaskID(en.Pending.Task)
			if err := tasks.DeleteTask(QueueNurture, id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
				log.Debug().Err(err).Str("task_id", id).Msg("nurture cleanup: pending step left in the queue")
			}
			return nil
		})
		ev := log.Info()
		if err != nil {
			ev = log.Warn().Err(err)
		}
		ev.Str("task", TypeNurtureCleanup).Int("partners", res.Partners).Interface("ended", res.Ended).
			Bool("resumed", res.Resumed).Msg("enrollment cleanup")
		return err
	})
}
