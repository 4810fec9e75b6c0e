package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/nurture/flow"
)

// Flows is the nurture engine as the flow routes see it; *nurture.Engine
// implements it.
type Flows interface {
	Library() *nurture.Library
	Enroll(ctx context.Context, flowID, contactID string) (nurture.Enrolled, error)
	End(ctx context.Context, flowID string, c directory.Contact) (bool, error)
	Enrollments(ctx context.Context, c directory.Contact) ([]*nurture.Enrollment, error)
	Funnel(ctx context.Context, flowID string) ([]nurture.FunnelStep, error)
}

// registerFlows adds the /v1/flows routes when nurture runs (Deps.Flows
// and Deps.EnqueueNurture set).
func (a *API) registerFlows() {
	if a.flows == nil || a.dir == nil {
		return
	}
	a.handle("GET /v1/flows", a.requireAdmin(a.listFlows))
	a.handle("GET /v1/flows/{id}", a.requireAdmin(a.getFlow))
	a.handle("POST /v1/flows/{id}/enrollments", a.requireAdmin(a.postEnrollment))
	a.handle("DELETE /v1/flows/{id}/enrollments/{contact}", a.requireAdmin(a.deleteEnrollment))
	a.handle("GET /v1/flows/{id}/funnel", a.requireAdmin(a.funnel))
	a.handle("GET /v1/contacts/{id}/enrollments", a.requireAdmin(a.contactEnrollments))
	if a.reloadFlows != nil {
		a.handle("POST /v1/flows/reload", a.requireAdmin(a.reload))
	}
}

// reloadRefused is the 422 of a refused reload: the usual error, with
// every problem on its own in errors.
type reloadRefused struct {
	Error struct {
		Code    string   `json:"code"`
		Message string   `json:"message"`
		Errors  []string `json:"errors"`
	} `json:"error"`
}

// reload reloads this process's flows and templates (each process holds
// its own: POST to every api process, SIGHUP the workers).
func (a *API) reload(w http.ResponseWriter, r *http.Request) {
	out, err := a.reloadFlows(r.Context())
	if errors.Is(err, nurture.ErrReloadInvalid) {
		var body reloadRefused
		body.Error.Code = "invalid_flows"
		var list flow.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				body.Error.Errors = append(body.Error.Errors, e.Error())
			}
		} else {
			body.Error.Errors = []string{strings.TrimPrefix(strings.TrimPrefix(err.Error(), nurture.ErrReloadInvalid.Error()), "\n")}
		}
		body.Error.Message = fmt.Sprintf("refused, the running flows are unchanged: %s", strings.Join(body.Error.Errors, "; "))
		writeJSON(w, http.StatusUnprocessableEntity, body)
		return
	}
	if err != nil {
		internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

type flowSummary struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	File     string   `json:"file"`
	Triggers []string `json:"triggers"`
	Steps    int      `json:"steps"`
}

type stepView struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	Template string   `json:"template,omitempty"`
	Wait     string   `json:"wait,omitempty"`
	Event    string   `json:"event,omitempty"`
	Within   string   `json:"within,omitempty"`
	Then     string   `json:"then,omitempty"`
	Else     string   `json:"else,omitempty"`
	Goto     []string `json:"goto,omitempty"`
	Tag      string   `json:"tag,omitempty"`
	Points   float64  `json:"points,omitempty"`
}

type flowView struct {
	flowSummary
	Reentry string     `json:"reentry"`
	Window  string     `json:"window"`
	Sender  string     `json:"sender"`
	StepsOf []stepView `json:"step_list"`
}

func summary(f *flow.Flow) flowSummary {
	s := flowSummary{ID: f.ID, Name: f.Name, File: f.File, Triggers: []string{}, Steps: len(f.Steps)}
	for _, t := range f.Triggers {
		s.Triggers = append(s.Triggers, t.String())
	}
	return s
}

