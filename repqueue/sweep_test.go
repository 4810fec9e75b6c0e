package repqueue

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/longtailhq/longtail/directory"
)

// slaBundle: owner "a" (manager "boss"), territory pool "b", "c"; the
// partner is handed off to a.
func slaBundle(t *testing.T, cfg Config) *bundle {
	t.Helper()
	cfg.Territories = []Territory{{Name: "all", Reps: []string{"b", "c"}}}
	cfg.Routing = []string{RouteOwner, RouteTerritory}
	b := setup(t, cfg)
	b.rep(t, "boss", 1)
	b.rep(t, "a", 5, func(r *directory.Rep) { r.ManagerID = "boss" })
	b.rep(t, "b", 5, func(r *directory.Rep) { r.ManagerID = "boss2" })
	b.rep(t, "c", 1)
	b.rep(t, "boss2", 1)
	return b
}

func TestSweepReassignsThenEscalates(t *testing.T) {
	t.Parallel()
	b := slaBundle(t, Config{ClaimSLA: 2 * time.Hour})
	b.partner(t, directory.Partner{ID: "p1", OwnerRepID: "a"})
	e := b.handoff(t, "p1")
	if e.RepID != "a" || !e.DueAt.Equal(monday10.Add(2*time.Hour)) {
		t.Fatalf("entry %+v", e)
	}
	// Not due yet: nothing moves.
	b.clock.Advance(2*time.Hour - time.Millisecond)
	if res, err := b.q.SweepSLA(b.ctx); err != nil || res != (SweepResult{}) {
		t.Fatalf("early sweep %+v, %v", res, err)
	}
	b.clock.Advance(time.Millisecond)
	res, err := b.q.SweepSLA(b.ctx)
	if err != nil || res != (SweepResult{Reassigned: 1}) {
		t.Fatalf("sweep %+v, %v", res, err)
	}
	e, err = b.q.Get(b.ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	// b has more capacity left than c.
	now := b.clock.Now()
	if e.RepID != "b" || e.Breaches != 1 || e.State != StateQueued || !e.DueAt.Equal(now.Add(2*time.Hour)) ||
		!e.AvailableAt.Equal(now) || e.Escalated || fmt.Sprint(e.BreachedBy) != "[a]" {
		t.Fatalf("after the first breach: %+v", e)
	}
	_, err = b.q.Claim(b.ctx, "a", "p1")
	mustIs(t, err, ErrForbidden)
	if l, _ := b.q.List(b.ctx, "a"); len(l) != 0 {
		t.Errorf("a still lists %+v", l)
	}
	if l, _ := b.q.List(b.ctx, "b"); len(l) != 1 {
		t.Errorf("b lists %+v", l)
	}
	// Running the sweep again at once changes nothing.
	if res, err := b.q.SweepSLA(b.ctx); err != nil || res != (SweepResult{}) {
		t.Fatalf("repeat sweep %+v, %v", res, err)
	}
	// Second breach: escalated to b's manager.
	b.clock.Advance(2 * time.Hour)
	res, err = b.q.SweepSLA(b.ctx)
	if err != nil || res != (SweepResult{Escalated: 1}) {
		t.Fatalf("second sweep %+v, %v", res, err)
	}
	e, _ = b.q.Get(b.ctx, "p1")
	if e.RepID != "boss2" || !e.Escalated || e.Breaches != 2 || fmt.Sprint(e.BreachedBy) != "[a b]" {
		t.Fatalf("after escalation: %+v", e)
	}
	esc, err := b.q.ListEscalated(b.ctx)
	if err != nil || len(esc) != 1 || esc[0].PartnerID != "p1" {
		t.Fatalf("ListEscalated %+v, %v", esc, err)
	}
	if l, _ := b.q.List(b.ctx, "boss2"); len(l) != 1 || !l[0].Escalated {
		t.Errorf("manager lists %+v", l)
	}
	// Escalated entries are not swept again.
	b.clock.Advance(100 * time.Hour)
	if res, err := b.q.SweepSLA(b.ctx); err != nil || res != (SweepResult{}) {
		t.Fatalf("sweep after escalation %+v, %v", res, err)
	}
	tl, _ := b.q.Timeline(b.ctx, "p1")
	var kinds []string
	for _, x := range tl {
		kinds = append(kinds, x.Kind+":"+x.FromRepID+">"+x.RepID)
	}
	if got := fmt.Sprint(kinds); got != "[escalated:b>boss2 reassigned:a>b queued:>a]" {
		t.Errorf("timeline %s", got)
	}
	// The manager can work it.
	if _, err := b.q.Claim(b.ctx, "boss2", "p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.q.RecordOutcome(b.ctx, "boss2", "p1", Outcome{Kind: OutcomeConverted, Value: 5}); err != nil {
		t.Fatal(err)
	}
	if esc, _ := b.q.ListEscalated(b.ctx); len(esc) != 0 {
		t.Errorf("closed entry still escalated: %+v", esc)
	}
	for rep, want := range map[string]Stats{
		"a":     {Handoffs: 1, SLABreaches: 1, Outcomes: map[string]int{}},
		"b":     {Handoffs: 1, SLABreaches: 1, Escalations: 1, Outcomes: map[string]int{}},
		"boss2": {Handoffs: 1, Claimed: 1, Outcomes: map[string]int{OutcomeConverted: 1}, ConversionRate: 1},
		"":      {Handoffs: 1, Claimed: 1, SLABreaches: 2, Escalations: 1, Outcomes: map[string]int{OutcomeConverted: 1}, ConversionRate: 1},
	} {
		st, err := b.q.Stats(b.ctx, rep)
		if err != nil {
			t.Fatal(err)
		}
		st.MedianTimeToClaim, st.P90TimeToClaim = 0, 0
		if fmt.Sprint(*st) != fmt.Sprint(want) {
			t.Errorf("stats of %q: %+v, want %+v", rep, *st, want)
		}
	}
}

func TestSweepEscalationWithoutManagerKeepsRep(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{ClaimSLA: time.Hour, EscalateAfterBreaches: 1, Routing: []string{RouteOwner}})
	b.rep(t, "owner", 5)
	b.queued(t, "p1")
	b.clock.Advance(time.Hour)
	res, err := b.q.SweepSLA(b.ctx)
	if err != nil || res != (SweepResult{Escalated: 1}) {
		t.Fatalf("sweep %+v, %v", res, err)
	}
	e, _ := b.q.Get(b.ctx, "p1")
	if e.RepID != "owner" || !e.Escalated || e.Breaches != 1 {
		t.Fatalf("%+v", e)
	}
	if _, err := b.q.Claim(b.ctx, "owner", "p1"); err != nil {
		t.Fatal(err)
	}
}

