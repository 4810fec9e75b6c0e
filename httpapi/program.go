package httpapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/program"
	"github.com/longtailhq/longtail/program/letgo"
)

// ProgramFacts gathers the partners' program facts (*store.Store of
// package program/store).
type ProgramFacts interface {
	Facts(ctx context.Context, partnerID string, now time.Time) (program.Facts, error)
	AllFacts(ctx context.Context, now time.Time) ([]program.Facts, error)
}

// TierSuggestions is the body of GET /v1/program/tier-suggestions.
type TierSuggestions struct {
	At    time.Time         `json:"at"`
	Items []program.TierRow `json:"items"`
}

// AtRiskList is the body of GET /v1/program/at-risk.
type AtRiskList struct {
	At    time.Time      `json:"at"`
	Items []program.Risk `json:"items"`
}

func (a *API) registerProgram() {
	if a.program == nil {
		return
	}
	a.handle("GET /v1/program/tier-suggestions", a.requireAdmin(a.tierSuggestions))
	a.handle("GET /v1/program/at-risk", a.requireAdmin(a.atRisk))
	a.handle("GET /v1/program/kpis", a.requireAdmin(a.programKPIs))
	a.handle("GET /v1/partners/{id}/scorecard", a.requireAdmin(a.scorecard))
	a.handle("POST /v1/program/at-risk/{id}/let-go", a.requireAdmin(a.letGo))
	a.handle("POST /v1/program/at-risk/{id}/keep", a.requireAdmin(a.keep))
	a.handle("DELETE /v1/program/at-risk/{id}/let-go", a.requireAdmin(a.keep))
}

// ProgramActions applies the "let go" list's actions: the let-go service
// (package program/letgo) with its nurture steps queued, wired in cmd.
type ProgramActions interface {
	// LetGo enrols the partner's contacts in the last re-engagement flow
	// (or exits it when that flow has run its course).
	LetGo(ctx context.Context, partnerID string) (letgo.Result, error)
	// Keep lifts the partner's program_exit suppression and ends its
	// last-call enrollments.
	Keep(ctx context.Context, partnerID string) (letgo.Result, error)
}

// letGo is POST /v1/program/at-risk/{id}/let-go: 200 with the partner's
// let-go state (changed false on a repeat); 404 for an unknown partner,
// 409 for one not at risk or when the last-call flow is not loaded, 503
// with nurture sending off.
func (a *API) letGo(w http.ResponseWriter, r *http.Request) {
	a.programAction(w, r, ProgramActions.LetGo)
}

// keep is POST /v1/program/at-risk/{id}/keep and DELETE …/let-go.
func (a *API) keep(w http.ResponseWriter, r *http.Request) {
	a.programAction(w, r, ProgramActions.Keep)
}

func (a *API) programAction(w http.ResponseWriter, r *http.Request, act func(ProgramActions, context.Context, string) (letgo.Result, error)) {
	if a.programActions == nil {
		writeError(w, http.StatusServiceUnavailable, "nurture_off", "nurture sending is off (set smtp.url, smtp.from and tracking.secret): the let-go actions need it")
		return
	}
	res, err := act(a.programActions, r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, letgo.ErrNotAtRisk):
		writeError(w, http.StatusConflict, "not_at_risk", "partner %q is not on the at-risk list: nothing to let go", r.PathValue("id"))
	case errors.Is(err, nurture.ErrUnknownFlow):
		writeError(w, http.StatusConflict, "flow_missing", "%v: the let-go action needs its last re-engagement flow in the flows directory", err)
	case err != nil:
		directoryError(w, r, err)
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

// allFacts gathers every partner's facts at the clock's now, or answers
// the error.
func (a *API) allFacts(w http.ResponseWriter, r *http.Request) ([]program.Facts, time.Time, bool) {
	now := a.clock()
	all, err := a.program.AllFacts(r.Context(), now)
	if err != nil {
		directoryError(w, r, err)
		return nil, now, false
	}
	return all, now, true
}

// tierSuggestions lists every partner's suggested tier; ?move=up (down,
// set, stay; several comma-separated) keeps those moves only.
func (a *API) tierSuggestions(w http.ResponseWriter, r *http.Request) {
	var moves []string
	if v := r.URL.Query().Get("move"); v != "" {
		moves = strings.Split(v, ",")
		for _, m := range moves {
			if !slices.Contains(program.Moves(), m) {
				writeError(w, http.StatusBadRequest, "invalid", "move %q is not one of %s", m, strings.Join(program.Moves(), ", "))
				return
			}
		}
	}
	all, now, ok := a.allFacts(w, r)
	if !ok {
		return
	}
	rows := program.TierRows(all, a.cfg.Program, now)
	if moves != nil {
		rows = slices.DeleteFunc(rows, func(t program.TierRow) bool { return !slices.Contains(moves, t.Move) })
	}
	writeJSON(w, http.StatusOK, TierSuggestions{At: now, Items: orEmpty(rows)})
}

func (a *API) atRisk(w http.ResponseWriter, r *http.Request) {
	all, now, ok := a.allFacts(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, AtRiskList{At: now, Items: orEmpty(program.AtRiskAll(all, a.cfg.Program, now))})
}

func (a *API) programKPIs(w http.ResponseWriter, r *http.Request) {
	all, now, ok := a.allFacts(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, program.KPIs(all, a.cfg.Program, now))
}

func (a *API) scorecard(w http.ResponseWriter, r *http.Request) {
	now := a.clock()
	f, err := a.program.Facts(r.Context(), r.PathValue("id"), now)
	if err != nil {
		directoryError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, program.Scorecard(f, a.cfg.Program, now))
}

// orEmpty makes an empty list encode as [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
