package repqueue

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/scoring"
)

// hotPartner scores a contact of p1 over the default threshold (30) with
// the events of the example and returns the crossing.
func hotPartner(t *testing.T, b *bundle) *scoring.Crossing {
	t.Helper()
	b.rep(t, "owner", 5)
	b.partner(t, directory.Partner{ID: "p1", Name: "Acme IT", OwnerRepID: "owner", Timezone: "Europe/Paris"})
	if _, _, err := b.dir.PutContact(b.ctx, directory.Contact{ID: "c1", PartnerID: "p1", Email: "jane@acme.example",
		FirstName: "Jane", LastName: "Doe", Persona: "technical", Locale: "fr", Attrs: map[string]string{"phone": "+33 1 23 45 67 89"}}); err != nil {
		t.Fatal(err)
	}
	now := b.clock.Now()
	day := 24 * time.Hour
	evs := []event.Event{
		ev("o1", event.EmailOpen, now.Add(-2*day), "Deal registration in 3 clicks", "deal-registration"),
		ev("k1", event.EmailClick, now.Add(-day), "New security product", "security"),
		ev("k2", event.EmailClick, now.Add(-day), "New security product", "security"),
		ev("w1", event.WebinarAttended, now.Add(-3*day), "Securing SMB storage", "storage"),
		ev("d1", event.ContentDownload, now.Add(-time.Hour), "SMB storage guide", "storage"),
		ev("v1", event.WebVisit, now.Add(-2*time.Hour), "Pricing", ""),
		ev("v2", event.WebVisit, now.Add(-2*time.Hour), "Pricing", ""),
		ev("x1", event.EmailDelivered, now.Add(-2*day), "Deal registration in 3 clicks", ""),
	}
	res, err := b.eng.Apply(b.ctx, scoring.Target{PartnerID: "p1", ContactID: "c1"}, evs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Crossing == nil || !res.Crossing.New {
		t.Fatalf("no crossing: partner score %.2f", res.PartnerScore)
	}
	return res.Crossing
}

func TestThresholdCrossingReachesOwnerQueueWithReasons(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{ReasonsMax: 5})
	c := hotPartner(t, b)
	e, created, err := b.q.Handoff(b.ctx, c.PartnerID, c.Seq, c.CrossedAt)
	if err != nil || !created {
		t.Fatalf("Handoff: created %v, %v", created, err)
	}
	list, err := b.q.List(b.ctx, "owner")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].PartnerID != "p1" || list[0].Seq != c.Seq {
		t.Fatalf("owner queue = %+v, want exactly p1", list)
	}
	got := list[0]
	if diff := cmp.Diff(e, &got); diff != "" {
		t.Errorf("listed entry differs from the handoff's (-handoff, +listed):\n%s", diff)
	}
	wantCard := &ContactCard{ID: "c1", Name: "Jane Doe", Email: "jane@acme.example", Phone: "+33 1 23 45 67 89",
		Persona: "technical", Timezone: "Europe/Paris", Locale: "fr"}
	if diff := cmp.Diff(wantCard, got.Contact); diff != "" {
		t.Errorf("contact card (-want, +got):\n%s", diff)
	}
	wantReasons := map[string][]string{
		"en": {
			"Clicked 'New security product' twice (yesterday)",
			"Attended the webinar 'Securing SMB storage' (3 days ago)",
			"Visited 'Pricing' twice (today)",
			"Downloaded 'SMB storage guide' (today)",
			"Opened 'Deal registration in 3 clicks' (2 days ago)",
		},
		"fr": {
			"A cliqué sur « New security product » deux fois (hier)",
			"A assisté au webinaire « Securing SMB storage » (il y a 3 jours)",
			"A visité « Pricing » deux fois (aujourd'hui)",
			"A téléchargé « SMB storage guide » (aujourd'hui)",
			"A ouvert « Deal registration in 3 clicks » (il y a 2 jours)",
		},
	}
	if diff := cmp.Diff(wantReasons, got.Reasons); diff != "" {
		t.Errorf("reasons (-want, +got):\n%s", diff)
	}
	ps, err := b.eng.Partner(b.ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Score < 30 || got.Score != ps.Score || got.PartnerName != "Acme IT" || got.ContactID != "c1" {
		t.Errorf("entry score %v (scoring says %v), name %q, contact %q", got.Score, ps.Score, got.PartnerName, got.ContactID)
	}
	if got.Interests["security"] <= 0 || got.Interests["storage"] <= 0 {
		t.Errorf("interests %v lack security and storage", got.Interests)
	}
	if !got.CrossedAt.Equal(c.CrossedAt) || !got.QueuedAt.Equal(monday10) {
		t.Errorf("crossed %s queued %s", got.CrossedAt, got.QueuedAt)
	}
	// Monday 10:00 + 24 business hours = Thursday 10:00.
	if want := monday10.Add(3 * 24 * time.Hour); !got.DueAt.Equal(want) {
		t.Errorf("due %s, want %s", got.DueAt, want)
	}
	// The same crossing arriving again (a retried task, another Apply
	// returning the pending crossing) adds nothing.
	res, err := b.eng.Apply(b.ctx, scoring.Target{PartnerID: "p1", ContactID: "c1"},
		[]event.Event{ev("v3", event.WebVisit, b.clock.Now(), "Pricing", "")})
	if err != nil || res.Crossing == nil || res.Crossing.Seq != c.Seq {
		t.Fatalf("pending crossing %+v, %v", res.Crossing, err)
	}
	if _, created, err := b.q.Handoff(b.ctx, res.Crossing.PartnerID, res.Crossing.Seq, res.Crossing.CrossedAt); err != nil || created {
		t.Fatalf("repeat Handoff: created %v, %v", created, err)
	}
	if list, _ := b.q.List(b.ctx, "owner"); len(list) != 1 {
		t.Fatalf("owner queue has %d entries after a repeat, want 1", len(list))
	}
	tl, err := b.q.Timeline(b.ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if len(tl) != 1 || tl[0].Kind != KindQueued || tl[0].RepID != "owner" || tl[0].Seq != c.Seq {
		t.Errorf("timeline %+v, want one queued item", tl)
	}
	// Timelines reads the same in bulk; a partner never queued has none.
	tls, err := b.q.Timelines(b.ctx, []string{"p1", "p9"})
	if err != nil {
		t.Fatal(err)
	}
	if len(tls) != 2 || !reflect.DeepEqual(tls[0], tl) || len(tls[1]) != 0 {
		t.Errorf("Timelines = %+v, want p1's timeline and an empty one", tls)
	}
	if _, err := b.q.Timelines(b.ctx, []string{"bad id"}); err == nil {
		t.Error("an invalid partner id read without error")
	}
}

func TestOutOfOfficeOwnerPartnerGoesToTerritoryPool(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{Territories: []Territory{{Name: "fr", Countries: []string{"FR"}, Reps: []string{"pool-a", "pool-b"}}}})
	back := monday10.Add(7 * 24 * time.Hour)
	b.rep(t, "owner", 5, func(r *directory.Rep) { r.OutOfOfficeUntil = &back })
	b.rep(t, "pool-a", 5)
	b.rep(t, "pool-b", 5)
	b.partner(t, directory.Partner{ID: "p1", OwnerRepID: "owner", Country: "fr"})
	e := b.handoff(t, "p1")
	if e.RepID != "pool-a" && e.RepID != "pool-b" {
		t.Fatalf("went to %q, want the territory pool", e.RepID)
	}
	if list, _ := b.q.List(b.ctx, "owner"); len(list) != 0 {
		t.Fatalf("out-of-office owner's queue has %v", list)
	}
}

