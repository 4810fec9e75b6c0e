package jobs

import (
	"fmt"

	"github.com/hibiken/asynq"
	"github.com/robfig/cron/v3"
)

// Periodic is one scheduled task: a cron spec (5 fields, CRON_TZ= prefix
// allowed) and the task it enqueues.
type Periodic struct {
	Spec string
	Task *asynq.Task
	Opts []asynq.Option
}

// cronParser accepts what asynq's scheduler accepts: standard 5-field specs,
// descriptors such as @daily, and a CRON_TZ= prefix.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// RegisterPeriodic validates every spec before registering any, so a typo
// fails start-up with the spec named instead of half a schedule running.
func RegisterPeriodic(s *asynq.Scheduler, ps []Periodic) error {
	for _, p := range ps {
		if _, err := cronParser.Parse(p.Spec); err != nil {
			return fmt.Errorf("schedule %q for %s: %w", p.Spec, p.Task.Type(), err)
		}
	}
	for _, p := range ps {
		opts := append([]asynq.Option{asynq.Queue(QueuePeriodic)}, p.Opts...)
		if _, err := s.Register(p.Spec, p.Task, opts...); err != nil {
			return fmt.Errorf("schedule %q for %s: %w", p.Spec, p.Task.Type(), err)
		}
	}
	return nil
}
