package scoring

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/longtailhq/longtail/event"
)

func TestCrossingOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{Threshold: 30})
	const workers, perWorker, partners = 8, 5, 5 // 5 downloads: the daily cap
	var (
		mu      sync.Mutex
		handoff = map[string]int{} // HandoffID → times enqueued
		fresh   = map[string]int{} // partner → crossings marked New
	)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				for p := range partners {
					// Each worker scores its own contact; together they
					// cross 30 around the middle of the run.
					tg := Target{PartnerID: fmt.Sprintf("p%d", p), ContactID: fmt.Sprintf("c%d", w)}
					res, err := b.eng.Apply(b.ctx, tg, []event.Event{ev(fmt.Sprintf("w%d-%d", w, i), event.ContentDownload, t0)})
					if err != nil {
						t.Error(err)
						return
					}
					if c := res.Crossing; c != nil {
						mu.Lock()
						handoff[c.HandoffID()]++
						if c.New {
							fresh[c.PartnerID]++
						}
						mu.Unlock()
						if _, err := b.eng.AckCrossing(b.ctx, c.PartnerID, c.Seq); err != nil {
							t.Error(err)
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(handoff) != partners {
		t.Fatalf("handoff ids %v, want exactly one per partner (%d)", handoff, partners)
	}
	for p := range partners {
		pid := fmt.Sprintf("p%d", p)
		if fresh[pid] != 1 {
			t.Errorf("partner %s crossed %d times, want 1", pid, fresh[pid])
		}
		ps, _ := b.eng.Partner(b.ctx, pid)
		if !near(ps.Score, workers*perWorker*5, 1e-12) || ps.ThresholdCrossedAt == nil || ps.Armed {
			t.Errorf("partner %s = %+v, want score %d, crossed, disarmed", pid, ps, workers*perWorker*5)
		}
	}
}

func TestPendingCrossingUntilAcked(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	tg := Target{PartnerID: "p", ContactID: "c"}
	if res := b.apply(t, tg, ev("a", event.WebinarAttended, t0), ev("b", event.EventAttended, t0)); res.Crossing != nil {
		t.Fatalf("crossed at 20 with threshold 30: %+v", res.Crossing)
	}
	res := b.apply(t, tg, ev("c", event.WebinarAttended, t0))
	c := res.Crossing
	if c == nil || !c.New || c.Seq != 1 || !c.CrossedAt.Equal(t0) || c.Threshold != 30 || c.HandoffID() != "handoff:p:1" {
		t.Fatalf("crossing = %+v, want new seq 1 at t0", c)
	}
	// A worker that crashed before enqueuing gets the crossing again, even
	// on a retry that only carries duplicates.
	b.clock.Advance(time.Minute)
	for _, evs := range [][]event.Event{{ev("c", event.WebinarAttended, t0)}, {ev("d", event.EmailOpen, t0)}} {
		res = b.apply(t, tg, evs...)
		if res.Crossing == nil || res.Crossing.New || res.Crossing.Seq != 1 || !res.Crossing.CrossedAt.Equal(t0) {
			t.Fatalf("pending crossing = %+v, want seq 1 again, not new", res.Crossing)
		}
	}
	if ok, _ := b.eng.AckCrossing(b.ctx, "p", 2); ok {
		t.Fatal("acked a seq that is not pending")
	}
	if ok, err := b.eng.AckCrossing(b.ctx, "p", 1); !ok || err != nil {
		t.Fatalf("AckCrossing = %v, %v", ok, err)
	}
	if res = b.apply(t, tg, ev("e", event.WebinarAttended, t0)); res.Crossing != nil {
		t.Fatalf("crossing after ack and while disarmed: %+v", res.Crossing)
	}
	ps, _ := b.eng.Partner(b.ctx, "p")
	if ps.ThresholdCrossedAt == nil || !ps.ThresholdCrossedAt.Equal(t0) {
		t.Fatalf("threshold_crossed_at = %v, want %v", ps.ThresholdCrossedAt, t0)
	}
}

func TestRearm(t *testing.T) {
	t.Parallel()
	cross := func(t *testing.T, b *bundle, tg Target, id string) *Crossing {
		t.Helper()
		res := b.apply(t, tg, ev(id+"a", event.WebinarAttended, b.clock.Now()),
			ev(id+"b", event.EventAttended, b.clock.Now()), ev(id+"c", event.DealRegistered, b.clock.Now()))
		if res.Crossing != nil && res.Crossing.New {
			if _, err := b.eng.AckCrossing(b.ctx, tg.PartnerID, res.Crossing.Seq); err != nil {
				t.Fatal(err)
			}
			return res.Crossing
		}
		return nil
	}
	t.Run("by a rep", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Config{})
		tg := Target{PartnerID: "p", ContactID: "c"}
		if cross(t, b, tg, "1") == nil {
			t.Fatal("no first crossing")
		}
		if cross(t, b, tg, "2") != nil {
			t.Fatal("crossed again while disarmed")
		}
		if ok, err := b.eng.Rearm(b.ctx, "p"); !ok || err != nil {
			t.Fatalf("Rearm = %v, %v", ok, err)
		}
		if c := cross(t, b, tg, "3"); c == nil || c.Seq != 2 {
			t.Fatalf("crossing after rearm = %+v, want seq 2", c)
		}
	})
	t.Run("by decay at apply", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Config{})
		tg := Target{PartnerID: "p", ContactID: "c"}
		cross(t, b, tg, "1")      // 35 points
		b.clock.Advance(30 * Day) // 17.5: above half the threshold
		if cross(t, b, tg, "2") != nil {
			t.Fatal("re-armed above the re-arm fraction")
		}
		b.clock.Advance(60 * Day) // (17.5+35)/4 = 13.1 < 15
		if c := cross(t, b, tg, "3"); c == nil || c.Seq != 2 {
			t.Fatalf("crossing after decay below the fraction = %+v, want seq 2", c)
		}
	})
	t.Run("by sweep", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Config{RearmFraction: 0.25})
		tg := Target{PartnerID: "p", ContactID: "c"}
		cross(t, b, tg, "1")
		b.clock.Advance(45 * Day) // 35/2^1.5 = 12.4 > 7.5
		if n, err := b.eng.Sweep(b.ctx, []string{"p", "unknown"}); n != 0 || err != nil {
			t.Fatalf("Sweep = %d, %v, want nothing re-armed", n, err)
		}
		b.clock.Advance(30 * Day) // 6.2 < 7.5
		if n, err := b.eng.Sweep(b.ctx, []string{"p", "unknown"}); n != 1 || err != nil {
			t.Fatalf("Sweep = %d, %v, want 1 re-armed", n, err)
		}
		if ps, _ := b.eng.Partner(b.ctx, "p"); !ps.Armed {
			t.Fatal("partner still disarmed after sweep")
		}
	})
}

func TestTierThreshold(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{TierThresholds: map[string]float64{"gold": 60, "registered": 8}})
	tests := []struct {
		tier  string
		cross bool
	}{{"registered", true}, {"", false}, {"silver", false}, {"gold", false}}
	for _, tt := range tests {
		tg := Target{PartnerID: "p-" + tt.tier, ContactID: "c", Tier: tt.tier}
		res := b.apply(t, tg, ev("a", event.WebinarAttended, t0))
		if (res.Crossing != nil) != tt.cross {
			t.Errorf("tier %q at 10 points: crossing %+v, want %v", tt.tier, res.Crossing, tt.cross)
		}
	}
	res := b.apply(t, Target{PartnerID: "p-gold", ContactID: "c", Tier: "gold"},
		ev("b", event.DealRegistered, t0), ev("c", event.DealRegistered, t0), ev("d", event.DealRegistered, t0),
		ev("e", event.DealRegistered, t0))
	if res.Crossing == nil || res.Crossing.Threshold != 60 {
		t.Errorf("gold at 70 points: crossing %+v, want at threshold 60", res.Crossing)
	}
}