func TestHandoffIdempotentPerSeq(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	b.rep(t, "owner", 5)
	first := b.queued(t, "p1")
	again, created, err := b.q.Handoff(b.ctx, "p1", 1, monday10)
	if err != nil || created {
		t.Fatalf("repeat: created %v, %v", created, err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("repeat returned another entry (-first, +again):\n%s", diff)
	}
	// A later crossing while the entry is open changes nothing.
	later, created, err := b.q.Handoff(b.ctx, "p1", 2, monday10)
	if err != nil || created || later.Seq != 1 {
		t.Fatalf("seq 2 while open: seq %d created %v, %v", later.Seq, created, err)
	}
	if n := b.capacityUsed(t, "owner"); n != 1 {
		t.Errorf("capacity used %d, want 1", n)
	}
	if n := b.timelineLen(t, "p1"); n != 1 {
		t.Errorf("timeline has %d items, want 1", n)
	}
	// Once closed, the next crossing is a new entry; the old one stays
	// answered by the new.
	if _, err := b.q.Claim(b.ctx, "owner", "p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.q.RecordOutcome(b.ctx, "owner", "p1", Outcome{Kind: OutcomeWrongContact}); err != nil {
		t.Fatal(err)
	}
	next, created, err := b.q.Handoff(b.ctx, "p1", 2, monday10)
	if err != nil || !created || next.Seq != 2 || next.State != StateQueued || next.Outcome != "" || next.Version != 1 {
		t.Fatalf("seq 2 after close: %+v created %v, %v", next, created, err)
	}
	old, created, err := b.q.Handoff(b.ctx, "p1", 1, monday10)
	if err != nil || created || old.Seq != 2 {
		t.Fatalf("stale seq 1: seq %d created %v, %v", old.Seq, created, err)
	}
}

func TestConcurrentRetriesOfOneHandoffCreateOneEntry(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{Routing: []string{RouteRoundRobin}})
	for _, id := range []string{"r1", "r2", "r3"} {
		b.rep(t, id, 5)
	}
	b.partner(t, directory.Partner{ID: "p1"})
	var created atomic.Int32
	var wg sync.WaitGroup
	reps := make([]string, 12)
	for i := range reps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, c, err := b.q.Handoff(b.ctx, "p1", 1, monday10)
			if err != nil {
				t.Error(err)
				return
			}
			if c {
				created.Add(1)
			}
			reps[i] = e.RepID
		}()
	}
	wg.Wait()
	if created.Load() != 1 {
		t.Fatalf("%d handoffs created, want 1", created.Load())
	}
	for _, r := range reps[1:] {
		if r != reps[0] {
			t.Fatalf("callers saw different reps: %v", reps)
		}
	}
	total := 0
	for _, id := range []string{"r1", "r2", "r3"} {
		total += b.capacityUsed(t, id)
		list, err := b.q.List(b.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if id == reps[0] && len(list) != 1 || id != reps[0] && len(list) != 0 {
			t.Errorf("List(%s) = %d entries", id, len(list))
		}
	}
	if total != 1 {
		t.Errorf("capacity used across reps %d, want 1", total)
	}
	if n := b.timelineLen(t, "p1"); n != 1 {
		t.Errorf("timeline has %d items, want 1", n)
	}
}

