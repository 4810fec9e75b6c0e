package scoring

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/longtailhq/longtail/event"
)

// marker is a seen-marker record (see applyScript) with expiry exp.
func marker(kind byte, key string, exp uint32, payload string) string {
	return string(kind) + key + string(binary.LittleEndian.AppendUint32(nil, exp)) + payload
}

func explainRec(code, topic string, v ...float64) string {
	var x [explainLen]float64
	copy(x[:], v)
	key := append(binary.LittleEndian.AppendUint16([]byte{'x'}, uint16(len(topic))), code+topic...)
	return string(appendExplain(nil, key, x))
}

func TestCompactContact(t *testing.T) {
	t.Parallel()
	head := packFloats(1, 2, 3, 0, 1024, 0, 7)
	u32 := func(n uint32) string { return string(binary.LittleEndian.AppendUint32(nil, n)) }
	tests := []struct {
		name       string
		body, want string
	}{
		{"empty", "", ""},
		{"expired markers go, live ones stay in order",
			marker('i', "AAAAAAAA", 99, "") + marker('i', "BBBBBBBB", 101, "") + marker('o', "CCCCCCCC", 100, "") + marker('c', "DDDDDDDD", 500, ""),
			marker('i', "BBBBBBBB", 101, "") + marker('c', "DDDDDDDD", 500, "")},
		{"only the newest delivery and daily count",
			marker('k', "op\x01\x00\x00\x00", 200, u32(1)) + marker('d', "MMMMMMMM", 300, "\x00\x00\x00\x00\x00\x00\xf0\x3f") +
				marker('k', "op\x01\x00\x00\x00", 200, u32(2)) + marker('k', "cl\x01\x00\x00\x00", 200, u32(1)) +
				marker('d', "MMMMMMMM", 300, "\x00\x00\x00\x00\x00\x00\x00\x40"),
			marker('k', "op\x01\x00\x00\x00", 200, u32(2)) + marker('k', "cl\x01\x00\x00\x00", 200, u32(1)) +
				marker('d', "MMMMMMMM", 300, "\x00\x00\x00\x00\x00\x00\x00\x40")},
		{"explain records summed per key, first, in first-seen order",
			marker('i', "AAAAAAAA", 101, "") + explainRec("wv", "security", 1, 3, 0.5) + explainRec("op", "", 1, 1, 0.25) +
				explainRec("wv", "security", 2, 6, 1, 0, 0, 0, 1) + explainRec("wv", "storage", 1, 3, 0.125),
			explainRec("wv", "security", 3, 9, 1.5, 0, 0, 0, 1) + explainRec("op", "", 1, 1, 0.25) +
				explainRec("wv", "storage", 1, 3, 0.125) + marker('i', "AAAAAAAA", 101, "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := compactContact(head+tt.body, 100)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("compacted\n%q\nwant\n%q", got, tt.want)
			}
			// Compaction never changes what the contact reads as.
			before, err := contactFields(head + tt.body)
			if err != nil {
				t.Fatal(err)
			}
			after, err := contactFields(head + got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("fields changed (-before, +after):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{"z", marker('i', "AAAA", 1, ""), "x\x05\x00op", explainRec("op", "t", 1)[:10]} {
		if _, err := compactContact(head+bad, 0); err == nil {
			t.Errorf("compactContact(%q) succeeded", bad)
		}
	}
}

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
		live, err := compactContact(s, floorDiv(sinceEpoch(b.clock.Now()), 60000))
		if err != nil {
			t.Fatal(err)
		}
		if limit := contactHeaderLen + max(compactMinLen, 2*len(live)) + 2000; len(s) > limit {
			t.Fatalf("day %d: contact string of %d bytes, %d of them live", day, len(s), len(live))
		}
	}
	s := b.rdb.Get(b.ctx, contactScoreKey("p", "c")).Val()
	if gen := binNum(s, contactGeneration); gen < 5 {
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

// TestCompactScriptKeepsAppendsAndYields: a compaction computed from an
// older read keeps what was appended since, and one from before another
// compaction does nothing.
func TestCompactScriptKeepsAppendsAndYields(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	tg := Target{PartnerID: "p", ContactID: "c"}
	b.apply(t, tg, fillContactEvents(make([]event.Event, 5), "a", t0)...)
	read := b.rdb.Get(b.ctx, contactScoreKey("p", "c")).Val()
	b.apply(t, tg, fillContactEvents(make([]event.Event, 5), "b", t0)...)
	before, err := contactFields(b.rdb.Get(b.ctx, contactScoreKey("p", "c")).Val())
	if err != nil {
		t.Fatal(err)
	}
	run := func() int64 {
		t.Helper()
		sc, ok := b.eng.compactCall(tg, read, t0)
		if !ok {
			t.Fatal("no compaction call")
		}
		n, err := sc.Script.Run(b.ctx, b.rdb, sc.Keys, sc.Args...).Int64()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if run() != 1 {
		t.Fatal("compaction not applied")
	}
	s := b.rdb.Get(b.ctx, contactScoreKey("p", "c")).Val()
	after, err := contactFields(s)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before["h"][8:32], after["h"][8:32]); diff != "" {
		t.Errorf("header changed:\n%s", diff)
	}
	delete(before, "h")
	delete(after, "h")
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("fields changed (-before, +after):\n%s", diff)
	}
	if res := b.apply(t, tg, fillContactEvents(make([]event.Event, 5), "b", t0)...); !res.Events[0].Duplicate {
		t.Error("an event appended after the read was lost by compaction")
	}
	if binNum(s, contactGeneration) != 1 {
		t.Errorf("generation %v after one compaction", binNum(s, contactGeneration))
	}
	if run() != 0 {
		t.Error("a compaction from before the last one was applied")
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
