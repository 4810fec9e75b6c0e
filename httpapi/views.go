package httpapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/scoring"
)

// Scores is what the API reads of the scoring engine.
type Scores interface {
	Contact(ctx context.Context, partnerID, contactID string) (*scoring.ContactScore, error)
	Partner(ctx context.Context, partnerID string) (*scoring.PartnerScore, error)
	Leaderboard(ctx context.Context, limit int) ([]scoring.Entry, error)
	Explain(ctx context.Context, partnerID string, contactIDs []string) (*scoring.Explanation, error)
	// Rubric tells what an event recorded by the API (a converted call's
	// deal.won) will score.
	Rubric() *scoring.Rubric
}

// ContactView is GET /v1/contacts/{id-or-email}: the profile with its
// score, interests, suppression and timeline.
type ContactView struct {
	directory.Contact
	*scoring.ContactScore
}

// PartnerView is GET /v1/partners/{id}: the profile with its score,
// hottest contact, interests, RFM and threshold crossing.
type PartnerView struct {
	directory.Partner
	*scoring.PartnerScore
}

func (a *API) contactView(ctx context.Context, c directory.Contact) (ContactView, error) {
	v := ContactView{Contact: c}
	if a.scores == nil {
		return v, nil
	}
	s, err := a.scores.Contact(ctx, c.PartnerID, c.ID)
	if err != nil {
		return v, err
	}
	v.ContactScore = s
	return v, nil
}

func (a *API) partnerView(ctx context.Context, p directory.Partner) (PartnerView, error) {
	v := PartnerView{Partner: p}
	if a.scores == nil {
		return v, nil
	}
	s, err := a.scores.Partner(ctx, p.ID)
	if err != nil {
		return v, err
	}
	v.PartnerScore = s
	return v, nil
}

func (a *API) registerScores() {
	if a.scores == nil {
		return
	}
	a.handle("GET /v1/partners/{id}/score", a.requireAdmin(a.explainPartner))
	a.handle("GET /v1/leaderboard", a.requireAdmin(a.leaderboard))
	if a.rfm != nil {
		a.handle("POST /v1/scoring/rfm", a.requireAdmin(a.enqueueRFM))
	}
}

func (a *API) enqueueRFM(w http.ResponseWriter, r *http.Request) {
	if err := a.rfm(r.Context()); err != nil {
		unavailable(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]bool{"queued": true})
}

func (a *API) explainPartner(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := a.dir.GetPartner(ctx, r.PathValue("id"))
	if err != nil {
		directoryError(w, r, err)
		return
	}
	// nil: every contact ever scored under the partner, including one
	// that has since moved on, since its points are still in the sum.
	ex, err := a.scores.Explain(ctx, p.ID, nil)
	if err != nil {
		directoryError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ex)
}

func (a *API) leaderboard(w http.ResponseWriter, r *http.Request) {
	limit := 50
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "invalid", "limit must be an integer from 1 to 1000, got %q", s)
			return
		}
		limit = n
	}
	entries, err := a.scores.Leaderboard(r.Context(), limit)
	if err != nil {
		directoryError(w, r, err)
		return
	}
	items, err := a.leaderboardItems(r.Context(), entries)
	if err != nil {
		directoryError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// isUnavailable reports errors that mean Redis is away rather than a bug.
func isUnavailable(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, redis.ErrClosed) || errors.Is(err, context.DeadlineExceeded)
}