func TestRetriedHandoffReusesItsReservation(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{Routing: []string{RouteRoundRobin}})
	b.rep(t, "r1", 5)
	b.rep(t, "r2", 1)
	b.partner(t, directory.Partner{ID: "p1"})
	// An attempt that crashed after reserving r2's only slot.
	day := monday10.Format(time.DateOnly)
	if err := b.rdb.Set(b.ctx, pendKey("p1"), "1 r2", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := b.rdb.SAdd(b.ctx, capacityKey("r2", day), "handoff:p1:1").Err(); err != nil {
		t.Fatal(err)
	}
	e := b.handoff(t, "p1")
	if e.RepID != "r2" {
		t.Fatalf("retry went to %q, want r2 whose slot it holds", e.RepID)
	}
	if a, b2 := b.capacityUsed(t, "r1"), b.capacityUsed(t, "r2"); a != 0 || b2 != 1 {
		t.Errorf("capacity used r1 %d r2 %d, want 0 and 1", a, b2)
	}
	if n, _ := b.rdb.Exists(b.ctx, pendKey("p1")).Result(); n != 0 {
		t.Errorf("pend key left after the entry was created")
	}
}

func TestHandoffInput(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	for _, tc := range []struct {
		pid string
		seq int64
	}{{"", 1}, {"p{1}", 1}, {"p1", 0}, {"p1", -3}} {
		_, _, err := b.q.Handoff(b.ctx, tc.pid, tc.seq, monday10)
		mustIs(t, err, ErrInvalid)
	}
	// A partner scored before the directory knew it is still handed off.
	b.rep(t, "any", 1)
	e := b.handoff(t, "ghost")
	if e.RepID != "any" || e.PartnerName != "ghost" || e.Contact != nil || len(e.Reasons) != 0 {
		t.Fatalf("ghost partner entry %+v", e)
	}
}

