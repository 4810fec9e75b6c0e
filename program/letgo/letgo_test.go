package letgo_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/program"
	"github.com/longtailhq/longtail/program/letgo"
	"github.com/longtailhq/longtail/program/store"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
)

// flowRecorder stands for the nurture engine: it records enrolments and
// ends, and holds the enrollments' states the test sets. The real engine
// runs under the service in cmd/longtail's end-to-end test.
type flowRecorder struct {
	mu       sync.Mutex
	enrolled int
	ended    []string
	list     []*nurture.Enrollment
}

func (f *flowRecorder) EnrollPartner(_ context.Context, flowID, pid string) ([]nurture.Next, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.enrolled++
	if len(f.list) == 0 {
		f.list = []*nurture.Enrollment{{ID: pid + ":" + flowID + ":jane", Flow: flowID, PartnerID: pid, Status: nurture.StatusActive}}
		return []nurture.Next{{Task: nurture.Task{Enrollment: f.list[0].ID, Step: "last-call", Seq: 1}}}, nil
	}
	return nil, nil
}

func (f *flowRecorder) PartnerEnrollments(context.Context, string, string) ([]*nurture.Enrollment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*nurture.Enrollment, len(f.list))
	for i, en := range f.list {
		c := *en
		out[i] = &c
	}
	return out, nil
}

func (f *flowRecorder) EndPartnerFlow(_ context.Context, _, pid, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended = append(f.ended, pid+":"+reason)
	for _, en := range f.list {
		if !en.Status.Over() {
			en.Status = nurture.StatusExited
		}
	}
	return nil
}

func (f *flowRecorder) set(st nurture.Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, en := range f.list {
		en.Status = st
	}
}

type bundle struct {
	ctx   context.Context
	clock *testclock.Clock
	st    *store.Store
	nu    *flowRecorder
	svc   *letgo.Service
}

