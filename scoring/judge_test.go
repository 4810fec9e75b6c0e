package scoring

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/longtailhq/longtail/event"
)

// TestJudgedAgainstWhatIsStored: Go judges a returning contact's batch
// against the contact as read, so the script's fast path takes new events
// of a contact already scored that day, and the slow path only what is
// stored changes: a repeated event, a daily cap reached.
func TestJudgedAgainstWhatIsStored(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{DailyCaps: map[event.Type]int{event.WebVisit: 2}})
	tg := Target{PartnerID: "p", ContactID: "c"}
	visit := func(id string) event.Event { return ev(id, event.WebVisit, t0) }
	tests := []struct {
		name string
		evs  []event.Event
		slow bool
		want []EventResult
	}{
		{"first", []event.Event{visit("v1")}, false, []EventResult{{ID: "v1", Points: 3}}},
		{"same day, under the cap", []event.Event{visit("v2")}, false, []EventResult{{ID: "v2", Points: 3}}},
		{"a repeat", []event.Event{visit("v2")}, true, []EventResult{{ID: "v2", Duplicate: true, Filtered: FilteredDuplicate}}},
		{"over the cap", []event.Event{visit("v3")}, true, []EventResult{{ID: "v3", Filtered: FilteredDailyCap}}},
		{"the next day", []event.Event{ev("v4", event.WebVisit, t0.Add(Day))}, false, []EventResult{{ID: "v4", Points: 3}}},
	}
	for _, tt := range tests {
		if tt.name == "the next day" {
			b.clock.Set(t0.Add(Day))
		}
		got := b.apply(t, tg, tt.evs...)
		if got.slow != tt.slow {
			t.Errorf("%s: slow path %v, want %v", tt.name, got.slow, tt.slow)
		}
		if diff := cmp.Diff(tt.want, got.Events); diff != "" {
			t.Errorf("%s: events (-want, +got):\n%s", tt.name, diff)
		}
	}
}

// TestContactWrittenSinceReadGoesAgain: a judgement made against a
// contact another write has changed since is not applied (the script says
// so and writes nothing), and applyAll sends the batch again whole, for
// the script to judge.
func TestContactWrittenSinceReadGoesAgain(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	tg := Target{PartnerID: "p", ContactID: "c"}
	b.apply(t, tg, ev("a", event.WebVisit, t0))
	read, err := b.eng.readContacts(b.ctx, []Target{tg})
	if err != nil {
		t.Fatal(err)
	}
	b.apply(t, tg, ev("b", event.WebVisit, t0)) // the other writer
	before := b.rdb.Get(b.ctx, contactScoreKey("p", "c")).Val()
	evs := []event.Event{ev("b", event.WebVisit, t0), ev("c", event.WebVisit, t0)}
	stale := func() *applyCall {
		t.Helper()
		call, err := b.eng.applyArgs(tg, evs, t0, false, read[0])
		if err != nil {
			t.Fatal(err)
		}
		return call
	}
	call := stale()
	raws, err := b.eng.runApply(b.ctx, []*applyCall{call})
	if err != nil {
		t.Fatal(err)
	}
	out, err := b.eng.parseApply(tg, call, raws[0].Val().(string), t0)
	if err != nil {
		t.Fatal(err)
	}
	if !out.again {
		t.Fatal("a judgement against a stale read was applied")
	}
	if after := b.rdb.Get(b.ctx, contactScoreKey("p", "c")).Val(); after != before {
		t.Fatal("the script wrote the contact before asking again")
	}
	// applyAll sends it again, whole, and the script judges it.
	outs, err := b.eng.applyAll(b.ctx, []Batch{{tg, evs}}, []*applyCall{stale()}, read, t0)
	if err != nil {
		t.Fatal(err)
	}
	if outs[0].again || outs[0].res == nil {
		t.Fatalf("applyAll returned %+v, want the batch applied", outs[0])
	}
	want := []EventResult{{ID: "b", Duplicate: true, Filtered: FilteredDuplicate}, {ID: "c", Points: 3}}
	if diff := cmp.Diff(want, outs[0].res.Events); diff != "" {
		t.Errorf("sent whole (-want, +got):\n%s", diff)
	}
	if !outs[0].res.slow {
		t.Error("sent again, the batch was not judged by the script")
	}
}

