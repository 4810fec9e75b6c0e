package nurture

import "errors"

// Reloaded is what a reload put in place.
type Reloaded struct {
	Flows     int `json:"flows"`
	Templates int `json:"templates"`
	// RemovedFlows and RemovedSteps ("flow/step") are gone from the new
	// set: enrollments at them exit at their next run (flow_removed,
	// step_removed; counted as exited and removed), logged there.
	RemovedFlows []string `json:"removed_flows"`
	RemovedSteps []string `json:"removed_steps"`
}

// ErrReloadInvalid wraps the problems of a refused reload (a
// flow.ErrorList, or why the files could not be read): the old library
// keeps running.
var ErrReloadInvalid = errors.New("nurture: the new flows and templates are refused; the old ones keep running")

// Reload loads a new library with load (the configured directories,
// validated as `flows validate` does) and runs it in place of the old one.
// An invalid set is refused whole: the error wraps ErrReloadInvalid and
// the problems, and nothing changes. Enrollments continue by step id.
func (e *Engine) Reload(load func() (*Library, error)) (Reloaded, error) {
	// Two reloads at once each run whole; the last one stored wins, and
	// each reports what it removed from the set it replaced.
	lib, err := load()
	if err == nil && lib == nil {
		err = errors.New("nurture: no library loaded")
	}
	if err != nil {
		e.cfg.Log.Error().Err(err).Msg("nurture: reload refused; the old flows and templates keep running")
		return Reloaded{}, errors.Join(ErrReloadInvalid, err)
	}
	old := e.Library()
	out := Reloaded{Flows: len(lib.Flows.Flows()), Templates: len(lib.Templates.Names()), RemovedFlows: []string{}, RemovedSteps: []string{}}
	for _, f := range old.Flows.Flows() {
		nf, ok := lib.Flows.Get(f.ID)
		if !ok {
			out.RemovedFlows = append(out.RemovedFlows, f.ID)
			continue
		}
		for _, s := range f.Steps {
			if _, ok := nf.Step(s.ID); !ok {
				out.RemovedSteps = append(out.RemovedSteps, f.ID+"/"+s.ID)
			}
		}
	}
	e.SetLibrary(lib)
	e.cfg.Log.Info().Int("flows", out.Flows).Int("templates", out.Templates).
		Strs("removed_flows", out.RemovedFlows).Strs("removed_steps", out.RemovedSteps).Msg("nurture: flows and templates reloaded")
	return out, nil
}
