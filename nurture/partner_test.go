package nurture_test

import (
	"testing"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/nurture/flow"
	"github.com/longtailhq/longtail/repqueue"
)

// partnerFlow is enrolled by a recycle or a segment entered; it sends,
// waits a day and sends again.
const partnerFlow = `id: partner-flow
name: Partner-wide triggers
triggers:
  - handoff.recycled
  - {segment: hibernating}
window: always
steps:
  - {id: first, send: hello}
  - {id: pause, wait: 1d}
  - {id: second, send: hello}
`

// addBob gives acme a second contact, never enrolled by hand.
func addBob(t *testing.T, b *bundle) {
	t.Helper()
	if _, _, err := b.dir.PutContact(b.ctx, directory.Contact{ID: "bob", PartnerID: "acme", Email: "bob@acme.example", FirstName: "Bob"}); err != nil {
		t.Fatal(err)
	}
}

// handOffAndClaim puts acme in rep-camille's queue, claimed.
func handOffAndClaim(t *testing.T, b *bundle) {
	t.Helper()
	if _, _, err := b.queue.Handoff(b.ctx, "acme", 1, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.queue.Claim(b.ctx, "rep-camille", "acme"); err != nil {
		t.Fatal(err)
	}
}

// A not_now recycle: jane's paused enrollment resumes, bob (in no flow)
// is enrolled by handoff.recycled although the cooldown holds the
// partner, and both wait the cooldown out before anything is sent; the
// same recycle told twice changes nothing.
func TestRecycledResumesAndTriggersAfterTheCooldown(t *testing.T) {
	t.Parallel()
	b := setup(t, options{flow: partnerFlow})
	addBob(t, b)
	r := b.enroll(t, "partner-flow", "jane")
	pending := b.drive(t, []nurture.Next{*r.Next}, func(ran nurture.Task) bool { return ran.Step == "first" })
	if len(b.smtp.Messages()) != 1 || len(pending) != 1 {
		t.Fatalf("%d messages, %d pending; want the first email and the pause", len(b.smtp.Messages()), len(pending))
	}
	handOffAndClaim(t, b)
	b.clock.Advance(25 * time.Hour)
	if n, err := b.eng.Run(b.ctx, pending[0].Task); err != nil || n == nil {
		t.Fatalf("run with the partner in the call queue: %+v %v", n, err)
	}
	if en := b.enrollment(t, r.Enrollment.ID); en.Status != nurture.StatusPaused {
		t.Fatalf("jane %s, want paused while acme is with a rep", en.Status)
	}
	if _, err := b.queue.RecordOutcome(b.ctx, "rep-camille", "acme", repqueue.Outcome{Kind: repqueue.OutcomeNotNow}); err != nil {
		t.Fatal(err)
	}
	recycledAt := b.clock.Now()
	next, err := b.eng.Recycled(b.ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.eng.Recycled(b.ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	// jane resumed (her step) and bob enrolled (his first step); told
	// again, only bob's schedule comes back, with the same task id.
	steps := map[string]string{}
	for _, n := range next {
		steps[n.Enrollment] = n.Step
	}
	janeID, bobID := nurture.EnrollmentID("acme", "partner-flow", "jane"), nurture.EnrollmentID("acme", "partner-flow", "bob")
	if len(next) != 2 || steps[janeID] != "pause" || steps[bobID] != "first" {
		t.Fatalf("recycled = %+v, want jane at pause and bob at first", next)
	}
	ids := map[string]bool{}
	for _, n := range next {
		ids[n.ID()] = true
	}
	for _, n := range again {
		if !ids[n.ID()] {
			t.Fatalf("recycled again scheduled %s, a task the first recycle did not", n.ID())
		}
	}
	b.drive(t, append(next, again...), nil)
	msgs := b.smtp.Messages()
	if len(msgs) != 4 { // jane: first (before) and second; bob: first and second
		t.Fatalf("%d messages, want 4", len(msgs))
	}
	if b.clock.Now().Before(recycledAt.Add(repqueue.DefaultNotNowCooldown)) {
		t.Errorf("the last email went at %s, inside the cooldown that ends %s", b.clock.Now(), recycledAt.Add(repqueue.DefaultNotNowCooldown))
	}
	for _, id := range []string{janeID, bobID} {
		if en := b.enrollment(t, id); en.Status != nurture.StatusCompleted {
			t.Errorf("%s %s (%s), want completed", id, en.Status, en.Reason)
		}
	}
}

// converted and not_a_fit end every enrollment of the partner: a step
// queued before does nothing, and nothing more is sent.
func TestOutcomeEndsThePartnersEnrollments(t *testing.T) {
	t.Parallel()
	for _, reason := range []string{nurture.ReasonConverted, nurture.ReasonNotAFit} {
		t.Run(reason, func(t *testing.T) {
			t.Parallel()
			b := setup(t, options{flow: partnerFlow})
			addBob(t, b)
			var pending []nurture.Next
			for _, cid := range []string{"jane", "bob"} {
				pending = append(pending, *b.enroll(t, "partner-flow", cid).Next)
			}
			if err := b.eng.EndPartner(b.ctx, "acme", reason); err != nil {
				t.Fatal(err)
			}
			if err := b.eng.EndPartner(b.ctx, "acme", reason); err != nil {
				t.Fatal(err)
			}
			b.drive(t, pending, nil)
			if n := len(b.smtp.Messages()); n != 0 {
				t.Errorf("%d messages after %s, want none", n, reason)
			}
			for _, cid := range []string{"jane", "bob"} {
				en := b.enrollment(t, nurture.EnrollmentID("acme", "partner-flow", cid))
				if en.Status != nurture.StatusExited || en.Reason != reason {
					t.Errorf("%s: %s (%s), want exited (%s)", cid, en.Status, en.Reason, reason)
				}
			}
			funnel, err := b.eng.Funnel(b.ctx, "partner-flow")
			if err != nil {
				t.Fatal(err)
			}
			if got := funnel[0].Counts[nurture.CountExited]; got != 2 {
				t.Errorf("exited at first = %d, want 2 (once per enrollment)", got)
			}
		})
	}
}

// A segment entered enrols each contact of the partner the flow listens
// for, once; a segment no flow names enrols nobody.
func TestSegmentEnteredEnrolsThePartnersContacts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		segment string
		want    int
	}{
		{"hibernating", 2},
		{"lost", 0},
	}
	for _, tc := range cases {
		t.Run(tc.segment, func(t *testing.T) {
			t.Parallel()
			b := setup(t, options{flow: partnerFlow})
			addBob(t, b)
			cause := flow.Cause{Kind: flow.TriggerSegment, Segment: tc.segment}
			first, err := b.eng.TriggerPartner(b.ctx, "acme", cause)
			if err != nil {
				t.Fatal(err)
			}
			second, err := b.eng.TriggerPartner(b.ctx, "acme", cause)
			if err != nil {
				t.Fatal(err)
			}
			if len(first) != tc.want || len(second) != tc.want {
				t.Fatalf("scheduled %d then %d, want %d both times", len(first), len(second), tc.want)
			}
			for i := range first {
				if first[i].ID() != second[i].ID() {
					t.Errorf("second trigger scheduled %s, want the same task %s", second[i].ID(), first[i].ID())
				}
			}
			b.drive(t, append(first, second...), nil)
			if n := len(b.smtp.Messages()); n != 2*tc.want {
				t.Errorf("%d messages, want %d (two per contact, once)", n, 2*tc.want)
			}
			funnel, err := b.eng.Funnel(b.ctx, "partner-flow")
			if err != nil {
				t.Fatal(err)
			}
			if got := funnel[0].Counts[nurture.CountEntered]; got != int64(tc.want) {
				t.Errorf("entered = %d, want %d", got, tc.want)
			}
		})
	}
}