func (a *API) listFlows(w http.ResponseWriter, _ *http.Request) {
	items := []flowSummary{}
	for _, f := range a.flows.Library().Flows.Flows() {
		items = append(items, summary(f))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (a *API) flowOr404(w http.ResponseWriter, r *http.Request) (*flow.Flow, bool) {
	f, ok := a.flows.Library().Flows.Get(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no flow %q", r.PathValue("id"))
	}
	return f, ok
}

func (a *API) getFlow(w http.ResponseWriter, r *http.Request) {
	f, ok := a.flowOr404(w, r)
	if !ok {
		return
	}
	v := flowView{flowSummary: summary(f), Reentry: "never", Window: "nurture.window", Sender: string(f.Sender.Kind)}
	if f.Reentry.After > 0 {
		v.Reentry = f.Reentry.After.String()
	}
	if f.Window != nil {
		v.Window = f.Window.String()
	}
	if f.Sender.Kind == flow.SenderRep {
		v.Sender = "rep:" + f.Sender.RepID
	}
	for _, s := range f.Steps {
		sv := stepView{ID: s.ID, Kind: string(s.Kind), Template: s.Template, Tag: s.Tag, Points: s.Points}
		switch s.Kind {
		case flow.KindWait:
			sv.Wait = s.Wait.String()
		case flow.KindWaitFor:
			sv.Event, sv.Within, sv.Then, sv.Else = string(s.WaitFor.Event), s.WaitFor.Within.String(), s.WaitFor.Then, s.WaitFor.Else
		case flow.KindBranch:
			for _, c := range s.Cases {
				sv.Goto = append(sv.Goto, c.Goto)
			}
		}
		v.StepsOf = append(v.StepsOf, sv)
	}
	writeJSON(w, http.StatusOK, v)
}

// enrollmentRequest names the contact by id or by email.
type enrollmentRequest struct {
	ContactID string `json:"contact_id"`
	Email     string `json:"email"`
}

func (a *API) postEnrollment(w http.ResponseWriter, r *http.Request) {
	f, ok := a.flowOr404(w, r)
	if !ok {
		return
	}
	var req enrollmentRequest
	if !decodeJSON(w, r, a.cfg.MaxBodyBytes, &req) {
		return
	}
	who := strings.TrimSpace(req.ContactID)
	if who == "" {
		who = strings.TrimSpace(req.Email)
	}
	if who == "" || (req.ContactID != "" && req.Email != "") {
		writeError(w, http.StatusBadRequest, "invalid", `give exactly one of "contact_id" and "email"`)
		return
	}
	c, err := a.dir.LookupContact(r.Context(), who)
	if err != nil {
		directoryError(w, r, err)
		return
	}
	res, err := a.flows.Enroll(r.Context(), f.ID, c.ID)
	var nm *nurture.NotMailableError
	switch {
	case errors.As(err, &nm):
		writeError(w, http.StatusUnprocessableEntity, "not_mailable", "%s", nm.Reason)
		return
	case errors.Is(err, nurture.ErrUnknownContact), errors.Is(err, nurture.ErrUnknownFlow):
		writeError(w, http.StatusNotFound, "not_found", "%v", err)
		return
	case err != nil:
		directoryError(w, r, err)
		return
	}
	if res.Next != nil {
		// Queued again on a repeat (the same task id): a caller whose first
		// try died after the enrolment still gets its first step queued.
		if err := a.enqueueNurture(r.Context(), *res.Next); err != nil {
			unavailable(w, r, err)
			return
		}
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	writeJSON(w, status, res.Enrollment)
}

func (a *API) deleteEnrollment(w http.ResponseWriter, r *http.Request) {
	f, ok := a.flowOr404(w, r)
	if !ok {
		return
	}
	c, err := a.dir.LookupContact(r.Context(), r.PathValue("contact"))
	if err != nil {
		directoryError(w, r, err)
		return
	}
	ended, err := a.flows.End(r.Context(), f.ID, c)
	if err != nil {
		directoryError(w, r, err)
		return
	}
	if !ended {
		writeError(w, http.StatusNotFound, "not_found", "contact %s has no running enrollment in flow %s", c.ID, f.ID)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ended": true, "flow": f.ID, "contact_id": c.ID, "at": a.clock().UTC().Format(time.RFC3339)})
}

func (a *API) contactEnrollments(w http.ResponseWriter, r *http.Request) {
	c, err := a.dir.LookupContact(r.Context(), r.PathValue("id"))
	if err != nil {
		directoryError(w, r, err)
		return
	}
	list, err := a.flows.Enrollments(r.Context(), c)
	if err != nil {
		directoryError(w, r, err)
		return
	}
	if list == nil {
		list = []*nurture.Enrollment{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list})
}

func (a *API) funnel(w http.ResponseWriter, r *http.Request) {
	f, ok := a.flowOr404(w, r)
	if !ok {
		return
	}
	steps, err := a.flows.Funnel(r.Context(), f.ID)
	if err != nil {
		directoryError(w, r, fmt.Errorf("funnel of %s: %w", f.ID, err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"flow": f.ID, "steps": steps})
}
