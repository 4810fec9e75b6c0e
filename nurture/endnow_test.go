package nurture_test

import (
	"testing"

	"github.com/longtailhq/longtail/nurture"
)

// An end requested from outside the flow (DELETE, unsubscribe, let go)
// takes effect even when a step task moved the enrollment after the
// caller read it: the stale commit is refused, the enrollment read again
// and ended, once.
func TestEndTakesEffectWhenAStepMovedTheEnrollment(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	r := b.enroll(t, "test-flow", "jane")
	stale := b.enrollment(t, r.Enrollment.ID)
	// The welcome step runs meanwhile: the enrollment moves on, running.
	b.drive(t, []nurture.Next{*r.Next}, func(ran nurture.Task) bool { return ran.Step == "welcome" })
	if moved := b.enrollment(t, r.Enrollment.ID); moved.Status.Over() || moved.Seq == stale.Seq {
		t.Fatalf("the welcome step did not move the enrollment: %+v", moved)
	}

	if err := nurture.EndListed(b.eng, b.ctx, []*nurture.Enrollment{stale}, nurture.ReasonEnded, nurture.CountExited); err != nil {
		t.Fatal(err)
	}
	en := b.enrollment(t, r.Enrollment.ID)
	if en.Status != nurture.StatusExited || en.Reason != nurture.ReasonEnded {
		t.Fatalf("status %s (%s), want exited (%s)", en.Status, en.Reason, nurture.ReasonEnded)
	}
	funnel, err := b.store.Funnel(b.ctx, "test-flow")
	if err != nil {
		t.Fatal(err)
	}
	exited := int64(0)
	for _, counts := range funnel {
		exited += counts[nurture.CountExited]
	}
	if exited != 1 {
		t.Errorf("%d exits counted, want 1", exited)
	}

	// Ending it again (the same stale read) changes nothing.
	if err := nurture.EndListed(b.eng, b.ctx, []*nurture.Enrollment{stale}, nurture.ReasonEnded, nurture.CountExited); err != nil {
		t.Fatal(err)
	}
	if again := b.enrollment(t, r.Enrollment.ID); again.Seq != en.Seq {
		t.Errorf("a second end moved the ended enrollment: seq %d, then %d", en.Seq, again.Seq)
	}
}
