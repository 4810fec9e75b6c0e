package repqueue

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/longtailhq/longtail/directory"
)

func TestRouting(t *testing.T) {
	t.Parallel()
	past := monday10.Add(-time.Hour)
	future := monday10.Add(48 * time.Hour)
	emea := []Territory{{Name: "emea-msp", Regions: []string{"emea"}, PartnerTypes: []string{"MSP"}, Reps: []string{"pool1"}}}
	tests := []struct {
		name    string
		cfg     Config
		owner   func(*directory.Rep) // nil: the partner has no owner
		partner directory.Partner
		// fill hands this many other partners to the owner first.
		fill int
		// others are extra reps (id → capacity, regions).
		others []directory.Rep
		want   string // "" = unrouted
	}{
		{name: "owner active", cfg: Config{Territories: emea}, owner: func(*directory.Rep) {},
			partner: directory.Partner{Region: "EMEA", Type: "MSP"}, want: "owner"},
		{name: "owner out of office goes to territory pool", cfg: Config{Territories: emea},
			owner:   func(r *directory.Rep) { r.OutOfOfficeUntil = &future },
			partner: directory.Partner{Region: "EMEA", Type: "MSP"}, want: "pool1"},
		{name: "owner back from out of office", cfg: Config{Territories: emea},
			owner:   func(r *directory.Rep) { r.OutOfOfficeUntil = &past },
			partner: directory.Partner{Region: "EMEA", Type: "MSP"}, want: "owner"},
		{name: "owner inactive", cfg: Config{Territories: emea},
			owner:   func(r *directory.Rep) { r.Active = false },
			partner: directory.Partner{Region: "EMEA", Type: "MSP"}, want: "pool1"},
		{name: "owner at capacity goes to territory", cfg: Config{Territories: emea},
			owner: func(r *directory.Rep) { r.DailyCapacity = 2 }, fill: 2,
			partner: directory.Partner{Region: "EMEA", Type: "MSP"}, want: "pool1"},
		{name: "owner with zero capacity", cfg: Config{Territories: emea},
			owner:   func(r *directory.Rep) { r.DailyCapacity = 0 },
			partner: directory.Partner{Region: "EMEA", Type: "MSP"}, want: "pool1"},
		{name: "no territory match falls to round robin in region", cfg: Config{Territories: emea},
			owner:   func(r *directory.Rep) { r.Active = false },
			partner: directory.Partner{Region: "APAC", Type: "MSP"},
			others:  []directory.Rep{{ID: "apac1", DailyCapacity: 1, Regions: []string{"apac"}}}, want: "apac1"},
		{name: "round robin skips reps of other regions", cfg: Config{Routing: []string{"round_robin"}},
			partner: directory.Partner{Region: "NA"},
			others:  []directory.Rep{{ID: "apac1", DailyCapacity: 5, Regions: []string{"APAC"}}, {ID: "any", DailyCapacity: 1}}, want: "any"},
		{name: "nobody eligible is unrouted", cfg: Config{Territories: emea, Routing: []string{"owner", "territory"}},
			owner:   func(r *directory.Rep) { r.OutOfOfficeUntil = &future },
			partner: directory.Partner{Region: "APAC"}, want: ""},
		{name: "routing order puts territory first", cfg: Config{Territories: emea, Routing: []string{"territory", "owner"}},
			owner:   func(*directory.Rep) {},
			partner: directory.Partner{Region: "emea", Type: "msp"}, want: "pool1"},
		{name: "territory pool full falls back to owner step later in order", cfg: Config{Territories: emea, Routing: []string{"territory", "owner"}},
			owner:   func(*directory.Rep) {},
			partner: directory.Partner{Region: "emea", Type: "msp"}, others: []directory.Rep{{ID: "pool1", DailyCapacity: 0}}, want: "owner"},
		{name: "partner without owner goes to round robin", cfg: Config{},
			partner: directory.Partner{Region: "NA"}, others: []directory.Rep{{ID: "solo", DailyCapacity: 1}}, want: "solo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.cfg)
			p := tt.partner
			p.ID = "p1"
			if tt.owner != nil {
				b.rep(t, "owner", 5, tt.owner)
				p.OwnerRepID = "owner"
			}
			pool := true
			for _, o := range tt.others {
				pool = pool && o.ID != "pool1"
				b.rep(t, o.ID, o.DailyCapacity, func(r *directory.Rep) { r.Regions = o.Regions })
			}
			if pool {
				b.rep(t, "pool1", 5, func(r *directory.Rep) { r.Regions = []string{"EMEA"} })
			}
			for i := range tt.fill {
				pid := fmt.Sprintf("fill%d", i)
				b.partner(t, directory.Partner{ID: pid, OwnerRepID: "owner"})
				if e := b.handoff(t, pid); e.RepID != "owner" {
					t.Fatalf("fill handoff went to %q", e.RepID)
				}
			}
			b.partner(t, p)
			e, created, err := b.q.Handoff(b.ctx, "p1", 1, monday10)
			if err != nil {
				t.Fatal(err)
			}
			if !created || e.RepID != tt.want {
				t.Fatalf("Handoff → rep %q (created %v), want %q", e.RepID, created, tt.want)
			}
			un, err := b.q.ListUnrouted(b.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if len(un) != 1 || un[0].PartnerID != "p1" {
					t.Fatalf("ListUnrouted = %+v, want p1", un)
				}
				return
			}
			if len(un) != 0 {
				t.Fatalf("ListUnrouted = %+v, want none", un)
			}
			list, err := b.q.List(b.ctx, tt.want)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, x := range list {
				found = found || x.PartnerID == "p1"
			}
			if !found {
				t.Fatalf("List(%s) = %+v, want p1 in it", tt.want, list)
			}
		})
	}
}