func TestSweepWithNoOtherRepEscalates(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{ClaimSLA: time.Hour, Routing: []string{RouteOwner}})
	b.rep(t, "boss", 0)
	b.rep(t, "owner", 5, func(r *directory.Rep) { r.ManagerID = "boss" })
	b.queued(t, "p1")
	b.clock.Advance(time.Hour)
	res, err := b.q.SweepSLA(b.ctx)
	if err != nil || res != (SweepResult{Escalated: 1}) {
		t.Fatalf("sweep %+v, %v", res, err)
	}
	if e, _ := b.q.Get(b.ctx, "p1"); e.RepID != "boss" || !e.Escalated {
		t.Fatalf("%+v", e)
	}
}

// overdueEntries is a queue with reps a, b and c, and n entries p00, p01,
// ... of partners owned by a, queued an SLA (one hour) ago.
func overdueEntries(t *testing.T, n int) *bundle {
	t.Helper()
	b := slaBundle(t, Config{ClaimSLA: time.Hour})
	b.rep(t, "a", 100)
	b.rep(t, "b", 100)
	b.rep(t, "c", 100)
	for i := range n {
		pid := fmt.Sprintf("p%02d", i)
		b.partner(t, directory.Partner{ID: pid, OwnerRepID: "a"})
		b.handoff(t, pid)
	}
	b.clock.Advance(time.Hour)
	return b
}

func TestSweepRacingClaims(t *testing.T) {
	t.Parallel()
	const n = 12
	b := overdueEntries(t, n)
	claimed := make([]error, n)
	var wg sync.WaitGroup
	var results []SweepResult
	var mu sync.Mutex
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := b.q.SweepSLA(b.ctx)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			results = append(results, res)
			mu.Unlock()
		}()
	}
	// The sweeps take the entries in due order (p00 first), the claims
	// go the other way: they meet somewhere in the middle.
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := n - 1 - w; i >= 0; i -= 2 {
				_, claimed[i] = b.q.Claim(b.ctx, "a", fmt.Sprintf("p%02d", i))
			}
		}()
	}
	wg.Wait()
	reassigned := 0
	for _, r := range results {
		reassigned += r.Reassigned
		if r.Escalated != 0 {
			t.Errorf("escalated in %+v", r)
		}
	}
	moved := 0
	for i := range n {
		e, err := b.q.Get(b.ctx, fmt.Sprintf("p%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case claimed[i] == nil:
			// The claim won: the entry stayed with a, claimed.
			if e.RepID != "a" || e.State != StateClaimed || e.Breaches != 0 {
				t.Errorf("claimed entry %+v", e)
			}
		case errors.Is(claimed[i], ErrForbidden):
			moved++
			if e.RepID == "a" || e.State != StateQueued || e.Breaches != 1 {
				t.Errorf("moved entry %+v", e)
			}
		default:
			t.Errorf("claim %d: %v", i, claimed[i])
		}
	}
	t.Logf("claims won %d, sweeps won %d", n-moved, moved)
	if reassigned != moved {
		t.Errorf("sweeps reassigned %d, entries moved %d", reassigned, moved)
	}
	// Capacity taken by the sweeps matches what they kept.
	if used := b.capacityUsed(t, "b") + b.capacityUsed(t, "c"); used != moved {
		t.Errorf("capacity used by b and c %d, want %d", used, moved)
	}
	listed := 0
	for _, rep := range []string{"b", "c"} {
		l, _ := b.q.List(b.ctx, rep)
		listed += len(l)
	}
	if listed != moved {
		t.Errorf("b and c list %d, want %d", listed, moved)
	}
	st, _ := b.q.Stats(b.ctx, "a")
	if st.SLABreaches != moved || st.Claimed != n-moved {
		t.Errorf("a's stats %+v, moved %d", st, moved)
	}
}