func setup(t *testing.T) *bundle {
	t.Helper()
	rdb := redistest.New(t)
	clock := testclock.New(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	dir, err := directory.New(rdb, directory.Config{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := scoring.NewEngine(rdb, scoring.Config{}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	q, err := repqueue.New(rdb, dir, eng, repqueue.Config{}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.New(rdb, store.Deps{Directory: dir, Scores: eng, Outcomes: q, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, p := range []directory.Partner{
		{ID: "ghost", Name: "Ghost", JoinedAt: "2025-01-01"}, // no deal past productive_within: at risk
		{ID: "fresh", Name: "Fresh", JoinedAt: "2026-11-01"}, // onboarding: not at risk
	} {
		if _, _, err := dir.PutPartner(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	nu := &flowRecorder{}
	svc, err := letgo.New(letgo.Config{Clock: clock.Now}, st, nu)
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{ctx: ctx, clock: clock, st: st, nu: nu, svc: svc}
}

func TestLetGoRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, _, err := b.svc.LetGo(b.ctx, "fresh"); !errors.Is(err, letgo.ErrNotAtRisk) {
		t.Errorf("let go fresh: %v, want ErrNotAtRisk", err)
	}
	if _, _, err := b.svc.LetGo(b.ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("let go nobody: %v, want ErrNotFound", err)
	}
	if _, err := b.svc.Keep(b.ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("keep nobody: %v, want ErrNotFound", err)
	}
	if b.nu.enrolled != 0 {
		t.Errorf("%d enrolments for refused actions", b.nu.enrolled)
	}
}

// Let go enrols once however often it is applied; the flow ending
// unanswered exits the partner; keep reverses that once.
func TestLetGoSettlesAndKeepReverses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		end    nurture.Status
		wantAt string // the state once the flow ended
	}{
		{"unanswered: exited", nurture.StatusExited, program.LetGoExited},
		{"answered: kept", nurture.StatusCompleted, program.LetGoKept},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for i, want := range []bool{true, false, false} {
				res, next, err := b.svc.LetGo(b.ctx, "ghost")
				if err != nil || res.State != program.LetGoReengaging || res.Changed != want {
					t.Fatalf("let go %d: %+v %v, want reengaging, changed %v", i, res, err, want)
				}
				if want && len(next) != 1 {
					t.Errorf("let go %d: %d steps to queue, want the first", i, len(next))
				}
			}
			if b.nu.enrolled != 1 {
				t.Errorf("%d enrolments, want 1", b.nu.enrolled)
			}
			// An enrollment of another flow ending changes nothing; the
			// last call still running neither.
			if err := b.svc.Ended(b.ctx, &nurture.Enrollment{Flow: "other", PartnerID: "ghost"}); err != nil {
				t.Fatal(err)
			}
			if err := b.svc.Settle(b.ctx, "ghost"); err != nil {
				t.Fatal(err)
			}
			if st, _ := b.st.LetGoState(b.ctx, "ghost"); st.State != program.LetGoReengaging {
				t.Fatalf("settled while the flow runs: %+v", st)
			}
			b.clock.Advance(15 * 24 * time.Hour)
			b.nu.set(tc.end)
			for range 2 { // told twice: idempotent
				if err := b.svc.Ended(b.ctx, &nurture.Enrollment{Flow: letgo.DefaultFlow, PartnerID: "ghost"}); err != nil {
					t.Fatal(err)
				}
			}
			st, err := b.st.LetGoState(b.ctx, "ghost")
			if err != nil || st.State != tc.wantAt || !st.Since.Equal(b.clock.Now()) {
				t.Fatalf("after the flow: %+v %v, want %s since now", st, err, tc.wantAt)
			}
			exited, _ := b.st.Exited(b.ctx, "ghost")
			if exited != (tc.wantAt == program.LetGoExited) {
				t.Errorf("Exited = %v", exited)
			}
			for i, want := range []bool{tc.wantAt != program.LetGoKept, false} {
				res, err := b.svc.Keep(b.ctx, "ghost")
				if err != nil || res.State != program.LetGoKept || res.Changed != want {
					t.Errorf("keep %d: %+v %v, want kept, changed %v", i, res, err, want)
				}
			}
			if exited, _ := b.st.Exited(b.ctx, "ghost"); exited {
				t.Error("still exited after keep")
			}
			if len(b.nu.ended) != 0 {
				t.Errorf("keep after the flow ended ended %v", b.nu.ended)
			}
		})
	}
}

// Keep while the last call runs ends it, so that its end exits nobody;
// let go again after a keep finds the flow over (one last flow, not one
// a quarter) and settles at once.
func TestKeepWhileReengagingThenLetGoAgain(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, _, err := b.svc.LetGo(b.ctx, "ghost"); err != nil {
		t.Fatal(err)
	}
	res, err := b.svc.Keep(b.ctx, "ghost")
	if err != nil || !res.Changed || len(b.nu.ended) != 1 || b.nu.ended[0] != "ghost:"+letgo.ReasonKept {
		t.Fatalf("keep: %+v %v, ended %v", res, err, b.nu.ended)
	}
	if err := b.svc.Ended(b.ctx, &nurture.Enrollment{Flow: letgo.DefaultFlow, PartnerID: "ghost"}); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.st.LetGoState(b.ctx, "ghost"); st.State != program.LetGoKept {
		t.Fatalf("the kept flow's end moved the state: %+v", st)
	}
	b.clock.Advance(24 * time.Hour)
	res, next, err := b.svc.LetGo(b.ctx, "ghost")
	if err != nil || res.State != program.LetGoExited || !res.Changed || len(next) != 0 {
		t.Errorf("let go again: %+v %d steps %v, want exited at once with nothing to send", res, len(next), err)
	}
}

// Past exit_after with the flow still running, let go applies the
// recommendation to exit.
func TestLetGoExitsAfterExitAfter(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, _, err := b.svc.LetGo(b.ctx, "ghost"); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(31 * 24 * time.Hour)
	res, _, err := b.svc.LetGo(b.ctx, "ghost")
	if err != nil || res.State != program.LetGoExited || !res.Changed {
		t.Errorf("let go past exit_after: %+v %v, want exited", res, err)
	}
}
