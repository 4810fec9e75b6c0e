package directory

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// GetPartners reads in one round trip what GetPartner reads one at a time,
// and says which ids it did not find.
func TestGetPartnersMatchesGetPartner(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, p := range []Partner{
		{ID: "acme", Name: "Acme", Tier: "gold", Phone: "+33 1", JoinedAt: "2025-01-10"},
		{ID: "globex", Name: "Globex", Attrs: map[string]string{"phone": "+44 2", "crm": "7"}},
	} {
		if _, _, err := f.store.PutPartner(f.ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	ids := []string{"acme", "nobody", "globex"}
	ps, found, err := f.store.GetPartners(f.ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, false, true}; !cmp.Equal(found, want) {
		t.Fatalf("found %v, want %v", found, want)
	}
	for i, id := range ids {
		if !found[i] {
			continue
		}
		one, err := f.store.GetPartner(f.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(one, ps[i]); diff != "" {
			t.Errorf("GetPartners[%s] (-GetPartner, +GetPartners):\n%s", id, diff)
		}
	}
	if _, _, err := f.store.GetPartners(f.ctx, []string{"bad id"}); err == nil {
		t.Error("an invalid id read without error")
	}
}
