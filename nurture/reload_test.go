package nurture_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/nurture/flow"
)

// Reload refuses an invalid set whole (the old library keeps running and
// the enrollment goes on), and a valid one runs at once, reporting the
// steps it removed; an enrollment at a step still there continues by id.
func TestReloadRefusesAnInvalidSetAndKeepsSteps(t *testing.T) {
	t.Parallel()
	b := setup(t, options{flow: twoSends})
	r := b.enroll(t, "two-sends", "jane")
	next, err := b.eng.Run(b.ctx, r.Next.Task) // first sent, gap next
	if err != nil || next == nil {
		t.Fatal(next, err)
	}
	old := b.eng.Library()
	load := func(flowYAML string) func() (*nurture.Library, error) {
		return func() (*nurture.Library, error) {
			return nurture.LoadLibrary(
				nurture.Source{FS: fstest.MapFS{"t.yaml": {Data: []byte(flowYAML)}}, Name: "flows"},
				nurture.Source{FS: fstest.MapFS{"hello.en.txt": {Data: []byte(testTemplate)}}, Name: "templates"}, nil)
		}
	}
	_, err = b.eng.Reload(load(strings.Replace(twoSends, "send: hello", "send: nope", 1)))
	var list flow.ErrorList
	if !errors.Is(err, nurture.ErrReloadInvalid) || !errors.As(err, &list) || len(list) != 1 {
		t.Fatalf("reload of a broken set = %v, want ErrReloadInvalid with one problem", err)
	}
	if b.eng.Library() != old {
		t.Fatal("a refused reload replaced the library")
	}
	// Valid: the step already passed (first) is removed; gap, where the
	// enrollment is, stays and leads to second.
	got, err := b.eng.Reload(load(strings.Replace(twoSends, "  - {id: first, send: hello}\n", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.RemovedSteps, []string{"two-sends/first"}) || got.Flows != 1 || len(got.RemovedFlows) != 0 {
		t.Fatalf("reloaded %+v, want two-sends/first removed", got)
	}
	if n, err := b.eng.Run(b.ctx, next.Task); err != nil || n == nil || n.Step != "second" {
		t.Fatalf("run of gap after the reload: %+v %v, want second next", n, err)
	}
	if en := b.enrollment(t, r.Enrollment.ID); en.Status.Over() {
		t.Errorf("enrollment %s (%s) after a reload that kept its step", en.Status, en.Reason)
	}
}
