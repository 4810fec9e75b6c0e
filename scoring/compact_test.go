package scoring

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/scoring/internal/store"
)

// TestCompactionBoundsContact feeds one contact batches for 60 days: its
// string stays within twice what it holds live (plus the minimum limit),
// compactions happen, and the contact reads the same as an engine's that
// never compacted would, since every read sums in stored order.
func TestCompactionBoundsContact(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	tg := Target{PartnerID: "p", ContactID: "c"}
	var maxLen int
	for day := range 60 {
		for k := range 3 {
			b.clock.Set(t0.Add(time.Duration(day)*Day + time.Duration(k)*time.Hour))
			b.apply(t, tg, fillContactEvents(make([]event.Event, 5), fmt.Sprintf("c.%d.%d", day, k), b.clock.Now())...)
		}
		s := b.rdb.Get(b.ctx, contactScoreKey("p", "c")).Val()
		maxLen = max(maxLen, len(s))
		live, err := store.Compact(s[store.HeaderLen:], floorDiv(sinceEpoch(b.clock.Now()), 60000))
		if err != nil {
			t.Fatal(err)
		}
		if limit := store.HeaderLen + max(store.MinLimit, 2*len(live)) + 2000; len(s) > limit {
			t.Fatalf("day %d: contact string of %d bytes, %d of them live", day, len(s), len(live))
		}
	}
	s := b.rdb.Get(b.ctx, contactScoreKey("p", "c")).Val()
	if gen := binNum(s, slotCompactions); gen < 5 {
		t.Errorf("%v compactions in 60 days", gen)
	}
	ex, err := b.eng.Explain(b.ctx, "p", []string{"c"})
	if err != nil {
		t.Fatal(err)
	}
	var count int
	for _, it := range ex.Contacts[0].Items {
		count += it.Count
	}
	if count != 60*3*4 { // open, click, visit and webinar score; the delivery does not
		t.Errorf("explain counts %d scored events, want %d", count, 60*3*4)
	}
	t.Logf("longest contact string %d bytes", maxLen)
}

// TestStaleCompactionWritesNothing: a compaction is a commit like any
// other: judged against an older read, it writes nothing, and judged again
// against the contact as it now is, it keeps what was appended since.
func TestStaleCompactionWritesNothing(t *testing.T) {
	t.Parallel()
	// Ids are remembered past the compaction time (pruneInterval), so the
	// events appended since the read are still duplicates at compaction.
	b := setup(t, Config{DedupRetention: 10 * Day})
	tg := Target{PartnerID: "p", ContactID: "c"}
	b.apply(t, tg, fillContactEvents(make([]event.Event, 5), "a", t0)...)
	read := b.rdb.Get(b.ctx, contactScoreKey("p", "c")).Val()
	b.apply(t, tg, fillContactEvents(make([]event.Event, 5), "b", t0)...) // another writer
	before := b.rdb.Get(b.ctx, contactScoreKey("p", "c")).Val()
	later := t0.Add(time.Duration(pruneInterval(b.eng.cfg)) * time.Minute) // compaction due
	b.clock.Set(later)
	evs := fillContactEvents(make([]event.Event, 5), "c", later)
	c := commitFrom(t, b, tg, evs, read, later)
	if !c.Write.Replace {
		t.Fatal("the commit does not compact")
	}
	if a := runCommit(t, b, c); !a.Stale {
		t.Fatal("a compaction judged against a stale read was applied")
	}
	if after := b.rdb.Get(b.ctx, contactScoreKey("p", "c")).Val(); after != before {
		t.Fatal("a stale compaction wrote the contact")
	}
	if res := b.apply(t, tg, evs...); res.Events[1].Duplicate {
		t.Fatalf("judged again: %+v", res.Events)
	}
	s := b.rdb.Get(b.ctx, contactScoreKey("p", "c")).Val()
	if gen := binNum(s, slotCompactions); gen != 1 {
		t.Errorf("%v compactions, want 1", gen)
	}
	if res := b.apply(t, tg, fillContactEvents(make([]event.Event, 5), "b", t0)...); !res.Events[0].Duplicate {
		t.Error("an event appended after the read was lost by compaction")
	}
	if got := b.eng.Stats(); got.Retries != 0 {
		t.Errorf("stats %+v: no batch of this test went again", got)
	}
}

// TestMalformedContactStillScores: a stored contact that does not parse
// (here, a stray byte) is not compacted, scoring goes on, and reading it
// says what is wrong.
func TestMalformedContactStillScores(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	tg := Target{PartnerID: "p", ContactID: "c"}
	b.apply(t, tg, ev("a", event.WebVisit, t0))
	if err := b.rdb.Append(b.ctx, contactScoreKey("p", "c"), "z").Err(); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(40 * Day) // compaction due
	for _, id := range []string{"b", "c"} {
		if _, err := b.eng.ApplyBatch(b.ctx, []Batch{{tg, []event.Event{ev(id, event.WebVisit, b.clock.Now())}}}); err != nil {
			t.Fatalf("ApplyBatch: %v", err)
		}
	}
	if _, err := b.eng.Contact(b.ctx, "p", "c"); err == nil || !strings.Contains(err.Error(), "unknown record") {
		t.Errorf("Contact: %v, want the malformed record named", err)
	}
}
