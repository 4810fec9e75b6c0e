package nurture_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/repqueue"
)

func TestEnrollRefusesWhomTheGateRefuses(t *testing.T) {
	t.Parallel()
	b := setup(t, options{flow: twoSends})
	if err := b.optout.Unsubscribe(b.ctx, "omar"); err != nil {
		t.Fatal(err)
	}
	var nm *nurture.NotMailableError
	if _, err := b.eng.Enroll(b.ctx, "two-sends", "omar"); !errors.As(err, &nm) || nm.Reason != nurture.ReasonConsentWithdrawn {
		t.Errorf("enroll: %v, want not mailable: consent_withdrawn", err)
	}
	if _, err := b.eng.Enroll(b.ctx, "nope", "jane"); !errors.Is(err, nurture.ErrUnknownFlow) {
		t.Errorf("unknown flow: %v", err)
	}
	if _, err := b.eng.Enroll(b.ctx, "two-sends", "nobody"); !errors.Is(err, nurture.ErrUnknownContact) {
		t.Errorf("unknown contact: %v", err)
	}
}

func TestEndAndListAndReentry(t *testing.T) {
	t.Parallel()
	flowSrc := strings.Replace(twoSends, "window: always\n", "window: always\nreentry: 1d\n", 1)
	b := setup(t, options{flow: flowSrc})
	r := b.enroll(t, "two-sends", "jane")
	c, err := b.dir.GetContact(b.ctx, "jane")
	if err != nil {
		t.Fatal(err)
	}
	if ended, err := b.eng.End(b.ctx, "two-sends", c); err != nil || !ended {
		t.Fatalf("end: %v %v", ended, err)
	}
	if ended, err := b.eng.End(b.ctx, "two-sends", c); err != nil || ended {
		t.Fatalf("end twice: %v %v", ended, err)
	}
	// The old task of the first step does nothing now.
	if n, err := b.eng.Run(b.ctx, r.Next.Task); err != nil || n != nil || len(b.smtp.Messages()) != 0 {
		t.Fatalf("run after end: %+v %v", n, err)
	}
	list, err := b.eng.Enrollments(b.ctx, c)
	if err != nil || len(list) != 1 || list[0].Status != nurture.StatusExited || list[0].Reason != nurture.ReasonEnded {
		t.Fatalf("list: %+v %v", list, err)
	}
	if h := list[0].History; len(h) != 2 || h[0].Outcome != "enrolled" || h[1].Outcome != "exit: ended" {
		t.Errorf("history %+v", h)
	}
	// reentry: 1d — not before a day has passed since the exit.
	if again := b.enroll(t, "two-sends", "jane"); again.Created {
		t.Errorf("re-entered at once")
	}
	b.clock.Advance(24 * time.Hour)
	again := b.enroll(t, "two-sends", "jane")
	if !again.Created || again.Enrollment.Status != nurture.StatusActive || again.Next.Seq <= r.Next.Seq {
		t.Errorf("re-entry after a day: %+v", again)
	}
}

func TestPauseInCallQueueAndResume(t *testing.T) {
	t.Parallel()
	for _, auto := range []bool{false, true} {
		t.Run(map[bool]string{false: "ResumePartner", true: "re-check"}[auto], func(t *testing.T) {
			t.Parallel()
			testPause(t, auto)
		})
	}
}