// The unassigned pseudo-partner holds contacts of unknown company: even
// with a crossing (which ingest never rolls up to it) it is refused,
// counted, and takes nobody's capacity; each refusal counts.
func TestUnassignedPartnerIsNeverHandedOff(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	b.rep(t, "any", 1)
	pid := b.dir.UnassignedPartnerID()
	res, err := b.eng.Apply(b.ctx, scoring.Target{PartnerID: pid, ContactID: "stranger"}, []event.Event{
		ev("w1", event.WebinarAttended, b.clock.Now(), "Securing SMB storage", ""),
		ev("w2", event.EventAttended, b.clock.Now(), "Trade show", ""),
		ev("w3", event.WebinarAttended, b.clock.Now(), "Backup basics", ""),
		ev("w4", event.EmailClick, b.clock.Now(), "Backup basics", ""),
	})
	if err != nil || res.Crossing == nil {
		t.Fatalf("no crossing to refuse: %+v, %v", res, err)
	}
	for attempt := 1; attempt <= 2; attempt++ {
		e, created, err := b.q.Handoff(b.ctx, pid, res.Crossing.Seq, res.Crossing.CrossedAt)
		mustIs(t, err, ErrUnassigned)
		mustIs(t, err, ErrInvalid) // so the hand-off task does not retry
		if e != nil || created {
			t.Fatalf("attempt %d: entry %+v created %v", attempt, e, created)
		}
		st, err := b.q.Stats(b.ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if st.RefusedUnassigned != attempt || st.Handoffs != 0 || st.Unrouted != 0 {
			t.Errorf("attempt %d: stats %+v, want %d refused and no hand-off", attempt, st, attempt)
		}
	}
	if e, err := b.q.Get(b.ctx, pid); err == nil || e != nil {
		t.Errorf("the unassigned partner has an entry: %+v, %v", e, err)
	}
	if list, _ := b.q.List(b.ctx, "any"); len(list) != 0 || b.capacityUsed(t, "any") != 0 {
		t.Errorf("rep queue %+v, capacity used %d: want nothing", list, b.capacityUsed(t, "any"))
	}
	if un, _ := b.q.ListUnrouted(b.ctx); len(un) != 0 {
		t.Errorf("unrouted %+v, want nothing", un)
	}
	// The rep's slot is still there for a real partner.
	if e := b.handoff(t, "p1"); e.RepID != "any" {
		t.Errorf("p1 went to %q, want any", e.RepID)
	}
}

func TestListOrder(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	b.rep(t, "owner", 10)
	scores := map[string]int{"low": 1, "high": 3, "mid": 2, "mid2": 2}
	for pid, n := range scores {
		b.partner(t, directory.Partner{ID: pid, OwnerRepID: "owner"})
		var evs []event.Event
		for i := range n {
			evs = append(evs, ev(fmt.Sprintf("%s-%d", pid, i), event.WebinarAttended, b.clock.Now(), fmt.Sprintf("W%d", i), ""))
		}
		if _, err := b.eng.Apply(b.ctx, scoring.Target{PartnerID: pid, ContactID: "c-" + pid}, evs); err != nil {
			t.Fatal(err)
		}
	}
	// mid2 is handed off later, so it is due later than mid.
	for _, pid := range []string{"low", "high", "mid"} {
		b.handoff(t, pid)
	}
	b.clock.Advance(time.Minute)
	b.handoff(t, "mid2")
	list, err := b.q.List(b.ctx, "owner")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range list {
		got = append(got, e.PartnerID)
	}
	if want := []string{"high", "mid", "mid2", "low"}; !slices.Equal(got, want) {
		t.Fatalf("List order %v, want %v", got, want)
	}
	if !strings.HasPrefix(list[0].Reasons["en"][0], "Attended the webinar") {
		t.Errorf("reasons %v", list[0].Reasons)
	}
}