// TestEnginesSharingContacts: engines (processes) that take turns on the
// same contacts, repeats included, judge every batch as one engine alone
// does, and the contacts read the same.
func TestEnginesSharingContacts(t *testing.T) {
	t.Parallel()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	shared, alone := setup(t, Config{}), setup(t, Config{})
	other, err := NewEngine(shared.rdb, Config{}, shared.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	engines := []*Engine{shared.eng, other}
	type batch struct {
		tg  Target
		evs []event.Event
	}
	var sent []batch
	now := t0
	for i := range 200 {
		now = now.Add(time.Duration(rng.Int63n(int64(12 * time.Hour))))
		shared.clock.Set(now)
		alone.clock.Set(now)
		tg := Target{PartnerID: "p" + strconv.Itoa(rng.Intn(2)), ContactID: "c" + strconv.Itoa(rng.Intn(3))}
		evs := fillContactEvents(make([]event.Event, 5), fmt.Sprintf("%s.%d", tg.ContactID, i), now)
		if len(sent) > 0 && rng.Intn(3) == 0 {
			// A provider's retry: the same events again, for the same contact.
			old := sent[rng.Intn(len(sent))]
			tg, evs = old.tg, old.evs
		}
		sent = append(sent, batch{tg, evs})
		eng := engines[rng.Intn(2)]
		got, err := eng.Apply(shared.ctx, tg, evs)
		if err != nil {
			t.Fatal(err)
		}
		want := alone.apply(t, tg, evs...)
		if diff := cmp.Diff(want.Events, got.Events); diff != "" {
			t.Fatalf("batch %d: events (-one engine, +two):\n%s", i, diff)
		}
		if got.ContactScore != want.ContactScore || got.PartnerScore != want.PartnerScore {
			t.Fatalf("batch %d: scores %v, %v; one engine %v, %v", i, got.ContactScore, got.PartnerScore, want.ContactScore, want.PartnerScore)
		}
	}
	for c := range 3 {
		for p := range 2 {
			pid, cid := "p"+strconv.Itoa(p), "c"+strconv.Itoa(c)
			sa, sb := shared.rdb.Get(shared.ctx, contactScoreKey(pid, cid)).Val(), alone.rdb.Get(alone.ctx, contactScoreKey(pid, cid)).Val()
			a, err := contactFields(sa)
			if err != nil {
				t.Fatal(err)
			}
			b, err := contactFields(sb)
			if err != nil {
				t.Fatal(err)
			}
			// The score, fit and suppression must match; compaction
			// state and version need not.
			if len(a) > 0 && len(b) > 0 {
				if a["h"][8:32] != b["h"][8:32] {
					t.Errorf("contact %s/%s: header fields differ", pid, cid)
				}
				delete(a, "h")
				delete(b, "h")
			}
			if diff := cmp.Diff(b, a); diff != "" {
				t.Errorf("contact %s/%s (-one engine, +two):\n%s", pid, cid, diff)
			}
		}
	}
}

// TestShortContactRefused: a contact string shorter than its header (not
// one this engine wrote) fails the batch with an error that says so, and
// nothing is written.
func TestShortContactRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	tg := Target{PartnerID: "p", ContactID: "c"}
	if err := b.rdb.Set(b.ctx, contactScoreKey("p", "c"), "0123456789", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, batch := range []bool{false, true} {
		var err error
		if batch {
			_, err = b.eng.ApplyBatch(b.ctx, []Batch{{tg, []event.Event{ev("v", event.WebVisit, t0)}}})
		} else {
			_, err = b.eng.Apply(b.ctx, tg, []event.Event{ev("v", event.WebVisit, t0)})
		}
		if err == nil || !strings.Contains(err.Error(), "shorter than its header") {
			t.Errorf("batch %v: error %v, want the short contact named", batch, err)
		}
	}
	n, err := b.rdb.Exists(b.ctx, contactTimelineKey("p", "c"), partnerScoreKey("p"), partnerContactsKey("p")).Result()
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 || b.rdb.Get(b.ctx, contactScoreKey("p", "c")).Val() != "0123456789" {
		t.Error("a refused batch wrote something")
	}
}
