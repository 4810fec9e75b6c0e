package directory

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The CSV importer (package csvimport) tests bulk loads end to end; these
// pin the Batch contract it relies on.

func TestBatchPutContacts(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.putPartner(t, "p1")
	f.putPartner(t, "p2")
	if _, _, err := f.store.PutContact(f.ctx, Contact{ID: "kept", PartnerID: "p2", Email: "kept@acme.example", FirstName: "Kim"}); err != nil {
		t.Fatal(err)
	}
	name := func(n string) func(Contact, bool) Contact {
		return func(c Contact, _ bool) Contact { c.FirstName = n; return c }
	}
	var resolved []string
	refuse := errors.New("refused by the caller")
	items := []ContactPut{
		{Email: "a@acme.example", ID: "a", PartnerID: "p1", Merge: name("Ann")},
		{Email: "kept@acme.example", KeepPartner: true, Merge: name("Kim")},        // unchanged, stays in p2
		{Email: "new@acme.example", KeepPartner: true, Merge: name("Ned")},         // new: unassigned
		{Email: "b@acme.example", ID: "b", PartnerID: "ghost", Merge: name("Bob")}, // unknown partner
		{Email: "B@acme.example", ID: "b2", PartnerID: "p1", Merge: name("Bo")},    // not normalised
		{Email: "c@acme.example", ID: "c", PartnerID: "p1", Merge: name("C\ny")},   // invalid after merge
		{Email: "d@acme.example", ID: "d", PartnerID: "p1", Merge: name("Di"), Resolved: func(string) error { return refuse }},
	}
	for i := range items {
		if items[i].Resolved == nil {
			items[i].Resolved = func(id string) error { resolved = append(resolved, id); return nil }
		}
	}
	res, err := f.store.NewBatch().PutContacts(f.ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	wantErr := []error{nil, nil, nil, ErrNotFound, ErrInvalid, ErrInvalid, refuse}
	wantUnchanged := []bool{false, true, false, false, false, false, false}
	for i, r := range res {
		if (wantErr[i] == nil) != (r.Err == nil) || (wantErr[i] != nil && !errors.Is(r.Err, wantErr[i])) || r.Unchanged != wantUnchanged[i] {
			t.Errorf("item %d: %+v, want error %v, unchanged %v", i, r, wantErr[i], wantUnchanged[i])
		}
	}
	if res[3].Err.Error() != `unknown partner "ghost"` {
		t.Errorf("unknown partner message %q", res[3].Err)
	}
	for email, wantPID := range map[string]string{"a@acme.example": "p1", "kept@acme.example": "p2", "new@acme.example": "unassigned"} {
		if c, err := f.store.ContactByEmail(f.ctx, email); err != nil || c.PartnerID != wantPID {
			t.Errorf("%s: %+v, %v; want it under %s", email, c, err, wantPID)
		}
	}
	for _, email := range []string{"b@acme.example", "c@acme.example", "d@acme.example"} {
		if _, err := f.store.ContactByEmail(f.ctx, email); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s was written although refused: %v", email, err)
		}
	}
	if len(resolved) != 5 || resolved[0] != "a" || resolved[1] != "kept" || resolved[2] != ContactIDFor("new@acme.example") {
		t.Errorf("Resolved saw %v", resolved)
	}
}

func TestBatchPutPartnersMergesWithTheStored(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if _, _, err := f.store.PutPartner(f.ctx, Partner{ID: "p1", Name: "Acme", Tier: "gold"}); err != nil {
		t.Fatal(err)
	}
	rename := func(n string) func(Partner, bool) (Partner, error) {
		return func(p Partner, _ bool) (Partner, error) { p.Name = n; return p, nil }
	}
	b := f.store.NewBatch()
	res, err := b.PutPartners(f.ctx, []PartnerPut{{ID: "p1", Merge: rename("Acme IT")}, {ID: "p2", Merge: rename("")}, {ID: "bad id", Merge: rename("X")}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].Unchanged || !errors.Is(res[1].Err, ErrInvalid) || !errors.Is(res[2].Err, ErrInvalid) {
		t.Fatalf("results %+v", res)
	}
	if p, err := f.store.GetPartner(f.ctx, "p1"); err != nil || p.Name != "Acme IT" || p.Tier != "gold" {
		t.Errorf("p1 = %+v, %v; want renamed, tier kept", p, err)
	}
	before := f.snapshot(t)
	res, err = b.PutPartners(f.ctx, []PartnerPut{{ID: "p1", Merge: rename("Acme IT")}})
	if err != nil || !res[0].Unchanged {
		t.Fatalf("again: %+v, %v", res, err)
	}
	if diff := cmp.Diff(before, f.snapshot(t)); diff != "" {
		t.Errorf("an unchanged put wrote (-before, +after):\n%s", diff)
	}
}
