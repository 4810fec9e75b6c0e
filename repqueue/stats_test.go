package repqueue

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/longtailhq/longtail/directory"
)

func TestStats(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{Routing: []string{RouteOwner}})
	b.rep(t, "owner", 3)
	for i := range 4 {
		b.partner(t, directory.Partner{ID: fmt.Sprintf("p%d", i), OwnerRepID: "owner"})
		b.handoff(t, fmt.Sprintf("p%d", i))
	}
	// Claims 10, 20 and 30 minutes after the handoffs.
	for i := range 3 {
		b.clock.Advance(10 * time.Minute)
		if _, err := b.q.Claim(b.ctx, "owner", fmt.Sprintf("p%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for pid, o := range map[string]Outcome{"p0": {Kind: OutcomeConverted, Value: 100}, "p1": {Kind: OutcomeNotNow}} {
		if _, err := b.q.RecordOutcome(b.ctx, "owner", pid, o); err != nil {
			t.Fatal(err)
		}
		// Repeats are not counted twice.
		if _, err := b.q.RecordOutcome(b.ctx, "owner", pid, o); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.q.Claim(b.ctx, "owner", "p2"); err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]int{OutcomeConverted: 1, OutcomeNotNow: 1}
	for rep, want := range map[string]*Stats{
		"owner": {Handoffs: 3, Claimed: 3, MedianTimeToClaim: 20 * time.Minute, P90TimeToClaim: 30 * time.Minute,
			Outcomes: outcomes, ConversionRate: 1.0 / 3},
		"": {Handoffs: 4, Unrouted: 1, Claimed: 3, MedianTimeToClaim: 20 * time.Minute, P90TimeToClaim: 30 * time.Minute,
			Outcomes: outcomes, ConversionRate: 0.25},
		"idle": {Outcomes: map[string]int{}},
	} {
		got, err := b.q.Stats(b.ctx, rep)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Stats(%q) (-want, +got):\n%s", rep, diff)
		}
	}
	_, err := b.q.Stats(b.ctx, "bad id")
	mustIs(t, err, ErrInvalid)
}

func TestQuantile(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   []int64
		p    float64
		want time.Duration
	}{
		{nil, 0.5, 0},
		{[]int64{7}, 0.9, 7 * time.Millisecond},
		{[]int64{1, 2, 3, 4}, 0.5, 2 * time.Millisecond},
		{[]int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9, 9 * time.Millisecond},
		{[]int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 0.9, 10 * time.Millisecond},
	} {
		if got := quantile(tt.in, tt.p); got != tt.want {
			t.Errorf("quantile(%v, %v) = %v, want %v", tt.in, tt.p, got, tt.want)
		}
	}
}

// TestHandoffsByDay: each handoff counts once on its UTC day, a retried
// one not again, unrouted ones among them.
func TestHandoffsByDay(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{Routing: []string{RouteOwner}})
	b.rep(t, "owner", 2)
	for i := range 3 { // the third finds the owner full: unrouted
		b.partner(t, directory.Partner{ID: fmt.Sprintf("p%d", i), OwnerRepID: "owner"})
		b.handoff(t, fmt.Sprintf("p%d", i))
	}
	b.handoff(t, "p0") // a retry of the same crossing
	b.clock.Advance(24 * time.Hour)
	b.partner(t, directory.Partner{ID: "p9", OwnerRepID: "owner"})
	b.handoff(t, "p9")
	got, err := b.q.HandoffsByDay(b.ctx, monday10.AddDate(0, 0, -1), b.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := []DayHandoffs{{Day: "2026-11-15"}, {Day: "2026-11-16", Handoffs: 3, Unrouted: 1}, {Day: "2026-11-17", Handoffs: 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("HandoffsByDay (-want, +got):\n%s", diff)
	}
	_, err = b.q.HandoffsByDay(b.ctx, monday10.AddDate(0, 0, -40), monday10)
	mustIs(t, err, ErrInvalid)
}
