package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/outcome"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/reptoken"
	"github.com/longtailhq/longtail/scoring"
)

// RepQueue is what the API needs of the rep call queue.
type RepQueue interface {
	List(ctx context.Context, repID string) ([]repqueue.Entry, error)
	Scheduled(ctx context.Context, repID string) ([]repqueue.Entry, error)
	ListUnrouted(ctx context.Context) ([]repqueue.Entry, error)
	Claim(ctx context.Context, repID, partnerID string) (*repqueue.Entry, error)
	Stats(ctx context.Context, repID string) (*repqueue.Stats, error)
	Get(ctx context.Context, partnerID string) (*repqueue.Entry, error)
	Timeline(ctx context.Context, partnerID string) ([]repqueue.Transition, error)
}

// Outcomes records a rep's outcome and what follows it
// (*outcome.Recorder implements it).
type Outcomes interface {
	Record(ctx context.Context, repID, partnerID string, o repqueue.Outcome) (*repqueue.Entry, error)
}

// RepTokens is what the API needs of the reps' API tokens
// (*reptoken.Store implements it).
type RepTokens interface {
	Issue(ctx context.Context, repID string) (string, error)
	RepFor(ctx context.Context, token string) (string, error)
	Revoke(ctx context.Context, repID, tokenOrID string) error
	List(ctx context.Context, repID string) ([]reptoken.Info, error)
}

func (a *API) registerRepQueue() {
	if a.queue == nil {
		return
	}
	a.handle("POST /v1/reps/{id}/tokens", a.requireAdmin(a.issueToken))
	a.handle("GET /v1/reps/{id}/tokens", a.requireAdmin(a.listTokens))
	a.handle("DELETE /v1/reps/{id}/tokens/{token}", a.requireAdmin(a.revokeToken))
	a.handle("GET /v1/reps/{id}/queue", a.requireRep(a.listQueue))
	a.handle("POST /v1/reps/{id}/queue/{partner}/claim", a.requireRep(a.claim))
	a.handle("POST /v1/reps/{id}/queue/{partner}/outcome", a.requireRep(a.outcome))
	a.handle("GET /v1/handoffs/stats", a.requireAdmin(a.handoffStats))
	a.handle("GET /v1/handoffs/unrouted", a.requireAdmin(a.unrouted))
	a.handle("GET /v1/partners/{id}/handoff", a.requireAdmin(a.partnerHandoff))
}

// partnerHandoff is the partner's current (or last) queue entry and every
// transition of its hand-offs, with rep and note.
func (a *API) partnerHandoff(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := a.dir.GetPartner(r.Context(), id); err != nil {
		directoryError(w, r, err)
		return
	}
	e, err := a.queue.Get(r.Context(), id)
	if err != nil && !errors.Is(err, repqueue.ErrNotFound) {
		queueError(w, r, err)
		return
	}
	tl, err := a.queue.Timeline(r.Context(), id)
	if err != nil {
		queueError(w, r, err)
		return
	}
	if tl == nil {
		tl = []repqueue.Transition{}
	}
	writeJSON(w, http.StatusOK, struct {
		Entry    *repqueue.Entry       `json:"entry"`
		Timeline []repqueue.Transition `json:"timeline"`
	}{e, tl})
}

