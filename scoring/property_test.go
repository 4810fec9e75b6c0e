package scoring

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/longtailhq/longtail/event"
)

// randomStream generates batches for random contacts of a few partners with
// out-of-order and back-dated timestamps, future timestamps, repeated
// message ids, machine flags, and earlier events re-sent as duplicates.
type randomStream struct {
	rng      *rand.Rand
	types    []event.Type
	sent     []event.Event
	sentTo   []Target
	targets  []Target
	nextID   int
	clockNow time.Time
}

func newRandomStream(rng *rand.Rand, types []event.Type) *randomStream {
	s := &randomStream{rng: rng, types: types, clockNow: t0}
	for p := range 3 {
		for c := range 3 {
			s.targets = append(s.targets, Target{
				PartnerID: fmt.Sprintf("p%d", p), ContactID: fmt.Sprintf("c%d-%d", p, c),
				Tier: []string{"", "gold"}[p%2],
			})
		}
	}
	return s
}

func (s *randomStream) batch() (Target, []event.Event) {
	r := s.rng
	tg := s.targets[r.Intn(len(s.targets))]
	n := 1 + r.Intn(8)
	out := make([]event.Event, 0, n)
	for range n {
		if len(s.sent) > 0 && r.Intn(4) == 0 {
			// Re-send an earlier event: a duplicate for its own contact
			// (while its id is remembered), a new fact for another.
			i := r.Intn(len(s.sent))
			for j := len(s.sent) - 1; j >= 0 && r.Intn(2) == 0; j-- {
				if s.sentTo[j] == tg {
					i = j
					break
				}
			}
			out = append(out, s.sent[i])
			continue
		}
		s.nextID++
		spread := 200 * Day
		if r.Intn(2) == 0 {
			spread = Day // bunched, so daily caps bite
		}
		e := event.Event{
			ID:         fmt.Sprintf("e%d", s.nextID),
			Type:       s.types[r.Intn(len(s.types))],
			OccurredAt: s.clockNow.Add(-time.Duration(r.Int63n(int64(spread)))).Add(time.Duration(r.Int63n(int64(Day)))),
			Topic:      []string{"", "security", "storage"}[r.Intn(3)],
			MessageID:  []string{"", "m1", "m2", "m3"}[r.Intn(4)],
		}
		e.OccurredAt = e.OccurredAt.Truncate(time.Millisecond)
		if r.Intn(8) == 0 {
			e.Machine = true
		}
		if e.Type == event.EmailClick && r.Intn(3) == 0 {
			d := e.OccurredAt.Add(-time.Duration(r.Intn(20)) * time.Second)
			e.DeliveredAt = &d
		}
		if e.Type == event.EmailBounce {
			e.Bounce = []string{event.BounceHard, event.BounceSoft}[r.Intn(2)]
		}
		if e.Type == event.Purchase || e.Type == event.DealRegistered {
			e.Value = float64(r.Intn(5000))
		}
		if r.Intn(3) == 0 && len(out) > 0 {
			e.MessageID = out[len(out)-1].MessageID
		}
		out = append(out, e)
	}
	for _, e := range out {
		s.sent = append(s.sent, e)
		s.sentTo = append(s.sentTo, tg)
	}
	return tg, out
}

