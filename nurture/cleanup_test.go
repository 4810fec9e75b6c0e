package nurture_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/nurture"
)

// longWait holds a contact 45 days before its one email: longer than
// nurture.stale_after, so a wait that long must not be taken for stale.
const longWait = `id: long-wait
name: A long wait, then one email
window: always
steps:
  - {id: hold, wait: 45d}
  - {id: hello, send: hello}
`

const staleAfter = 30 * 24 * time.Hour

// cleanup runs CleanupPartner and returns the reasons of what it ended,
// by enrollment id.
func (b *bundle) cleanup(t *testing.T, pid string) map[string]nurture.Ended {
	t.Helper()
	out, err := b.eng.CleanupPartner(b.ctx, pid, staleAfter)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]nurture.Ended{}
	for _, e := range out {
		if _, dup := m[e.Enrollment]; dup {
			t.Errorf("%s ended twice in one run", e.Enrollment)
		}
		m[e.Enrollment] = e
	}
	return m
}

// exitedOnce checks the enrollment ended with reason, once: one "exit:"
// item in its history, the last one, and funnel exited counts at its
// step (one per enrollment that ended there).
func (b *bundle) exitedOnce(t *testing.T, id, reason string, funnel int64) {
	t.Helper()
	en := b.enrollment(t, id)
	if en.Status != nurture.StatusExited || en.Reason != reason || en.EndedAt.IsZero() {
		t.Fatalf("%s: %s %q ended %v, want exited %q", id, en.Status, en.Reason, en.EndedAt, reason)
	}
	hist, err := b.store.History(b.ctx, en)
	if err != nil {
		t.Fatal(err)
	}
	exits := 0
	for _, h := range hist {
		if strings.HasPrefix(h.Outcome, "exit: ") {
			exits++
		}
	}
	if exits != 1 || hist[len(hist)-1].Outcome != "exit: "+reason {
		t.Errorf("%s history %+v, want one final exit: %s", id, hist, reason)
	}
	counts, err := b.store.Funnel(b.ctx, en.Flow)
	if err != nil {
		t.Fatal(err)
	}
	if n := counts[en.Step][nurture.CountExited]; n != funnel {
		t.Errorf("%s: %s.exited = %d, want %d", id, en.Step, n, funnel)
	}
}

