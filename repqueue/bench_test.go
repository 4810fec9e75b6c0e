package repqueue

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/scoring"
)

// BenchmarkHandoff measures handoffs of scored partners from parallel
// workers, each a new partner whose owner is out of office (so routing
// reads the territory pool too), and reports throughput and the p99
// latency of one Handoff.
func BenchmarkHandoff(b *testing.B) {
	bb := setup(b, Config{Territories: []Territory{{Name: "all", Reps: []string{"r0", "r1", "r2", "r3", "r4"}}}})
	back := monday10.Add(24 * time.Hour)
	bb.rep(b, "owner", 10000, func(r *directory.Rep) { r.OutOfOfficeUntil = &back })
	for i := range 5 {
		bb.rep(b, fmt.Sprintf("r%d", i), 10000)
	}
	for i := range b.N {
		pid := fmt.Sprintf("p%d", i)
		bb.partner(b, directory.Partner{ID: pid, OwnerRepID: "owner"})
		evs := []event.Event{
			ev(pid+"-o", event.EmailOpen, monday10.Add(-time.Hour), "Deal registration in 3 clicks", ""),
			ev(pid+"-k", event.EmailClick, monday10.Add(-time.Hour), "Security", "security"),
			ev(pid+"-w", event.WebinarAttended, monday10.Add(-time.Hour), "Securing SMB storage", "storage"),
		}
		if _, err := bb.eng.Apply(bb.ctx, scoring.Target{PartnerID: pid, ContactID: "c" + pid}, evs); err != nil {
			b.Fatal(err)
		}
	}
	var (
		next atomic.Int64
		mu   sync.Mutex
		lats []time.Duration
	)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			pid := fmt.Sprintf("p%d", next.Add(1)-1)
			t0 := time.Now()
			e, created, err := bb.q.Handoff(bb.ctx, pid, 1, monday10)
			mine = append(mine, time.Since(t0))
			if err != nil || !created || e.RepID == "" {
				b.Errorf("handoff %s: created %v, %v", pid, created, err)
				return
			}
		}
		mu.Lock()
		lats = append(lats, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lats)
	if len(lats) > 0 {
		b.ReportMetric(float64(lats[len(lats)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(len(lats))/elapsed.Seconds(), "handoffs/s")
	}
}