func testPause(t *testing.T, auto bool) {
	b := setup(t, options{flow: twoSends})
	r := b.enroll(t, "two-sends", "jane")
	// The partner is handed off: the gate says in_call_queue, the step pauses.
	if _, _, err := b.queue.Handoff(b.ctx, "acme", 1, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	pausedAt := b.clock.Now()
	n, err := b.eng.Run(b.ctx, r.Next.Task)
	if err != nil || n == nil || n.Step != "first" || !n.At.Equal(pausedAt.Add(nurture.PauseRecheck)) {
		t.Fatalf("run in call queue: %+v %v, want a re-check of first in an hour", n, err)
	}
	en := b.enrollment(t, r.Enrollment.ID)
	if en.Status != nurture.StatusPaused || len(b.smtp.Messages()) != 0 {
		t.Fatalf("status %s (%s), %d messages; want paused and none", en.Status, en.Reason, len(b.smtp.Messages()))
	}
	if funnel, _ := b.eng.Funnel(b.ctx, "two-sends"); funnel[0].Counts[nurture.CountHandedOff] != 1 {
		t.Errorf("first handed_off = %d, want 1", funnel[0].Counts[nurture.CountHandedOff])
	}
	// The rep calls: not now. The partner is recycled; nurture waits out
	// the cooldown, then resumes where it stopped.
	ent, err := b.queue.Claim(b.ctx, "rep-camille", "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.queue.RecordOutcome(b.ctx, ent.RepID, "acme", repqueue.Outcome{Kind: repqueue.OutcomeNotNow}); err != nil {
		t.Fatal(err)
	}
	if auto {
		// Nobody calls ResumePartner: the re-checks find the cooldown,
		// wait it out, and the flow goes on by itself.
		b.drive(t, []nurture.Next{*n}, nil)
		if got := len(b.smtp.Messages()); got != 2 {
			t.Fatalf("%d messages after the cooldown, want 2", got)
		}
		if sent := b.smtp.Messages(); len(sent) > 0 && b.clock.Now().Before(pausedAt.Add(repqueue.DefaultNotNowCooldown)) {
			t.Errorf("sent at %s, inside the cooldown", b.clock.Now())
		}
		return
	}
	b.clock.Advance(repqueue.DefaultNotNowCooldown + time.Hour)
	next, err := b.eng.ResumePartner(b.ctx, "acme")
	if err != nil || len(next) != 1 || next[0].Step != "first" {
		t.Fatalf("resume: %+v %v", next, err)
	}
	again, err := b.eng.ResumePartner(b.ctx, "acme")
	if err != nil || len(again) != 0 {
		t.Fatalf("resume twice: %+v %v", again, err)
	}
	b.drive(t, next, nil)
	if got := len(b.smtp.Messages()); got != 2 {
		t.Errorf("%d messages after resuming, want 2", got)
	}
}

// TestMemoryPerPendingStep measures what Redis holds per enrollment
// waiting for its next step: MEMORY USAGE over the keys enrolment adds
// (the enrollment hash, its history, and its share of the partner's index).
func TestMemoryPerPendingStep(t *testing.T) {
	t.Parallel()
	b := setup(t, options{flow: twoSends})
	const n = 500
	for i := range n {
		c := directory.Contact{ID: fmt.Sprintf("contact-%05d", i), PartnerID: fmt.Sprintf("partner-%03d", i%50), Email: fmt.Sprintf("p%05d@partner.example", i)}
		if _, _, err := b.dir.PutPartner(b.ctx, directory.Partner{ID: c.PartnerID, Name: "P", OwnerRepID: "rep-camille"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := b.dir.PutContact(b.ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	rdb := nurture.StoreClient(b.store)
	var total int64
	seenIndex := map[string]bool{}
	for i := range n {
		cid, pid := fmt.Sprintf("contact-%05d", i), fmt.Sprintf("partner-%03d", i%50)
		if r := b.enroll(t, "two-sends", cid); !r.Created {
			t.Fatal("not created")
		}
		for _, k := range nurture.EnrollmentKeys(pid, "two-sends", cid) {
			if strings.HasSuffix(k, ":nu:ix") {
				if seenIndex[k] {
					continue
				}
				seenIndex[k] = true
			}
			m, err := rdb.MemoryUsage(b.ctx, k).Result()
			if err != nil {
				t.Fatal(k, err)
			}
			total += m
		}
	}
	per := total / n
	t.Logf("Redis memory per pending step: %d bytes (target ≤ 700)", per)
	if per > 700 {
		t.Errorf("%d bytes per pending step, over 700", per)
	}
}
