package scoring

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/longtailhq/longtail/event"
)

// TestFastPathMatchesSlowPath runs the same random stream through an
// engine with the script's fast path and one judging every event in the
// script, and compares what they return and store after every batch:
// results, scores (bit for bit), explain sums, the seen markers' live
// values, partner hashes and timelines. Both paths must run.
func TestFastPathMatchesSlowPath(t *testing.T) {
	t.Parallel()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	cfg := Config{Threshold: 40, DailyCaps: map[event.Type]int{event.WebVisit: 3, event.EmailOpen: 2, event.EmailClick: 2}}
	fast, slow := setup(t, cfg), setup(t, cfg)
	slow.eng.slowOnly = true
	s := newRandomStream(rng, event.Types())
	paths := map[bool]int{}
	for i := range 300 {
		s.clockNow = s.clockNow.Add(time.Duration(rng.Int63n(int64(6 * time.Hour))))
		fast.clock.Set(s.clockNow)
		slow.clock.Set(s.clockNow)
		tg, evs := s.batch()
		if rng.Intn(2) == 0 {
			// Fresh events for a known contact: the fast path's case.
			for j := range evs {
				s.nextID++
				evs[j].ID = fmt.Sprintf("f%d", s.nextID)
				evs[j].MessageID = ""
			}
		}
		var got, want *Result
		if rng.Intn(2) == 0 {
			got, want = fast.apply(t, tg, evs...), slow.apply(t, tg, evs...)
		} else {
			g, err := fast.eng.ApplyBatch(fast.ctx, []Batch{{tg, evs}})
			if err != nil {
				t.Fatal(err)
			}
			w, err := slow.eng.ApplyBatch(slow.ctx, []Batch{{tg, evs}})
			if err != nil {
				t.Fatal(err)
			}
			got, want = g[0], w[0]
		}
		if !want.slow {
			t.Fatalf("batch %d: the slow-only engine took the fast path", i)
		}
		paths[got.slow]++
		what := fmt.Sprintf("batch %d (slow path: %v)", i, got.slow)
		if diff := cmp.Diff(want.Events, got.Events); diff != "" {
			t.Fatalf("%s: events (-slow, +fast):\n%s", what, diff)
		}
		if got.ContactScore != want.ContactScore || got.PartnerScore != want.PartnerScore || got.Version != want.Version ||
			(got.Crossing == nil) != (want.Crossing == nil) || (got.Crossing != nil && *got.Crossing != *want.Crossing) {
			t.Fatalf("%s: fast %+v, slow %+v", what, got, want)
		}
		compareStored(t, what, fast, slow, tg, s.clockNow)
	}
	if paths[false] == 0 || paths[true] == 0 {
		t.Fatalf("paths taken %v: both must run", paths)
	}
	t.Logf("slow path taken: %v", paths)
}

// compareStored compares what two engines keep for tg.
func compareStored(t *testing.T, what string, a, b *bundle, tg Target, now time.Time) {
	t.Helper()
	ca, cb := a.rdb.Get(a.ctx, contactScoreKey(tg.PartnerID, tg.ContactID)).Val(), b.rdb.Get(b.ctx, contactScoreKey(tg.PartnerID, tg.ContactID)).Val()
	fa, err := contactFields(ca)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	fb, err := contactFields(cb)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	// The header's N, fit and suppression; compaction state may differ.
	ha, hb := fa["h"], fb["h"]
	fa["h"], fb["h"] = ha[8:32], hb[8:32]
	if diff := cmp.Diff(fb, fa); diff != "" {
		t.Fatalf("%s: contact fields (-slow, +fast):\n%s", what, diff)
	}
	nowM := floorDiv(sinceEpoch(now), 60000)
	if diff := cmp.Diff(liveMarkers(t, cb, nowM), liveMarkers(t, ca, nowM)); diff != "" {
		t.Fatalf("%s: live markers (-slow, +fast):\n%s", what, diff)
	}
	pa, pb := a.rdb.HGetAll(a.ctx, partnerScoreKey(tg.PartnerID)).Val(), b.rdb.HGetAll(b.ctx, partnerScoreKey(tg.PartnerID)).Val()
	if diff := cmp.Diff(pb, pa); diff != "" {
		t.Fatalf("%s: partner hash (-slow, +fast):\n%s", what, diff)
	}
	la, lb := a.rdb.LRange(a.ctx, contactTimelineKey(tg.PartnerID, tg.ContactID), 0, -1).Val(), b.rdb.LRange(b.ctx, contactTimelineKey(tg.PartnerID, tg.ContactID), 0, -1).Val()
	if diff := cmp.Diff(lb, la); diff != "" {
		t.Fatalf("%s: timeline (-slow, +fast):\n%s", what, diff)
	}
}

// liveMarkers is what a stored contact's seen markers say at nowM: per
// key, the payload of its newest unexpired record.
func liveMarkers(t *testing.T, s string, nowM int64) map[string]string {
	t.Helper()
	out := map[string]string{}
	if s == "" {
		return out
	}
	err := walkRecords(s[contactHeaderLen:], func(kind byte, key, rec string) {
		if kind == 'x' {
			return
		}
		if int64(binary.LittleEndian.Uint32([]byte(rec[len(key):]))) > nowM {
			out[key] = rec[len(key)+4:]
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