func TestPropertyDecayMatchesBruteForce(t *testing.T) {
	t.Parallel()
	positive := []event.Type{
		event.EmailOpen, event.EmailClick, event.WebVisit, event.WebinarAttended,
		event.ContentDownload, event.EmailDelivered, event.DealRegistered,
	}
	tests := []struct {
		name  string
		types []event.Type
	}{
		{"positive points", positive},
		{"all types", event.Types()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seed := time.Now().UnixNano()
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewSource(seed))
			cfg := Config{Threshold: 40, TierThresholds: map[string]float64{"gold": 60},
				DailyCaps: map[event.Type]int{event.WebVisit: 2, event.EmailOpen: 2, event.EmailClick: 2}}
			b := setup(t, cfg)
			model, err := NewModel(cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := newRandomStream(rng, tt.types)
			seen := map[string]int{}
			for i := range 200 {
				step := 2 * time.Hour
				if rng.Intn(4) == 0 {
					step = 3 * Day
				}
				s.clockNow = s.clockNow.Add(time.Duration(rng.Int63n(int64(step))))
				b.clock.Set(s.clockNow)
				tg, evs := s.batch()
				got := b.apply(t, tg, evs...)
				want := model.Apply(tg, evs, s.clockNow)
				compareResults(t, fmt.Sprintf("batch %d", i), want, got)
				for _, r := range got.Events {
					seen["filtered:"+r.Filtered]++
				}
				if got.Crossing != nil && got.Crossing.New {
					seen["crossings"]++
				}
				checkNear(t, fmt.Sprintf("batch %d contact", i), want.ContactScore, got.ContactScore,
					absSum(model.contacts[[2]string{tg.PartnerID, tg.ContactID}].credits, s.clockNow))
				checkNear(t, fmt.Sprintf("batch %d partner", i), want.PartnerScore, got.PartnerScore,
					absSum(model.partners[tg.PartnerID].credits, s.clockNow))
				if got.Crossing != nil && rng.Intn(2) == 0 {
					ok, err := b.eng.AckCrossing(b.ctx, tg.PartnerID, got.Crossing.Seq)
					if err != nil || !ok || !model.AckCrossing(tg.PartnerID, got.Crossing.Seq) {
						t.Fatalf("batch %d: ack failed: %v", i, err)
					}
				}
				if rng.Intn(20) == 0 {
					b.eng.Rearm(b.ctx, tg.PartnerID)
					model.Rearm(tg.PartnerID)
				}
				// Re-sending the whole batch changes nothing.
				if rng.Intn(4) == 0 {
					again := b.apply(t, tg, evs...)
					for _, r := range again.Events {
						if !r.Duplicate || r.Points != 0 {
							t.Fatalf("batch %d re-sent: %+v not a duplicate", i, r)
						}
					}
					if again.ContactScore != got.ContactScore || again.PartnerScore != got.PartnerScore {
						t.Fatalf("batch %d re-sent: scores moved from %v/%v to %v/%v", i,
							got.ContactScore, got.PartnerScore, again.ContactScore, again.PartnerScore)
					}
				}
			}
			t.Logf("outcomes: %v", seen)
			// Read at several "now" values.
			for _, later := range []time.Duration{0, time.Hour, 17 * Day, 400 * Day} {
				now := s.clockNow.Add(later)
				b.clock.Set(now)
				for _, tg := range s.targets {
					c, err := b.eng.Contact(b.ctx, tg.PartnerID, tg.ContactID)
					if err != nil {
						t.Fatal(err)
					}
					checkNear(t, "contact "+tg.ContactID, model.ContactScore(tg.PartnerID, tg.ContactID, now), c.Score,
						absSum(model.contacts[[2]string{tg.PartnerID, tg.ContactID}].creditsOrNil(), now))
					_, scale := topicSums(model.contacts[[2]string{tg.PartnerID, tg.ContactID}].creditsOrNil(), now)
					for topic, w := range model.ContactInterests(tg.PartnerID, tg.ContactID, now) {
						checkNear(t, "interest "+topic, w, c.Interests[topic], scale[topic])
					}
					if c.Suppressed != model.Suppressed(tg.PartnerID, tg.ContactID) {
						t.Errorf("contact %s suppressed %q, want %q", tg.ContactID, c.Suppressed, model.Suppressed(tg.PartnerID, tg.ContactID))
					}
				}
				for pid, mp := range model.partners {
					p, err := b.eng.Partner(b.ctx, pid)
					if err != nil {
						t.Fatal(err)
					}
					checkNear(t, "partner "+pid, model.PartnerScore(pid, now), p.Score, absSum(mp.credits, now))
					topics, scale := topicSums(mp.credits, now)
					if len(topics) != len(p.Interests) {
						t.Errorf("partner %s interests %v, want %v", pid, p.Interests, topics)
					}
					for topic, w := range topics {
						checkNear(t, "partner interest "+topic, w, p.Interests[topic], scale[topic])
					}
				}
			}
		})
	}
}

