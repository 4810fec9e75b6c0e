package main

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/activity"
	"github.com/longtailhq/longtail/config"
	"github.com/longtailhq/longtail/ui"
)

// newActivity is the ops pages' Redis-backed series on the service's
// Redis; an email count it fails to write is logged, not retried.
func newActivity(st *store, clock func() time.Time, log zerolog.Logger) (*activity.Store, error) {
	return activity.New(st.rdb, activity.Config{Clock: clock, OnError: func(err error) {
		log.Warn().Err(err).Msg("ops series: email count lost")
	}})
}

// emailObservers hands each email's result to every observer: the
// Prometheus series of this process and the Redis-backed series every
// process shares.
type emailObservers []interface {
	ObserveEmail(kind, flow, result string)
}

func (obs emailObservers) ObserveEmail(kind, flow, result string) {
	for _, o := range obs {
		o.ObserveEmail(kind, flow, result)
	}
}

// emails is what every sender reports its emails to.
func (a *app) emails() emailObservers { return emailObservers{a.metrics, a.act} }

// workdays is how many days a week reps work (handoff.business_hours.days,
// mon to fri when unset): the ops pages' weekly capacity.
func workdays(cfg *config.Config) int {
	if n := len(cfg.Handoff.BusinessHours.Days); n > 0 {
		return n
	}
	return 5
}

// opsPages are /ui/ops on the rep pages' sessions, with the program page
// under it too.
func (a *app) opsPages(page *ui.Handler, program *ui.ProgramPages) (*ui.OpsPages, error) {
	deps := ui.OpsDeps{Scores: a.engine, Queue: a.reps, Directory: a.dir, Activity: a.act, Program: program}
	if a.nurture != nil { // a nil *nurture.Engine would be a non-nil interface
		deps.Flows = a.nurture
	}
	return ui.NewOpsPages(page, deps, ui.OpsConfig{Workdays: workdays(a.cfg), Currency: a.cfg.Program.Currency})
}