// requireRep lets through the admin key, or a rep token whose rep is the
// one in the path: a rep sees and acts on their own queue only.
func (a *API) requireRep(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="longtail"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "missing bearer token (a rep token or the admin API key)")
			return
		}
		if a.keys.match(tok) {
			next(w, r)
			return
		}
		repID, err := a.tokens.RepFor(r.Context(), tok)
		switch {
		case errors.Is(err, reptoken.ErrNotFound), errors.Is(err, reptoken.ErrForbidden):
			w.Header().Set("WWW-Authenticate", `Bearer realm="longtail", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "invalid or revoked token")
			return
		case err != nil:
			queueError(w, r, err)
			return
		}
		if repID != r.PathValue("id") {
			writeError(w, http.StatusForbidden, "forbidden", "this token belongs to another rep")
			return
		}
		next(w, r)
	}
}

func queueError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, repqueue.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "%v", err)
	case errors.Is(err, repqueue.ErrForbidden):
		writeError(w, http.StatusForbidden, "forbidden", "%v", err)
	case errors.Is(err, repqueue.ErrState):
		// Before ErrInvalid, which it wraps: the request is fine, the
		// entry's state is not (an outcome before the claim).
		writeError(w, http.StatusConflict, "wrong_state", "%v", err)
	case errors.Is(err, repqueue.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid", "%v", err)
	case errors.Is(err, repqueue.ErrConflict):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusConflict, "conflict", "%v", err)
	default:
		directoryError(w, r, err)
	}
}

func tokenError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, reptoken.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "%v", err)
	case errors.Is(err, reptoken.ErrForbidden):
		writeError(w, http.StatusForbidden, "forbidden", "%v", err)
	case errors.Is(err, reptoken.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid", "%v", err)
	default:
		directoryError(w, r, err)
	}
}

func (a *API) issueToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := a.dir.GetRep(r.Context(), id); err != nil {
		directoryError(w, r, err)
		return
	}
	tok, err := a.tokens.Issue(r.Context(), id)
	if err != nil {
		tokenError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]string{"token": tok, "rep_id": id})
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) {
	toks, err := a.tokens.List(r.Context(), r.PathValue("id"))
	if err != nil {
		tokenError(w, r, err)
		return
	}
	if toks == nil {
		toks = []reptoken.Info{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": toks})
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) {
	if err := a.tokens.Revoke(r.Context(), r.PathValue("id"), r.PathValue("token")); err != nil {
		tokenError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type queueResponse struct {
	Items     []repqueue.Entry `json:"items"`
	Scheduled []repqueue.Entry `json:"scheduled"`
}

func (a *API) listQueue(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	items, err := a.queue.List(r.Context(), id)
	if err != nil {
		queueError(w, r, err)
		return
	}
	later, err := a.queue.Scheduled(r.Context(), id)
	if err != nil {
		queueError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, queueResponse{Items: nonNil(items), Scheduled: nonNil(later)})
}

func nonNil(es []repqueue.Entry) []repqueue.Entry {
	if es == nil {
		return []repqueue.Entry{}
	}
	return es
}

func (a *API) claim(w http.ResponseWriter, r *http.Request) {
	e, err := a.queue.Claim(r.Context(), r.PathValue("id"), r.PathValue("partner"))
	if err != nil {
		queueError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

type outcomeRequest struct {
	Outcome    string     `json:"outcome"`
	Note       string     `json:"note"`
	CallbackAt *time.Time `json:"callback_at"`
	Value      float64    `json:"value"`
}

func (a *API) outcome(w http.ResponseWriter, r *http.Request) {
	var req outcomeRequest
	if !decodeJSON(w, r, a.cfg.MaxBodyBytes, &req) {
		return
	}
	e, err := a.outcomes.Record(r.Context(), r.PathValue("id"), r.PathValue("partner"), repqueue.Outcome{
		Kind: req.Outcome, Note: req.Note, CallbackAt: req.CallbackAt, Value: req.Value,
	})
	switch {
	case errors.Is(err, outcome.ErrFollowUp):
		// Recorded, but the deal event or the webhooks are not queued yet.
		// Every step is idempotent, so the client's retry completes them.
		unavailable(w, r, err)
		return
	case err != nil:
		queueError(w, r, err)
		return
	}
	// A converted call's deal event was queued by the recorder; the answer
	// says what it adds to scoring rather than adding it silently.
	resp := outcomeResponse{Entry: e}
	if ev := e.DealEvent(); ev != nil {
		rec, err := a.recorded(r.Context(), *ev)
		if err != nil {
			directoryError(w, r, err)
			return
		}
		resp.RecordedEvent = rec
	}
	writeJSON(w, http.StatusOK, resp)
}

// outcomeResponse is the entry after an outcome and, for a converted
// call, the event it recorded, so what the deal adds to scoring is said
// rather than silent.
type outcomeResponse struct {
	*repqueue.Entry
	RecordedEvent *recordedEvent `json:"recorded_event,omitempty"`
}

// recordedEvent is an event an outcome fed to scoring.
type recordedEvent struct {
	ID    string     `json:"id"`
	Type  event.Type `json:"type"`
	Value float64    `json:"value"`
	// Points the rubric gives the event before decay
	// (scoring.points.deal.won, 0 by default, with topic multipliers and
	// rules applied); the value counts toward RFM monetary either way.
	Points float64 `json:"points"`
}

// recorded describes ev with the points the rubric gives it for its
// contact and partner, as ingest will score it.
func (a *API) recorded(ctx context.Context, ev event.Event) (*recordedEvent, error) {
	rec := &recordedEvent{ID: ev.ID, Type: ev.Type, Value: ev.Value}
	if a.scores == nil {
		return rec, nil
	}
	t := scoring.Target{PartnerID: ev.PartnerID, ContactID: ev.ContactID}
	if p, err := a.dir.GetPartner(ctx, ev.PartnerID); err == nil {
		t.PartnerType, t.Tier = p.Type, p.Tier
	} else if !errors.Is(err, directory.ErrNotFound) {
		return nil, err
	}
	if ev.ContactID != "" {
		if c, err := a.dir.LookupContact(ctx, ev.ContactID); err == nil {
			t.Persona = c.Persona
		} else if !errors.Is(err, directory.ErrNotFound) {
			return nil, err
		}
	}
	rec.Points, _ = a.scores.Rubric().Points(ev, t)
	return rec, nil
}

func (a *API) handoffStats(w http.ResponseWriter, r *http.Request) {
	rep := r.URL.Query().Get("rep")
	if rep != "" {
		if _, err := a.dir.GetRep(r.Context(), rep); err != nil {
			directoryError(w, r, err)
			return
		}
	}
	st, err := a.queue.Stats(r.Context(), rep)
	if err != nil {
		queueError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, statsView{Stats: st, MedianTimeToClaimSeconds: st.MedianTimeToClaim.Seconds(), P90TimeToClaimSeconds: st.P90TimeToClaim.Seconds()})
}

// statsView adds the claim times in seconds: Go durations marshal as
// nanoseconds, which nobody reads well.
type statsView struct {
	*repqueue.Stats
	MedianTimeToClaimSeconds float64 `json:"median_time_to_claim_seconds"`
	P90TimeToClaimSeconds    float64 `json:"p90_time_to_claim_seconds"`
}

func (a *API) unrouted(w http.ResponseWriter, r *http.Request) {
	items, err := a.queue.ListUnrouted(r.Context())
	if err != nil {
		queueError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(items)})
}
