package jobs

import (
	"errors"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"
)

// Deps are what the task handlers need; each is a small interface
// implemented by a domain package and wired in cmd.
type Deps struct {
	Events  EventProcessor
	RFM     RFMRunner
	Handoff HandoffDeps
	Sweeper Sweeper
	Notify  NotifyDeps
	Program ProgramDeps
	// Nurture runs nurture steps and sees ingested events; nil turns
	// nurture off (no step task is registered).
	Nurture Nurture
	// Maintenance runs retention and the stale-enrollment cleanup.
	Maintenance MaintenanceDeps
	// Tasks queues the follow-up tasks: hand-offs of the crossings the
	// events caused, the notifications of a hand-off.
	Tasks *asynq.Client
	Log   zerolog.Logger
}

var errMissingDeps = errors.New("jobs: Deps.Events, RFM, Handoff.Queue, Handoff.Messages, Sweeper and Tasks are required")

// Register adds every task handler to mux. It panics on a missing
// dependency or a duplicate registration: both are wiring bugs that must
// stop the process at boot, not surface on the first task.
func Register(mux *asynq.ServeMux, d Deps) {
	if d.Events == nil || d.RFM == nil || d.Handoff.Queue == nil || d.Handoff.Messages == nil || d.Sweeper == nil || d.Tasks == nil {
		panic(errMissingDeps)
	}
	mux.Handle(TypeIngestEvents, handleIngestEvents(d.Events, d.Tasks, d.Program, d.Nurture))
	if d.Nurture != nil {
		mux.Handle(TypeNurtureStep, handleNurtureStep(d.Nurture, d.Tasks))
		mux.Handle(TypeNurtureTrigger, handleNurtureTrigger(d.Nurture, d.Tasks))
	} else {
		// Triggers are queued by processes that do not know whether the
		// worker runs nurture (an import): with it off, they are done.
		mux.Handle(TypeNurtureTrigger, handleNurtureTrigger(nil, d.Tasks))
	}
	mux.Handle(TypeScoreRFM, handleScoreRFM(d.RFM))
	mux.Handle(TypeHandoffPartner, handleHandoffPartner(d.Handoff, d.Tasks))
	mux.Handle(TypeHandoffSweep, handleHandoffSweep(d.Sweeper, d.Log))
	RegisterNotify(mux, d.Notify)
	RegisterProgram(mux, d.Program, d.Tasks)
	RegisterMaintenance(mux, d.Maintenance)
}
