package main

import (
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/maintenance"
	"github.com/longtailhq/longtail/nurture"
)

// maintenanceDeps wires retention (schedules.retention) and the
// stale-enrollment cleanup (schedules.enrollment_cleanup). The
// constructors refuse only missing dependencies, a wiring bug that
// stops the worker at boot as jobs.Register does.
func (a *app) maintenanceDeps() jobs.MaintenanceDeps {
	// Enrollment histories are pruned even with nurture sending off:
	// those written while it was on are still there.
	hist, err := nurture.NewStore(a.st.rdb)
	if err != nil {
		panic(fmt.Errorf("maintenance: %w", err))
	}
	ret, err := maintenance.NewRetention(a.st.rdb,
		maintenance.RetentionConfig{Timeline: a.cfg.Retention.Timeline, Batch: a.cfg.Retention.Batch, Clock: a.clock},
		maintenance.RetentionDeps{Partners: a.dir, Scoring: a.engine, Queue: a.reps, Histories: hist})
	if err != nil {
		panic(err)
	}
	d := jobs.MaintenanceDeps{Retention: ret, Tasks: asynq.NewInspectorFromRedisClient(a.st.rdb), Log: a.log}
	if a.nurture != nil {
		c, err := maintenance.NewCleanup(a.st.rdb, a.dir, a.nurture,
			maintenance.CleanupConfig{StaleAfter: a.cfg.Nurture.StaleAfter, Batch: a.cfg.Retention.Batch})
		if err != nil {
			panic(err)
		}
		d.Cleanup = c
	}
	return d
}
