package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/longtailhq/longtail/program"
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
