package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

type leaderboardJSON struct {
	Items []struct {
		PartnerID string  `json:"partner_id"`
		Score     float64 `json:"score"`
		Name      string  `json:"name"`
		Type      string  `json:"type"`
		Tier      string  `json:"tier"`
		OwnerRep  *struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"owner_rep"`
		HottestContact *struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"hottest_contact"`
		TopInterests []struct {
			Topic string `json:"topic"`
		} `json:"top_interests"`
		InQueue bool `json:"in_queue"`
		Queue   *struct {
			State string `json:"state"`
			RepID string `json:"rep_id"`
		} `json:"queue"`
	} `json:"items"`
}

// The leaderboard is useful without a second call: who the partner is,
// whose it is, whom to call, what they care about, and whether a rep has
// it already.
func TestLeaderboardSaysWhoAndWhere(t *testing.T) {
	t.Parallel()
	s, _ := exampleService(t)
	var lb leaderboardJSON
	if code := s.do(t, "GET", "/v1/leaderboard?limit=3", "", nil, &lb); code != 200 || len(lb.Items) != 3 {
		t.Fatalf("GET /v1/leaderboard = %d, %d items", code, len(lb.Items))
	}
	type row struct {
		Partner, Name, Type, Tier, Owner, OwnerName, Contact, ContactName string
		Interests                                                         []string
		InQueue                                                           bool
		QueueState, QueueRep                                              string
	}
	var got []row
	for _, it := range lb.Items {
		r := row{Partner: it.PartnerID, Name: it.Name, Type: it.Type, Tier: it.Tier, InQueue: it.InQueue}
		if it.OwnerRep != nil {
			r.Owner, r.OwnerName = it.OwnerRep.ID, it.OwnerRep.Name
		}
		if it.HottestContact != nil {
			r.Contact, r.ContactName = it.HottestContact.ID, it.HottestContact.Name
		}
		for _, in := range it.TopInterests {
			r.Interests = append(r.Interests, in.Topic)
		}
		if it.Queue != nil {
			r.QueueState, r.QueueRep = it.Queue.State, it.Queue.RepID
		}
		got = append(got, r)
	}
	want := []row{
		{"acme-it", "Acme IT Services", "MSP", "silver", "rep-anne", "Anne Martin", "c-jane", "Jane Dupont",
			[]string{"security", "deal-registration", "partner-program"}, true, "queued", "rep-anne"},
		{"pinewood", "Pinewood Systems", "VAR", "gold", "rep-carla", "Carla Diaz", "c-sam", "Sam Miller",
			[]string{"storage"}, false, "", ""},
		{"brightcloud", "BrightCloud Hosting", "hoster", "registered", "rep-bruno", "Bruno Costa", "c-rui", "Rui Santos",
			[]string{"cloud", "storage"}, false, "", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("leaderboard (-want, +got):\n%s", diff)
	}
}