// A paused enrollment whose partner never leaves the call queue ends as
// stale once paused past stale_after, its pending re-check reported; a
// second run ends nothing.
func TestCleanupEndsAnEnrollmentPausedPastStaleAfter(t *testing.T) {
	t.Parallel()
	b := setup(t, options{flow: longWait})
	r := b.enroll(t, "long-wait", "jane")
	if _, _, err := b.queue.Handoff(b.ctx, "acme", 1, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	recheck, err := b.eng.Run(b.ctx, r.Next.Task)
	if err != nil || recheck == nil {
		t.Fatalf("run: %+v %v", recheck, err)
	}
	if en := b.enrollment(t, r.Enrollment.ID); en.Status != nurture.StatusPaused {
		t.Fatalf("status %s, want paused", en.Status)
	}
	// The hourly re-checks rewrite the enrollment, not its history: the
	// pause still dates from its first one.
	for range 3 {
		b.clock.Set(recheck.At)
		if recheck, err = b.eng.Run(b.ctx, recheck.Task); err != nil || recheck == nil {
			t.Fatalf("re-check: %+v %v", recheck, err)
		}
	}
	b.clock.Advance(staleAfter - 4*time.Hour)
	if got := b.cleanup(t, "acme"); len(got) != 0 {
		t.Fatalf("ended %+v while paused less than stale_after", got)
	}
	b.clock.Advance(2 * time.Hour)
	// Two cleanups at once (two workers, or a retry beside a run): the
	// enrollment ends once, reported by one of them.
	var wg sync.WaitGroup
	var runs [2][]nurture.Ended
	var errs [2]error
	for i := range runs {
		wg.Go(func() { runs[i], errs[i] = b.eng.CleanupPartner(b.ctx, "acme", staleAfter) })
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	all := append(runs[0], runs[1]...)
	if len(all) != 1 {
		t.Fatalf("two cleanups at once ended %+v, want one enrollment once", all)
	}
	got := map[string]nurture.Ended{all[0].Enrollment: all[0]}
	e, ok := got[r.Enrollment.ID]
	if len(got) != 1 || !ok || e.Reason != nurture.ReasonStale {
		t.Fatalf("ended %+v, want %s stale", got, r.Enrollment.ID)
	}
	if e.Pending == nil || e.Pending.Task != recheck.Task {
		t.Errorf("pending %+v, want the re-check %+v", e.Pending, recheck.Task)
	}
	b.exitedOnce(t, r.Enrollment.ID, nurture.ReasonStale, 1)
	if again := b.cleanup(t, "acme"); len(again) != 0 {
		t.Errorf("second run ended %+v", again)
	}
	if n, err := b.eng.Run(b.ctx, recheck.Task); err != nil || n != nil {
		t.Errorf("the pending re-check ran: %+v %v", n, err)
	}
	b.exitedOnce(t, r.Enrollment.ID, nurture.ReasonStale, 1)
}

// A long wait step is not stale while its run is ahead, nor when the run
// is due; only a run overdue by stale_after (its task was lost) is.
func TestCleanupLeavesALongWaitAlone(t *testing.T) {
	t.Parallel()
	b := setup(t, options{flow: longWait})
	r := b.enroll(t, "long-wait", "jane")
	next, err := b.eng.Run(b.ctx, r.Next.Task)
	if err != nil || next == nil || next.Step != "hello" {
		t.Fatalf("run: %+v %v", next, err)
	}
	for _, at := range []time.Time{next.At.Add(-time.Hour), next.At.Add(time.Minute), next.At.Add(staleAfter - time.Minute)} {
		b.clock.Set(at)
		if got := b.cleanup(t, "acme"); len(got) != 0 {
			t.Fatalf("at %s (run due %s) ended %+v", at, next.At, got)
		}
	}
	b.clock.Set(next.At.Add(staleAfter + time.Minute))
	got := b.cleanup(t, "acme")
	if e := got[r.Enrollment.ID]; len(got) != 1 || e.Reason != nurture.ReasonStale || e.Pending == nil || e.Pending.Task != next.Task {
		t.Fatalf("ended %+v, want %s stale with its lost run pending", got, r.Enrollment.ID)
	}
	b.exitedOnce(t, r.Enrollment.ID, nurture.ReasonStale, 1)
}

// An enrollment whose flow a reload removed, or whose contact moved to
// another partner, ends at the next cleanup with its reason, even though
// no step of it runs again; the other enrollments are left alone.
func TestCleanupEndsGoneFlowsAndContacts(t *testing.T) {
	t.Parallel()
	b := setup(t, options{flow: longWait})
	for _, c := range []directory.Contact{
		{ID: "ravi", PartnerID: "acme", Email: "ravi@acme.example"},
		{ID: "lea", PartnerID: "acme", Email: "lea@acme.example"},
	} {
		if _, _, err := b.dir.PutContact(b.ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]string{}
	for _, cid := range []string{"jane", "ravi", "lea"} {
		r := b.enroll(t, "long-wait", cid)
		if _, err := b.eng.Run(b.ctx, r.Next.Task); err != nil {
			t.Fatal(err)
		}
		ids[cid] = r.Enrollment.ID
	}
	// ravi moves to another partner: his enrollment under acme is orphaned.
	if _, _, err := b.dir.PutContact(b.ctx, directory.Contact{ID: "ravi", PartnerID: "orphan", Email: "ravi@acme.example"}); err != nil {
		t.Fatal(err)
	}
	got := b.cleanup(t, "acme")
	if len(got) != 1 || got[ids["ravi"]].Reason != nurture.ReasonContactGone {
		t.Fatalf("ended %+v, want ravi contact_gone only", got)
	}
	b.exitedOnce(t, ids["ravi"], nurture.ReasonContactGone, 1)

	// A reload without the flow: jane's and lea's enrollments would never
	// run again before their 45 days.
	lib, err := nurture.LoadLibrary(
		nurture.Source{FS: fstest.MapFS{"t.yaml": {Data: []byte(strings.ReplaceAll(longWait, "long-wait", "other-flow"))}}, Name: "flows"},
		nurture.Source{FS: fstest.MapFS{"hello.en.txt": {Data: []byte(testTemplate)}}, Name: "templates"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.eng.SetLibrary(lib)
	got = b.cleanup(t, "acme")
	ended := slices.Sorted(func(yield func(string) bool) {
		for id, e := range got {
			if e.Reason != nurture.ReasonFlowRemoved || !yield(id) {
				return
			}
		}
	})
	if want := []string{ids["jane"], ids["lea"]}; !slices.Equal(ended, want) || len(got) != 2 {
		t.Fatalf("ended %+v, want %v flow_removed", got, want)
	}
	b.exitedOnce(t, ids["jane"], nurture.ReasonFlowRemoved, 3)
	b.exitedOnce(t, ids["lea"], nurture.ReasonFlowRemoved, 3)
	if again := b.cleanup(t, "acme"); len(again) != 0 {
		t.Errorf("second run ended %+v", again)
	}
}