func TestRoundRobinWeightedByRemainingCapacity(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{Routing: []string{RouteRoundRobin}})
	b.rep(t, "a", 4)
	b.rep(t, "b", 2)
	b.rep(t, "c", 2)
	b.rep(t, "off", 50, func(r *directory.Rep) { r.Active = false })
	counts := map[string]int{}
	step := func(i int) {
		pid := fmt.Sprintf("p%d", i)
		b.partner(t, directory.Partner{ID: pid})
		counts[b.handoff(t, pid).RepID]++
	}
	// a has the most left until it is down to the others' 2; then the
	// three take turns.
	for i := range 2 {
		step(i)
	}
	if want := (map[string]int{"a": 2}); fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Fatalf("after 2: %v, want %v", counts, want)
	}
	for i := 2; i < 5; i++ {
		step(i)
	}
	if want := (map[string]int{"a": 3, "b": 1, "c": 1}); fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Fatalf("after 5: %v, want %v", counts, want)
	}
	for i := 5; i < 9; i++ {
		step(i)
	}
	if want := (map[string]int{"a": 4, "b": 2, "c": 2, "": 1}); fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Fatalf("after 9: %v, want %v", counts, want)
	}
}

func TestConcurrentHandoffsRespectCapacity(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{Territories: []Territory{{Name: "all", Reps: []string{"r1", "r2", "r3"}}},
		Routing: []string{RouteTerritory}})
	caps := map[string]int{"r1": 3, "r2": 3, "r3": 4}
	for id, c := range caps {
		b.rep(t, id, c)
	}
	const n = 20
	for i := range n {
		b.partner(t, directory.Partner{ID: fmt.Sprintf("p%02d", i)})
	}
	var wg sync.WaitGroup
	got := make([]*Entry, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, created, err := b.q.Handoff(b.ctx, fmt.Sprintf("p%02d", i), 1, monday10)
			if err != nil || !created {
				t.Errorf("handoff %d: created %v, %v", i, created, err)
				return
			}
			got[i] = e
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	per := map[string]int{}
	for _, e := range got {
		per[e.RepID]++
	}
	if per[""] != 10 {
		t.Errorf("unrouted %d, want 10 (per rep %v)", per[""], per)
	}
	for id, c := range caps {
		if per[id] != c {
			t.Errorf("rep %s got %d, want its capacity %d", id, per[id], c)
		}
		if used := b.capacityUsed(t, id); used != c {
			t.Errorf("rep %s capacity used %d, want %d", id, used, c)
		}
		list, err := b.q.List(b.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != c {
			t.Errorf("List(%s) has %d entries, want %d", id, len(list), c)
		}
	}
	un, err := b.q.ListUnrouted(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(un) != 10 {
		t.Errorf("ListUnrouted has %d, want 10", len(un))
	}
}

func TestCapacityIsPerRepLocalDay(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{Routing: []string{RouteOwner}})
	b.rep(t, "owner", 1, func(r *directory.Rep) { r.Attrs = map[string]string{"timezone": "Pacific/Auckland"} })
	for _, pid := range []string{"p1", "p2", "p3"} {
		b.partner(t, directory.Partner{ID: pid, OwnerRepID: "owner"})
	}
	if e := b.handoff(t, "p1"); e.RepID != "owner" {
		t.Fatalf("p1 → %q", e.RepID)
	}
	if e := b.handoff(t, "p2"); e.RepID != "" {
		t.Fatalf("p2 → %q, want unrouted: capacity 1 is used", e.RepID)
	}
	// Monday 10:00 UTC is 23:00 in Auckland: the rep's new day starts in
	// an hour, while it is still Monday in UTC.
	b.clock.Advance(61 * time.Minute)
	if e := b.handoff(t, "p3"); e.RepID != "owner" {
		t.Fatalf("p3 → %q, want owner on the rep's next day", e.RepID)
	}
}
