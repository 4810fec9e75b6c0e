package scoring

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/scoring/internal/store"
)

// TestModelMatchesEngine runs the same random stream through the engine
// (Apply, and ApplyBatch with several batches per call, a contact's
// included) and the Model, and compares after every batch what they
// return and keep: results, crossings, partner versions, the contact
// strings bit for bit (but for the write token), the partner hashes bit
// for bit, and the timelines the engine stored with the elements judge
// made.
func TestModelMatchesEngine(t *testing.T) {
	t.Parallel()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	cfg := Config{Threshold: 40, TimelineLength: 7, DailyCaps: map[event.Type]int{event.WebVisit: 3, event.EmailOpen: 2, event.EmailClick: 2}}
	b := setup(t, cfg)
	model, err := NewModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := newRandomStream(rng, event.Types())
	timelines := map[Target][]string{}
	crossings := 0
	for round := range 150 {
		s.clockNow = s.clockNow.Add(time.Duration(rng.Int63n(int64(12 * time.Hour))))
		b.clock.Set(s.clockNow)
		var batches []Batch
		for range 1 + rng.Intn(4) {
			tg, evs := s.batch()
			if rng.Intn(2) == 0 {
				// Fresh events for a known contact.
				for j := range evs {
					s.nextID++
					evs[j].ID = fmt.Sprintf("f%d", s.nextID)
				}
			}
			batches = append(batches, Batch{tg, evs})
		}
		var got []*Result
		if rng.Intn(2) == 0 {
			for _, bt := range batches {
				got = append(got, b.apply(t, bt.Target, bt.Events...))
			}
		} else {
			if got, err = b.eng.ApplyBatch(b.ctx, batches); err != nil {
				t.Fatal(err)
			}
		}
		for i, bt := range batches {
			tg := bt.Target
			what := fmt.Sprintf("round %d batch %d", round, i)
			want := model.Apply(tg, bt.Events, s.clockNow)
			compareResults(t, what, want, got[i])
			if want.Crossing != nil && want.Crossing.New {
				crossings++
			}
			if p := model.partners[tg.PartnerID]; p != nil && got[i].Version != int64(p.Head.Version) {
				t.Fatalf("%s: partner version %d, model %v", what, got[i].Version, p.Head.Version)
			}
			if el := model.v.timeline; el != nil {
				tl := append(timelines[tg], string(el))
				timelines[tg] = tl[max(0, len(tl)-cfg.TimelineLength):]
			}
		}
		for _, bt := range batches {
			compareWithModel(t, fmt.Sprintf("round %d", round), b, model, bt.Target, timelines[bt.Target])
		}
		if rng.Intn(10) == 0 {
			tg := batches[0].Target
			if _, err := b.eng.Rearm(b.ctx, tg.PartnerID); err != nil {
				t.Fatal(err)
			}
			model.Rearm(tg.PartnerID)
		}
	}
	if crossings == 0 {
		t.Error("no crossing in the stream: the threshold is never tested")
	}
	t.Logf("%d crossings", crossings)
}

// compareWithModel compares what the engine of b and model keep for tg.
func compareWithModel(t *testing.T, what string, b *bundle, model *Model, tg Target, timeline []string) {
	t.Helper()
	stored := b.rdb.Get(b.ctx, contactScoreKey(tg.PartnerID, tg.ContactID)).Val()
	if mine := model.contacts[[2]string{tg.PartnerID, tg.ContactID}].stored; withoutToken(mine) != withoutToken(stored) {
		t.Fatalf("%s: contact %s/%s:\nmodel  %q\nengine %q", what, tg.PartnerID, tg.ContactID, mine, stored)
	}
	tl := b.rdb.LRange(b.ctx, contactTimelineKey(tg.PartnerID, tg.ContactID), 0, -1).Val()
	if diff := cmp.Diff(timeline, tl, cmp.Comparer(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b) })); diff != "" {
		t.Fatalf("%s: timeline of %s (-judged, +stored):\n%s", what, tg.ContactID, diff)
	}
	if tg.NoRollup {
		return
	}
	p := model.partners[tg.PartnerID]
	want := map[string]string{"h": p.Head.Pack()}
	if p.Disarmed {
		want["dis"] = "1"
	}
	for f, v := range p.Fields {
		want[f] = store.PackFloats(v)
	}
	got := b.rdb.HGetAll(b.ctx, partnerScoreKey(tg.PartnerID)).Val()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("%s: partner %s (-model, +engine):\n%s", what, tg.PartnerID, diff)
	}
	if list := b.rdb.Get(b.ctx, partnerContactsKey(tg.PartnerID)).Val(); list != p.Contacts {
		t.Fatalf("%s: partner %s contacts %q, model %q", what, tg.PartnerID, list, p.Contacts)
	}
}
