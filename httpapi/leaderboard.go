package httpapi

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
)

// topInterestsMax is how many interests a leaderboard row shows.
const topInterestsMax = 3

// LeaderboardItem is one row of GET /v1/leaderboard: enough to decide
// whom to look at without a second call per partner. The profile fields
// are empty for a partner scored before the directory knew it.
type LeaderboardItem struct {
	PartnerID      string           `json:"partner_id"`
	Score          float64          `json:"score"`
	Name           string           `json:"name"`
	Type           string           `json:"type"`
	Tier           string           `json:"tier"`
	OwnerRep       *LeaderboardRep  `json:"owner_rep"`
	HottestContact *LeaderboardCard `json:"hottest_contact"`
	TopInterests   []Interest       `json:"top_interests"`
	// InQueue says whether the partner is queued or claimed in a rep's
	// call queue now; Queue says whose and in which state.
	InQueue bool            `json:"in_queue"`
	Queue   *LeaderboardPos `json:"queue,omitempty"`
}

// LeaderboardRep names a rep.
type LeaderboardRep struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// LeaderboardCard names a contact.
type LeaderboardCard struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Email   string `json:"email"`
	Persona string `json:"persona"`
}

// LeaderboardPos is where a partner sits in the call queues.
type LeaderboardPos struct {
	State string `json:"state"`
	RepID string `json:"rep_id"`
}

// Interest is a topic and its decayed points.
type Interest struct {
	Topic  string  `json:"topic"`
	Points float64 `json:"points"`
}

// leaderboardItems joins the leaderboard with the directory, the
// partners' scores and the call queue. It reads each partner on its own
// (a few round trips per row, limit ≤ 1000 rows); reps are read once each.
func (a *API) leaderboardItems(ctx context.Context, entries []scoring.Entry) ([]LeaderboardItem, error) {
	reps := map[string]*LeaderboardRep{}
	out := make([]LeaderboardItem, 0, len(entries))
	for _, en := range entries {
		it := LeaderboardItem{PartnerID: en.PartnerID, Score: en.Score, TopInterests: []Interest{}}
		p, err := a.dir.GetPartner(ctx, en.PartnerID)
		switch {
		case err == nil:
			it.Name, it.Type, it.Tier = p.Name, p.Type, p.Tier
			if p.OwnerRepID != "" {
				if it.OwnerRep, err = a.repName(ctx, reps, p.OwnerRepID); err != nil {
					return nil, err
				}
			}
		case !errors.Is(err, directory.ErrNotFound):
			return nil, err
		}
		ps, err := a.scores.Partner(ctx, en.PartnerID)
		if err != nil {
			return nil, err
		}
		it.TopInterests = topInterests(ps.Interests, topInterestsMax)
		if id := ps.HottestContactID; id != "" {
			card := &LeaderboardCard{ID: id}
			c, err := a.dir.LookupContact(ctx, id)
			switch {
			case err == nil:
				card.Name = strings.TrimSpace(c.FirstName + " " + c.LastName)
				card.Email, card.Persona = c.Email, c.Persona
			case !errors.Is(err, directory.ErrNotFound):
				return nil, err
			}
			it.HottestContact = card
		}
		if a.queue != nil {
			e, err := a.queue.Get(ctx, en.PartnerID)
			switch {
			case err == nil && e.Open():
				it.InQueue = true
				it.Queue = &LeaderboardPos{State: e.State, RepID: e.RepID}
			case err != nil && !errors.Is(err, repqueue.ErrNotFound):
				return nil, err
			}
		}
		out = append(out, it)
	}
	return out, nil
}

// repName reads a rep once per request; a rep the directory lost still
// shows its id.
func (a *API) repName(ctx context.Context, seen map[string]*LeaderboardRep, id string) (*LeaderboardRep, error) {
	if r, ok := seen[id]; ok {
		return r, nil
	}
	r := &LeaderboardRep{ID: id}
	rep, err := a.dir.GetRep(ctx, id)
	switch {
	case err == nil:
		r.Name = rep.Name
	case !errors.Is(err, directory.ErrNotFound):
		return nil, err
	}
	seen[id] = r
	return r, nil
}

// topInterests returns the n topics with the most points, most first,
// ties in name order; topics with no points left are not interests.
func topInterests(m map[string]float64, n int) []Interest {
	out := make([]Interest, 0, len(m))
	for topic, pts := range m {
		if pts > 0 {
			out = append(out, Interest{Topic: topic, Points: pts})
		}
	}
	slices.SortFunc(out, func(a, b Interest) int {
		if c := cmp.Compare(b.Points, a.Points); c != 0 {
			return c
		}
		return strings.Compare(a.Topic, b.Topic)
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}