func (c *modelContact) creditsOrNil() []credit {
	if c == nil {
		return nil
	}
	return c.credits
}

// topicSums brute-forces decayed points per topic and the sums of their
// magnitudes.
func topicSums(cs []credit, now time.Time) (sum, abs map[string]float64) {
	sum, abs = map[string]float64{}, map[string]float64{}
	for _, c := range cs {
		if c.topic != "" {
			d := Decayed(c.points, c.at, now, 30*Day)
			sum[c.topic] += d
			abs[c.topic] += math.Abs(d)
		}
	}
	return sum, abs
}

func absSum(cs []credit, now time.Time) float64 {
	var s float64
	for _, c := range cs {
		s += math.Abs(Decayed(c.points, c.at, now, 30*Day))
	}
	return s
}

// checkNear compares within 1e-9 of scale: the score itself when all points
// are positive; with negative points, the sum of the terms' magnitudes, the
// best any summation order can promise.
func checkNear(t *testing.T, what string, want, got, scale float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*math.Max(scale, math.Abs(want)) && !(want == 0 && got == 0) {
		t.Errorf("%s: got %.17g, want %.17g (rel err %.3g)", what, got, want, math.Abs(got-want)/math.Abs(want))
	}
}

func compareResults(t *testing.T, what string, want, got *Result) {
	t.Helper()
	if diff := cmp.Diff(want.Events, got.Events); diff != "" {
		t.Fatalf("%s: events (-model, +engine):\n%s", what, diff)
	}
	if (want.Crossing == nil) != (got.Crossing == nil) {
		t.Fatalf("%s: crossing model %+v engine %+v (partner score %v)", what, want.Crossing, got.Crossing, got.PartnerScore)
	}
	if want.Crossing != nil && (want.Crossing.Seq != got.Crossing.Seq || want.Crossing.New != got.Crossing.New ||
		!want.Crossing.CrossedAt.Equal(got.Crossing.CrossedAt)) {
		t.Fatalf("%s: crossing model %+v engine %+v", what, want.Crossing, got.Crossing)
	}
}

func TestApplyBatchMatchesModel(t *testing.T) {
	t.Parallel()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	cfg := Config{Threshold: 25}
	b := setupPrivate(t, cfg)
	model, err := NewModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := newRandomStream(rng, event.Types())
	for round := range 30 {
		s.clockNow = s.clockNow.Add(time.Duration(rng.Int63n(int64(Day))))
		b.clock.Set(s.clockNow)
		if round == 10 {
			// A server that lost its scripts: ApplyBatch loads them again.
			if err := b.rdb.ScriptFlush(b.ctx).Err(); err != nil {
				t.Fatal(err)
			}
		}
		var batches []Batch
		for range 1 + rng.Intn(6) {
			tg, evs := s.batch()
			batches = append(batches, Batch{Target: tg, Events: evs})
		}
		got, err := b.eng.ApplyBatch(b.ctx, batches)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i, bt := range batches {
			want := model.Apply(bt.Target, bt.Events, s.clockNow)
			compareResults(t, fmt.Sprintf("round %d batch %d", round, i), want, got[i])
			checkNear(t, "contact", want.ContactScore, got[i].ContactScore,
				absSum(model.contacts[[2]string{bt.Target.PartnerID, bt.Target.ContactID}].credits, s.clockNow))
		}
	}
	lb, err := b.eng.Leaderboard(b.ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range lb {
		checkNear(t, "leaderboard "+e.PartnerID, model.PartnerScore(e.PartnerID, s.clockNow), e.Score,
			absSum(model.partners[e.PartnerID].credits, s.clockNow))
	}
	if len(lb) != len(model.partners) {
		t.Errorf("leaderboard has %d partners, model %d", len(lb), len(model.partners))
	}
}
