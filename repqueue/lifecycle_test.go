package repqueue

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/scoring"
)

// crossed scores pid over the threshold so that scoring disarms it, which
// lets a test see whether an outcome re-armed it.
func crossed(t *testing.T, b *bundle, pid string) {
	t.Helper()
	var evs []event.Event
	for i := range 4 {
		evs = append(evs, ev(pid+"-w"+string(rune('a'+i)), event.WebinarAttended, b.clock.Now(), "Webinar", ""))
	}
	res, err := b.eng.Apply(b.ctx, scoring.Target{PartnerID: pid, ContactID: "c-" + pid}, evs)
	if err != nil || res.Crossing == nil {
		t.Fatalf("no crossing for %s: %v", pid, err)
	}
}

func armed(t *testing.T, b *bundle, pid string) bool {
	t.Helper()
	ps, err := b.eng.Partner(b.ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	return ps.Armed
}

func mayMail(t *testing.T, b *bundle, pid string) (bool, string) {
	t.Helper()
	ok, why, err := b.q.MayMail(b.ctx, pid, "c-"+pid)
	if err != nil {
		t.Fatal(err)
	}
	return ok, why
}

func TestClaim(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	b.rep(t, "owner", 5)
	b.rep(t, "other", 5)
	b.queued(t, "p1")
	b.clock.Advance(25 * time.Minute)
	e, err := b.q.Claim(b.ctx, "owner", "p1")
	if err != nil {
		t.Fatal(err)
	}
	if e.State != StateClaimed || e.ClaimedAt == nil || !e.ClaimedAt.Equal(b.clock.Now()) || e.Version != 2 {
		t.Fatalf("claimed entry %+v", e)
	}
	b.clock.Advance(time.Minute)
	again, err := b.q.Claim(b.ctx, "owner", "p1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(e, again); diff != "" {
		t.Errorf("second claim changed the entry (-first, +second):\n%s", diff)
	}
	if n := b.timelineLen(t, "p1"); n != 2 {
		t.Errorf("timeline %d items, want queued + claimed", n)
	}
	_, err = b.q.Claim(b.ctx, "other", "p1")
	mustIs(t, err, ErrForbidden)
	_, err = b.q.Claim(b.ctx, "owner", "nobody")
	mustIs(t, err, ErrNotFound)
	_, err = b.q.Claim(b.ctx, "", "p1")
	mustIs(t, err, ErrInvalid)
	// Claimed entries stay in the rep's list.
	list, err := b.q.List(b.ctx, "owner")
	if err != nil || len(list) != 1 || list[0].State != StateClaimed {
		t.Fatalf("list %+v, %v", list, err)
	}
	st, err := b.q.Stats(b.ctx, "owner")
	if err != nil {
		t.Fatal(err)
	}
	if st.Claimed != 1 || st.MedianTimeToClaim != 25*time.Minute {
		t.Errorf("stats %+v, want one claim after 25m", st)
	}
}

func TestOutcomes(t *testing.T) {
	t.Parallel()
	cooldown := 10 * 24 * time.Hour
	type want struct {
		state    string
		armed    bool
		mayMail  bool
		why      string // prefix
		deal     bool
		attempts int
	}
	tests := []struct {
		name string
		o    func(now time.Time) Outcome
		want want
	}{
		{"converted", func(time.Time) Outcome { return Outcome{Kind: OutcomeConverted, Note: "deal reg #42", Value: 12000} },
			want{state: StateClosed, armed: false, mayMail: true, deal: true}},
		{"callback", func(now time.Time) Outcome {
			at := now.Add(3 * time.Hour)
			return Outcome{Kind: OutcomeCallback, Note: "call after lunch", CallbackAt: &at}
		}, want{state: StateQueued, armed: false, mayMail: false, why: HoldInCallQueue}},
		{"not_now", func(time.Time) Outcome { return Outcome{Kind: OutcomeNotNow, Note: "budget in Q2"} },
			want{state: StateClosed, armed: true, mayMail: false, why: "cooldown until 2026-11-26T10:00:00Z"}},
		{"not_a_fit", func(time.Time) Outcome { return Outcome{Kind: OutcomeNotAFit} },
			want{state: StateClosed, armed: false, mayMail: false, why: HoldNotAFit}},
		{"wrong_contact", func(time.Time) Outcome { return Outcome{Kind: OutcomeWrongContact, Note: "left the company"} },
			want{state: StateClosed, armed: true, mayMail: true}},
		{"no_answer", func(time.Time) Outcome { return Outcome{Kind: OutcomeNoAnswer} },
			want{state: StateQueued, armed: false, mayMail: false, why: HoldInCallQueue, attempts: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Config{NotNowCooldown: cooldown})
			b.rep(t, "owner", 5)
			b.rep(t, "other", 5)
			b.partner(t, directory.Partner{ID: "p1", OwnerRepID: "owner"})
			crossed(t, b, "p1")
			b.handoff(t, "p1")
			if ok, why := mayMail(t, b, "p1"); ok || why != HoldInCallQueue {
				t.Fatalf("queued: MayMail %v %q", ok, why)
			}
			o := tt.o(b.clock.Now())
			_, err := b.q.RecordOutcome(b.ctx, "owner", "p1", o)
			mustIs(t, err, ErrInvalid) // not claimed yet
			if _, err := b.q.Claim(b.ctx, "owner", "p1"); err != nil {
				t.Fatal(err)
			}
			_, err = b.q.RecordOutcome(b.ctx, "other", "p1", o)
			mustIs(t, err, ErrForbidden)
			e, err := b.q.RecordOutcome(b.ctx, "owner", "p1", o)
			if err != nil {
				t.Fatal(err)
			}
			if e.State != tt.want.state || e.Outcome != o.Kind || e.Note != o.Note || e.Attempts != tt.want.attempts {
				t.Fatalf("entry after %s: %+v", o.Kind, e)
			}
			if got := armed(t, b, "p1"); got != tt.want.armed {
				t.Errorf("armed %v, want %v", got, tt.want.armed)
			}
			ok, why := mayMail(t, b, "p1")
			if ok != tt.want.mayMail || !strings.HasPrefix(why, tt.want.why) {
				t.Errorf("MayMail %v %q, want %v %q", ok, why, tt.want.mayMail, tt.want.why)
			}
			tlBefore := b.timelineLen(t, "p1")
			// The same outcome again: same entry, nothing recorded.
			again, err := b.q.RecordOutcome(b.ctx, "owner", "p1", o)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(e, again); diff != "" {
				t.Errorf("repeat changed the entry (-first, +repeat):\n%s", diff)
			}
			if n := b.timelineLen(t, "p1"); n != tlBefore || n != 3 {
				t.Errorf("timeline %d items after repeat, want %d (= queued, claimed, outcome)", n, tlBefore)
			}
			tl, _ := b.q.Timeline(b.ctx, "p1")
			if last := tl[0]; last.Kind != KindOutcome || last.Outcome != o.Kind || last.RepID != "owner" || last.Note != o.Note {
				t.Errorf("last transition %+v", last)
			}
			// Another outcome now is refused: closed, or queued again.
			other := Outcome{Kind: OutcomeWrongContact, Note: "different"}
			_, err = b.q.RecordOutcome(b.ctx, "owner", "p1", other)
			mustIs(t, err, ErrInvalid)
			if d := e.DealEvent(); (d != nil) != tt.want.deal {
				t.Fatalf("DealEvent %+v", d)
			} else if d != nil {
				if d.Type != event.DealWon || d.Value != 12000 || d.PartnerID != "p1" || d.ContactID != "c-p1" ||
					d.ID != "handoff:p1:1:converted" || !d.OccurredAt.Equal(b.clock.Now()) {
					t.Errorf("deal event %+v", d)
				}
				if err := d.Validate(); err != nil {
					t.Errorf("deal event does not validate: %v", err)
				}
			}
			list, err := b.q.List(b.ctx, "owner")
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 0 {
				t.Errorf("owner list %+v, want empty (closed or waiting for later)", list)
			}
			st, err := b.q.Stats(b.ctx, "owner")
			if err != nil {
				t.Fatal(err)
			}
			if st.Outcomes[o.Kind] != 1 || st.Handoffs != 1 || st.Claimed != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestCallbackReturnsToQueueAtItsTime(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	b.rep(t, "owner", 5)
	b.claimed(t, "p1")
	at := b.clock.Now().Add(26 * time.Hour) // Tuesday 12:00
	e, err := b.q.RecordOutcome(b.ctx, "owner", "p1", Outcome{Kind: OutcomeCallback, CallbackAt: &at})
	if err != nil {
		t.Fatal(err)
	}
	if !e.AvailableAt.Equal(at) || e.CallbackAt == nil || !e.CallbackAt.Equal(at) || e.ClaimedAt != nil {
		t.Fatalf("after callback %+v", e)
	}
	// Due 24 business hours after the callback: Friday 12:00.
	if want := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC); !e.DueAt.Equal(want) {
		t.Errorf("due %s, want %s", e.DueAt, want)
	}
	if list, _ := b.q.List(b.ctx, "owner"); len(list) != 0 {
		t.Fatalf("listed before the callback time: %+v", list)
	}
	sched, err := b.q.Scheduled(b.ctx, "owner")
	if err != nil || len(sched) != 1 || sched[0].PartnerID != "p1" {
		t.Fatalf("Scheduled %+v, %v", sched, err)
	}
	// The sweep leaves it alone: it is not due.
	if res, err := b.q.SweepSLA(b.ctx); err != nil || res != (SweepResult{}) {
		t.Fatalf("sweep %+v, %v", res, err)
	}
	b.clock.Advance(26 * time.Hour)
	list, err := b.q.List(b.ctx, "owner")
	if err != nil || len(list) != 1 || list[0].State != StateQueued {
		t.Fatalf("at the callback time: %+v, %v", list, err)
	}
	if sched, _ := b.q.Scheduled(b.ctx, "owner"); len(sched) != 0 {
		t.Errorf("still scheduled: %+v", sched)
	}
	if _, err := b.q.Claim(b.ctx, "owner", "p1"); err != nil {
		t.Fatal(err)
	}
	// After a new claim, the same outcome is a new one.
	at2 := b.clock.Now().Add(time.Hour)
	e, err = b.q.RecordOutcome(b.ctx, "owner", "p1", Outcome{Kind: OutcomeCallback, CallbackAt: &at2})
	if err != nil || !e.AvailableAt.Equal(at2) {
		t.Fatalf("second callback %+v, %v", e, err)
	}
}

func TestNoAnswerRetries(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{NoAnswerRetries: 2, NoAnswerRetryAfter: 4 * time.Hour})
	b.rep(t, "owner", 5)
	b.partner(t, directory.Partner{ID: "p1", OwnerRepID: "owner"})
	crossed(t, b, "p1")
	b.handoff(t, "p1")
	for attempt := 1; attempt <= 3; attempt++ {
		if _, err := b.q.Claim(b.ctx, "owner", "p1"); err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		e, err := b.q.RecordOutcome(b.ctx, "owner", "p1", Outcome{Kind: OutcomeNoAnswer})
		if err != nil {
			t.Fatal(err)
		}
		if e.Attempts != attempt {
			t.Fatalf("attempts %d, want %d", e.Attempts, attempt)
		}
		if attempt < 3 {
			// Back after 4 business hours: 10:00 → 14:00 on the first
			// day, 14:00 → next day 10:00 on the second.
			if e.State != StateQueued || !e.AvailableAt.Equal(b.clock.Now().Add(4*time.Hour)) && !e.AvailableAt.Equal(b.clock.Now().Add(20*time.Hour)) {
				t.Fatalf("attempt %d: %+v", attempt, e)
			}
			if armed(t, b, "p1") {
				t.Fatalf("re-armed while retrying")
			}
			if list, _ := b.q.List(b.ctx, "owner"); len(list) != 0 {
				t.Fatalf("listed before the retry time")
			}
			b.clock.Advance(e.AvailableAt.Sub(b.clock.Now()))
			continue
		}
		if e.State != StateClosed || e.Outcome != OutcomeNoAnswer {
			t.Fatalf("after the retries: %+v", e)
		}
	}
	if !armed(t, b, "p1") {
		t.Error("not re-armed after the last no_answer")
	}
	if ok, why := mayMail(t, b, "p1"); !ok {
		t.Errorf("MayMail false (%s) after recycling", why)
	}
	st, _ := b.q.Stats(b.ctx, "owner")
	if st.Outcomes[OutcomeNoAnswer] != 3 || st.Claimed != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestNotNowCooldownEnds(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	b.rep(t, "owner", 5)
	b.claimed(t, "p1")
	if _, err := b.q.RecordOutcome(b.ctx, "owner", "p1", Outcome{Kind: OutcomeNotNow}); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(DefaultNotNowCooldown - time.Second)
	if ok, why := mayMail(t, b, "p1"); ok || !strings.HasPrefix(why, "cooldown until 2026-12-16T10:00:00Z") {
		t.Fatalf("just before the end: %v %q", ok, why)
	}
	b.clock.Advance(time.Second)
	if ok, why := mayMail(t, b, "p1"); !ok {
		t.Fatalf("after the cooldown: %v %q", ok, why)
	}
}

func TestNotAFitStopsNurtureUntilResumed(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	b.rep(t, "owner", 5)
	b.claimed(t, "p1")
	if _, err := b.q.RecordOutcome(b.ctx, "owner", "p1", Outcome{Kind: OutcomeNotAFit}); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(400 * 24 * time.Hour)
	if ok, why := mayMail(t, b, "p1"); ok || why != HoldNotAFit {
		t.Fatalf("a year on: %v %q", ok, why)
	}
	if err := b.q.ResumeNurture(b.ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	if ok, why := mayMail(t, b, "p1"); !ok {
		t.Fatalf("after resume: %v %q", ok, why)
	}
	// Other partners were never held.
	if ok, _ := mayMail(t, b, "p2"); !ok {
		t.Fatal("an unknown partner is held")
	}
}

func TestOutcomeValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	b.rep(t, "owner", 5)
	b.claimed(t, "p1")
	now := b.clock.Now()
	past, far, soon := now.Add(-time.Minute), now.Add(400*24*time.Hour), now.Add(time.Hour)
	for _, o := range []Outcome{
		{Kind: "maybe"},
		{Kind: OutcomeCallback},
		{Kind: OutcomeCallback, CallbackAt: &past},
		{Kind: OutcomeCallback, CallbackAt: &far},
		{Kind: OutcomeNotNow, CallbackAt: &soon},
		{Kind: OutcomeNotNow, Value: 3},
		{Kind: OutcomeConverted, Value: -1},
		{Kind: OutcomeConverted, Note: strings.Repeat("x", maxNote+1)},
	} {
		_, err := b.q.RecordOutcome(b.ctx, "owner", "p1", o)
		mustIs(t, err, ErrInvalid)
	}
	_, err := b.q.RecordOutcome(b.ctx, "owner", "p404", Outcome{Kind: OutcomeNotNow})
	mustIs(t, err, ErrNotFound)
	if e, _ := b.q.Get(b.ctx, "p1"); e.State != StateClaimed || e.Version != 2 {
		t.Fatalf("refused outcomes changed the entry: %+v", e)
	}
	_, err = b.q.Get(b.ctx, "p404")
	mustIs(t, err, ErrNotFound)
}
