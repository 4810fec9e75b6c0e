package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/longtailhq/longtail/directory"
)

// Directory is what the API needs of the partner directory.
type Directory interface {
	PutPartnerChange(ctx context.Context, p directory.Partner) (directory.PartnerChange, bool, error)
	GetPartner(ctx context.Context, id string) (directory.Partner, error)
	PutContact(ctx context.Context, c directory.Contact) (directory.Contact, bool, error)
	LookupContact(ctx context.Context, idOrEmail string) (directory.Contact, error)
	PutRep(ctx context.Context, r directory.Rep) (directory.Rep, bool, error)
	GetRep(ctx context.Context, id string) (directory.Rep, error)
}

func (a *API) registerDirectory() {
	if a.dir == nil {
		return
	}
	a.handle("PUT /v1/partners/{id}", a.requireAdmin(a.putPartner))
	a.handle("GET /v1/partners/{id}", a.requireAdmin(a.getPartner))
	a.handle("PUT /v1/contacts/{id}", a.requireAdmin(a.putContact))
	a.handle("GET /v1/contacts/{id}", a.requireAdmin(a.getContact))
	if a.gate != nil {
		a.handle("GET /v1/contacts/{id}/mailable", a.requireAdmin(a.mailable))
	}
	a.handle("PUT /v1/reps/{id}", a.requireAdmin(a.putRep))
	a.handle("GET /v1/reps/{id}", a.requireAdmin(a.getRep))
}

// directoryError maps the directory's sentinel errors to statuses.
func directoryError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, directory.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid", "%v", err)
	case errors.Is(err, directory.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "%v", err)
	case errors.Is(err, directory.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", "%v", err)
	case isUnavailable(err):
		unavailable(w, r, err)
	default:
		internalError(w, r, err)
	}
}

// pathID checks that a body id, when given, matches the path id.
func pathID(w http.ResponseWriter, r *http.Request, bodyID *string) bool {
	id := r.PathValue("id")
	if *bodyID != "" && *bodyID != id {
		writeError(w, http.StatusBadRequest, "invalid", "body id %q does not match path id %q", *bodyID, id)
		return false
	}
	*bodyID = id
	return true
}

func (a *API) putPartner(w http.ResponseWriter, r *http.Request) {
	var p directory.Partner
	if !decodeJSON(w, r, a.cfg.MaxBodyBytes, &p) || !pathID(w, r, &p.ID) {
		return
	}
	c, changed, err := a.dir.PutPartnerChange(r.Context(), p)
	if err != nil {
		directoryError(w, r, err)
		return
	}
	if changed && a.partnerChanges != nil {
		// As for contact.created: the partner stands, a failure to queue
		// its stage recomputation is ours (503), and a retried PUT changes
		// nothing and queues nothing; the nightly run recomputes the stage.
		if err := a.partnerChanges(r.Context(), c); err != nil {
			a.log.Error().Err(err).Str("partner_id", c.After.ID).Msg("program:stage: the stage recomputation was not queued")
			writeError(w, http.StatusServiceUnavailable, "unavailable", "the partner was saved, but its stage recomputation could not be queued")
			return
		}
	}
	writeJSON(w, http.StatusOK, c.After)
}

func (a *API) getPartner(w http.ResponseWriter, r *http.Request) {
	p, err := a.dir.GetPartner(r.Context(), r.PathValue("id"))
	if err != nil {
		directoryError(w, r, err)
		return
	}
	view, err := a.partnerView(r.Context(), p)
	if err != nil {
		directoryError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, view)
}

func (a *API) putContact(w http.ResponseWriter, r *http.Request) {
	var c directory.Contact
	if !decodeJSON(w, r, a.cfg.MaxBodyBytes, &c) || !pathID(w, r, &c.ID) {
		return
	}
	out, created, err := a.dir.PutContact(r.Context(), c)
	if err != nil {
		directoryError(w, r, err)
		return
	}
	if created && a.created != nil {
		// The contact stands; a failure to queue its trigger is ours (503),
		// and a retried PUT finds the contact no longer new: the trigger is
		// lost in that case, said in the log.
		if err := a.created(r.Context(), out.ID); err != nil {
			a.log.Error().Err(err).Str("contact_id", out.ID).Msg("contact.created: the nurture trigger was not queued")
			writeError(w, http.StatusServiceUnavailable, "unavailable", "the contact was saved, but its nurture trigger could not be queued")
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getContact(w http.ResponseWriter, r *http.Request) {
	c, err := a.dir.LookupContact(r.Context(), r.PathValue("id"))
	if err != nil {
		directoryError(w, r, err)
		return
	}
	view, err := a.contactView(r.Context(), c)
	if err != nil {
		directoryError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, view)
}

func (a *API) putRep(w http.ResponseWriter, r *http.Request) {
	var rep directory.Rep
	if !decodeJSON(w, r, a.cfg.MaxBodyBytes, &rep) || !pathID(w, r, &rep.ID) {
		return
	}
	out, _, err := a.dir.PutRep(r.Context(), rep)
	if err != nil {
		directoryError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getRep(w http.ResponseWriter, r *http.Request) {
	rep, err := a.dir.GetRep(r.Context(), r.PathValue("id"))
	if err != nil {
		directoryError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (a *API) mailable(w http.ResponseWriter, r *http.Request) {
	c, err := a.dir.LookupContact(r.Context(), r.PathValue("id"))
	if err != nil {
		directoryError(w, r, err)
		return
	}
	d, err := a.gate.MayMail(r.Context(), c.ID)
	if err != nil {
		directoryError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}
