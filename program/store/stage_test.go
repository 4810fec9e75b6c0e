package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/program"
	"github.com/longtailhq/longtail/program/store"
)

// Runs that decide the same stage change from the same facts record it
// once between them: the compare-and-set lets one win; the change is then
// in the partner's facts and timeline, and nothing is left to record.
func TestRecordStageOnceAcrossRacingRuns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, _, err := b.dir.PutPartner(b.ctx, directory.Partner{ID: "acme", Name: "Acme", JoinedAt: "2026-10-01"}); err != nil {
		t.Fatal(err)
	}
	for round, want := range []program.StageChange{
		{At: now, From: "", To: program.Onboarding},
		{At: now.AddDate(1, 0, 0), From: program.Onboarding, To: program.Churned},
	} {
		at := want.At
		f, err := b.st.Facts(b.ctx, "acme", at)
		if err != nil {
			t.Fatal(err)
		}
		c, ok := program.NextStage(f, program.Config{}, at)
		if !ok || c != want {
			t.Fatalf("round %d: NextStage = %+v %v, want %+v", round, c, ok, want)
		}
		const runs = 8
		var wg sync.WaitGroup
		won := make(chan bool, runs)
		for range runs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := b.st.RecordStage(b.ctx, f, c)
				if err != nil {
					t.Error(err)
				}
				won <- ok
			}()
		}
		wg.Wait()
		close(won)
		n := 0
		for ok := range won {
			if ok {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("round %d: %d runs recorded the change, want 1", round, n)
		}
		f, err = b.st.Facts(b.ctx, "acme", at)
		if err != nil {
			t.Fatal(err)
		}
		if f.LastStage != want.To || !f.LastStageAt.Equal(at) {
			t.Errorf("round %d: last stage %s at %v, want %s at %v", round, f.LastStage, f.LastStageAt, want.To, at)
		}
		if _, ok := program.NextStage(f, program.Config{}, at); ok {
			t.Errorf("round %d: a change is left to record after it was recorded", round)
		}
	}
	f, err := b.st.Facts(b.ctx, "acme", now.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := []program.StageChange{
		{At: now.AddDate(1, 0, 0), From: program.Onboarding, To: program.Churned},
		{At: now, To: program.Onboarding},
	}
	if diff := cmp.Diff(want, f.StageChanges); diff != "" {
		t.Errorf("timeline (-want, +got):\n%s", diff)
	}
}

// The let-go state moves only from the state the mover read, and shows in
// the facts the at-risk rules read: re-engaged always, exited only while
// exited, kept only while kept.
func TestMoveLetGo(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, _, err := b.dir.PutPartner(b.ctx, directory.Partner{ID: "ghost", Name: "Ghost", JoinedAt: "2025-01-01"}); err != nil {
		t.Fatal(err)
	}
	move := func(cur store.LetGo, to string, at int) bool {
		t.Helper()
		ok, err := b.st.MoveLetGo(b.ctx, "ghost", cur, to, now.Add(-time.Duration(at)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	state := func() store.LetGo {
		t.Helper()
		l, err := b.st.LetGoState(b.ctx, "ghost")
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	none := state()
	if !move(none, program.LetGoReengaging, 3) {
		t.Fatal("first move refused")
	}
	if move(none, program.LetGoKept, 2) {
		t.Error("a move from a stale state went through")
	}
	reengaging := state()
	if reengaging.State != program.LetGoReengaging || !reengaging.ReengagedAt.Equal(now.Add(-time.Duration(3)*time.Hour)) {
		t.Errorf("state %+v", reengaging)
	}
	if !move(reengaging, program.LetGoExited, 2) {
		t.Fatal("exit refused")
	}
	exited, err := b.st.Exited(b.ctx, "ghost")
	if err != nil || !exited {
		t.Errorf("Exited = %v %v, want true", exited, err)
	}
	many, err := b.st.ExitedMany(b.ctx, []string{"ghost", "other"})
	if err != nil || !cmp.Equal(many, []bool{true, false}) {
		t.Errorf("ExitedMany = %v %v", many, err)
	}
	f, err := b.st.Facts(b.ctx, "ghost", now)
	if err != nil {
		t.Fatal(err)
	}
	if !f.ReengagedAt.Equal(now.Add(-time.Duration(3)*time.Hour)) || !f.ExitedAt.Equal(now.Add(-time.Duration(2)*time.Hour)) || !f.KeptAt.IsZero() {
		t.Errorf("facts while exited: re-engaged %v, exited %v, kept %v", f.ReengagedAt, f.ExitedAt, f.KeptAt)
	}
	if !move(state(), program.LetGoKept, 1) {
		t.Fatal("keep refused")
	}
	if exited, _ := b.st.Exited(b.ctx, "ghost"); exited {
		t.Error("still exited after keep")
	}
	f, err = b.st.Facts(b.ctx, "ghost", now)
	if err != nil {
		t.Fatal(err)
	}
	if !f.ExitedAt.IsZero() || !f.KeptAt.Equal(now.Add(-time.Duration(1)*time.Hour)) {
		t.Errorf("facts while kept: exited %v, kept %v", f.ExitedAt, f.KeptAt)
	}
	if _, err := b.st.MoveLetGo(b.ctx, "ghost", state(), "gone", now); err == nil {
		t.Error("an unknown state was accepted")
	}
}