func TestSweepRoutesUnroutedOnceCapacityFrees(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{Routing: []string{RouteOwner}})
	b.rep(t, "owner", 1)
	b.queued(t, "p1")
	b.partner(t, directory.Partner{ID: "p2", OwnerRepID: "owner"})
	if e := b.handoff(t, "p2"); e.RepID != "" {
		t.Fatalf("p2 → %q, want unrouted", e.RepID)
	}
	if res, err := b.q.SweepSLA(b.ctx); err != nil || res != (SweepResult{}) {
		t.Fatalf("sweep %+v, %v", res, err)
	}
	// The next day the owner has a free slot again.
	b.clock.Advance(24 * time.Hour)
	res, err := b.q.SweepSLA(b.ctx)
	if err != nil || res.Routed != 1 {
		t.Fatalf("sweep %+v, %v", res, err)
	}
	if un, _ := b.q.ListUnrouted(b.ctx); len(un) != 0 {
		t.Errorf("still unrouted: %+v", un)
	}
	e, _ := b.q.Get(b.ctx, "p2")
	if e.RepID != "owner" || !e.DueAt.Equal(b.clock.Now().Add(DefaultClaimSLA+2*24*time.Hour)) {
		t.Errorf("routed entry %+v", e)
	}
}

func TestAssignByHand(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{Routing: []string{RouteOwner}})
	b.rep(t, "owner", 0)
	b.rep(t, "ops-pick", 0)
	b.partner(t, directory.Partner{ID: "p1", OwnerRepID: "owner"})
	if e := b.handoff(t, "p1"); e.RepID != "" {
		t.Fatalf("→ %q", e.RepID)
	}
	e, err := b.q.Assign(b.ctx, "p1", "ops-pick", "owner on leave")
	if err != nil || e.RepID != "ops-pick" {
		t.Fatalf("Assign %+v, %v", e, err)
	}
	if l, _ := b.q.List(b.ctx, "ops-pick"); len(l) != 1 {
		t.Errorf("list %+v", l)
	}
	if un, _ := b.q.ListUnrouted(b.ctx); len(un) != 0 {
		t.Errorf("unrouted %+v", un)
	}
	_, err = b.q.Assign(b.ctx, "p1", "ghost", "")
	mustIs(t, err, ErrNotFound)
	if _, err := b.q.Claim(b.ctx, "ops-pick", "p1"); err != nil {
		t.Fatal(err)
	}
	_, err = b.q.Assign(b.ctx, "p1", "owner", "")
	mustIs(t, err, ErrInvalid)
}

func TestConcurrentSweepsMoveEachEntryOnce(t *testing.T) {
	t.Parallel()
	const n = 10
	b := overdueEntries(t, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := SweepResult{}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := b.q.SweepSLA(b.ctx)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total.Reassigned += res.Reassigned
			total.Escalated += res.Escalated
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != (SweepResult{Reassigned: n}) {
		t.Fatalf("sweeps did %+v together, want %d reassignments", total, n)
	}
	for i := range n {
		e, _ := b.q.Get(b.ctx, fmt.Sprintf("p%02d", i))
		if e.Breaches != 1 || e.RepID == "a" || b.timelineLen(t, e.PartnerID) != 2 {
			t.Errorf("entry %+v", e)
		}
	}
	if used := b.capacityUsed(t, "b") + b.capacityUsed(t, "c"); used != n {
		t.Errorf("capacity used %d, want %d", used, n)
	}
	if st, _ := b.q.Stats(b.ctx, ""); st.SLABreaches != n {
		t.Errorf("overall breaches %d, want %d", st.SLABreaches, n)
	}
}
