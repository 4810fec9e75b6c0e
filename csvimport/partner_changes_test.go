package csvimport

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/longtailhq/longtail/directory"
)

// A partners import tells PartnersChanged, batch by batch, what it
// changed of the partners it wrote: the created and the updated ones,
// never those already stored so. An error of the hook stops the import.
func TestImportPartnersReportsChanges(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var got []directory.PartnerChange
	var fail error
	imp := func(csv string) (*Report, error) {
		t.Helper()
		got = nil
		return Import(f.ctx, f.store, KindPartners, strings.NewReader(csv), Options{BatchSize: 2,
			PartnersChanged: func(_ context.Context, cs []directory.PartnerChange) error {
				got = append(got, cs...)
				return fail
			}})
	}
	ids := func() []string {
		var out []string
		for _, c := range got {
			out = append(out, c.After.ID)
		}
		slices.Sort(out)
		return out
	}
	const first = "id,name,tier,joined_at\np1,One,silver,2025-01-01\np2,Two,silver,2025-02-01\np3,Three,silver,\n"
	if _, err := imp(first); err != nil {
		t.Fatal(err)
	}
	if want := []string{"p1", "p2", "p3"}; !slices.Equal(ids(), want) {
		t.Fatalf("first import reported %v, want %v", ids(), want)
	}
	for _, c := range got {
		if c.Existed {
			t.Errorf("created %s reported as existing: %+v", c.After.ID, c)
		}
	}
	if rep, err := imp(first); err != nil || rep.Unchanged != 3 || len(got) != 0 {
		t.Fatalf("same file again: %+v, %v, reported %+v; want nothing", rep, err, got)
	}
	// p1's tier, p3's joined_at; p2 as it was; a bad row.
	if rep, err := imp("id,name,tier,joined_at\np1,One,gold,2025-01-01\np2,Two,silver,2025-02-01\np3,Three,silver,2025-03-01\np4,,silver,\n"); err != nil || rep.Rejected != 1 {
		t.Fatalf("second import: %+v, %v", rep, err)
	}
	if want := []string{"p1", "p3"}; !slices.Equal(ids(), want) {
		t.Fatalf("second import reported %v, want %v", ids(), want)
	}
	for _, c := range got {
		if !c.Existed || c.Before.ID != c.After.ID {
			t.Errorf("update of %s: %+v, want the stored record before it", c.After.ID, c)
		}
	}

	fail = errors.New("queue away")
	if _, err := imp("id,name\np5,Five\n"); !errors.Is(err, fail) {
		t.Fatalf("import with the hook failing: %v, want its error", err)
	}
}
