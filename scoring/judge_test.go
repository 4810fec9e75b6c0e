package scoring

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/scriptrun"
	"github.com/longtailhq/longtail/scoring/internal/store"
)

// TestJudgedAgainstWhatIsStored: Go judges a returning contact's batch
// against the contact as read: new events of a contact already scored
// that day score, a repeated event is a duplicate, and a cap reached in an
// earlier batch holds; each batch is judged once.
func TestJudgedAgainstWhatIsStored(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{DailyCaps: map[event.Type]int{event.WebVisit: 2}})
	tg := Target{PartnerID: "p", ContactID: "c"}
	visit := func(id string) event.Event { return ev(id, event.WebVisit, t0) }
	tests := []struct {
		name string
		evs  []event.Event
		want []EventResult
	}{
		{"first", []event.Event{visit("v1")}, []EventResult{{ID: "v1", Points: 3}}},
		{"same day, under the cap", []event.Event{visit("v2")}, []EventResult{{ID: "v2", Points: 3}}},
		{"a repeat", []event.Event{visit("v2")}, []EventResult{{ID: "v2", Duplicate: true, Filtered: FilteredDuplicate}}},
		{"over the cap", []event.Event{visit("v3")}, []EventResult{{ID: "v3", Filtered: FilteredDailyCap}}},
		{"the next day", []event.Event{ev("v4", event.WebVisit, t0.Add(Day))}, []EventResult{{ID: "v4", Points: 3}}},
	}
	for _, tt := range tests {
		if tt.name == "the next day" {
			b.clock.Set(t0.Add(Day))
		}
		got := b.apply(t, tg, tt.evs...)
		if diff := cmp.Diff(tt.want, got.Events); diff != "" {
			t.Errorf("%s: events (-want, +got):\n%s", tt.name, diff)
		}
	}
	if got := b.eng.Stats(); got != (Stats{}) {
		t.Errorf("stats %+v: every batch judged once", got)
	}
}

// interferer is another worker scoring the same contacts: before each of
// the next n commits the hooked client sends (a pipeline of the apply
// script), it runs do, so the contacts the engine read have moved on.
type interferer struct {
	n  atomic.Int64
	do func(ctx context.Context) error
}

func (h *interferer) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *interferer) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *interferer) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && cmds[0].Name() == "evalsha" && cmds[0].Args()[1] == store.ApplyScript.Hash() && h.n.Add(-1) >= 0 {
			if err := h.do(ctx); err != nil {
				return err
			}
		}
		return next(ctx, cmds)
	}
}

// interfered is an engine on b's database whose commits h precedes.
func interfered(t *testing.T, b *bundle, cfg Config, h *interferer) *Engine {
	t.Helper()
	o := b.rdb.Options()
	rdb := redis.NewClient(&redis.Options{Network: o.Network, Addr: o.Addr, DB: o.DB, Username: o.Username, Password: o.Password})
	t.Cleanup(func() { rdb.Close() })
	rdb.AddHook(h)
	eng, err := NewEngine(rdb, cfg, b.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// TestContactWrittenSinceReadGoesAgain: a batch whose contact another
// worker wrote between the engine's read and its commit is not committed
// as judged: the engine reads the contact again, judges the batch again
// and commits it, once.
func TestContactWrittenSinceReadGoesAgain(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	tg := Target{PartnerID: "p", ContactID: "c"}
	b.apply(t, tg, ev("a", event.WebVisit, t0))
	h := &interferer{do: func(ctx context.Context) error {
		_, err := b.eng.Apply(ctx, tg, []event.Event{ev("b", event.WebVisit, t0)})
		return err
	}}
	h.n.Store(1)
	eng := interfered(t, b, Config{}, h)
	for _, batch := range []bool{false, true} {
		evs := []event.Event{ev("b", event.WebVisit, t0), ev("c"+strconv.FormatBool(batch), event.WebVisit, t0)}
		var got *Result
		if batch {
			h.n.Store(1)
			res, err := eng.ApplyBatch(b.ctx, []Batch{{tg, evs}})
			if err != nil {
				t.Fatal(err)
			}
			got = res[0]
		} else {
			var err error
			if got, err = eng.Apply(b.ctx, tg, evs); err != nil {
				t.Fatal(err)
			}
		}
		want := []EventResult{{ID: "b", Duplicate: true, Filtered: FilteredDuplicate}, {ID: evs[1].ID, Points: 3}}
		if diff := cmp.Diff(want, got.Events); diff != "" {
			t.Errorf("batch %v: judged again (-want, +got):\n%s", batch, diff)
		}
	}
	if got, want := eng.Stats(), (Stats{Retries: 2}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	c, err := b.eng.Contact(b.ctx, "p", "c")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range c.Timeline {
		ids = append(ids, it.ID)
	}
	if got := strings.Join(ids, ","); got != "ctrue,cfalse,b,a" {
		t.Errorf("timeline %s: want a, b, cfalse and ctrue once each", got)
	}
	if !near(c.Score, 12, 1e-12) {
		t.Errorf("score %v, want 12 (4 visits)", c.Score)
	}
}

// TestContendedBatchGivesUp: a batch whose contact is written before every
// one of its commits is given up after maxAttempts judgements with
// ErrContended, counted, and never written.
func TestContendedBatchGivesUp(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	tg := Target{PartnerID: "p", ContactID: "c"}
	var others atomic.Int64
	h := &interferer{do: func(ctx context.Context) error {
		_, err := b.eng.Apply(ctx, tg, []event.Event{ev(fmt.Sprint("other", others.Add(1)), event.EmailReply, t0)})
		return err
	}}
	h.n.Store(100)
	eng := interfered(t, b, Config{}, h)
	_, err := eng.ApplyBatch(b.ctx, []Batch{{tg, []event.Event{ev("ours", event.WebVisit, t0)}}})
	if !errors.Is(err, ErrContended) {
		t.Fatalf("ApplyBatch: %v, want ErrContended", err)
	}
	if got, want := eng.Stats(), (Stats{Retries: maxAttempts - 1, Exhausted: 1}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	if n := others.Load(); n != maxAttempts {
		t.Errorf("the other writer wrote %d times, want once per attempt (%d)", n, maxAttempts)
	}
	s := b.rdb.Get(b.ctx, contactScoreKey("p", "c")).Val()
	id := store.Digest("i", "ours")
	if store.Newest(s[store.HeaderLen:], "i"+string(id[:]), 0) >= 0 {
		t.Error("the batch given up was written")
	}
	c, err := b.eng.Contact(b.ctx, "p", "c")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Timeline) != maxAttempts || !near(c.Score, 8*maxAttempts, 1e-12) {
		t.Errorf("contact %+v: want the other writer's %d replies only", c, maxAttempts)
	}
}

// TestWorkersRacingOnOneContact: workers (engines of their own, as worker
// processes) score batches of the same contact at once, each batch with
// events of its own and one that every worker sends: every event counts
// once, whichever worker commits it, and the scores add up. A call that
// gives up (ErrContended) committed nothing of its batch and is retried, as
// the task would be.
func TestWorkersRacingOnOneContact(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	tg := Target{PartnerID: "p", ContactID: "c"}
	const workers, batches = 4, 20
	var counted [batches]atomic.Int64 // per shared event, the workers that scored it
	var own, retried atomic.Int64
	var wg sync.WaitGroup
	engines := make([]*Engine, workers)
	for w := range workers {
		eng, err := NewEngine(b.rdb, Config{}, b.clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		engines[w] = eng
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range batches {
				evs := []event.Event{
					ev(fmt.Sprintf("w%d.%d.a", w, i), event.EmailReply, t0),
					ev(fmt.Sprintf("shared.%d", i), event.EmailReply, t0),
					ev(fmt.Sprintf("w%d.%d.b", w, i), event.EmailReply, t0),
				}
				var res []*Result
				var err error
				for {
					if res, err = eng.ApplyBatch(b.ctx, []Batch{{tg, evs}}); !errors.Is(err, ErrContended) {
						break
					}
					retried.Add(1)
				}
				if err != nil {
					t.Error(err)
					return
				}
				for j, r := range res[0].Events {
					switch {
					case j == 1 && !r.Duplicate:
						counted[i].Add(1)
					case j != 1 && !r.Duplicate:
						own.Add(1)
					case j != 1:
						t.Errorf("worker %d batch %d: its own event %s came back a duplicate", w, i, r.ID)
					}
				}
			}
		}()
	}
	wg.Wait()
	for i := range counted {
		if n := counted[i].Load(); n != 1 {
			t.Errorf("shared event %d scored by %d workers, want 1", i, n)
		}
	}
	if n := own.Load(); n != 2*workers*batches {
		t.Errorf("%d of the workers' own events scored, want %d", n, 2*workers*batches)
	}
	want := float64(8 * (2*workers*batches + batches))
	c, err := b.eng.Contact(b.ctx, "p", "c")
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.eng.Partner(b.ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if !near(c.Score, want, 1e-12) || !near(p.Score, want, 1e-12) {
		t.Errorf("contact %v, partner %v, want %v", c.Score, p.Score, want)
	}
	var stats Stats
	for _, eng := range engines {
		st := eng.Stats()
		stats.Retries, stats.Exhausted = stats.Retries+st.Retries, stats.Exhausted+st.Exhausted
	}
	if stats.Exhausted != retried.Load() {
		t.Errorf("%d calls given up, stats say %d", retried.Load(), stats.Exhausted)
	}
	t.Logf("%+v", stats)
}

// commitFrom is the commit the engine makes of evs for tg judged against
// read, the contact as read, at now.
func commitFrom(t *testing.T, b *bundle, tg Target, evs []event.Event, read string, now time.Time) *store.Commit {
	t.Helper()
	var v verdict
	if err := b.eng.rubric.judge(&v, tg, evs, read, now); err != nil {
		t.Fatal(err)
	}
	c := b.eng.commit(&v, read, floorDiv(sinceEpoch(now), 60000))
	c.Keys, c.Ends = applyKeys(tg.PartnerID, tg.ContactID)
	return c
}

// runCommit runs c and returns what the script said.
func runCommit(t *testing.T, b *bundle, c *store.Commit) store.Applied {
	t.Helper()
	cmds, err := scriptrun.Pipelined(b.ctx, b.rdb, []scriptrun.Call{{Script: store.ApplyScript, Cmd: c.Cmd()}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := store.ParseApplied(cmds[0].Val())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestStaleCommitWritesNothing: a commit judged against a contact string
// another write has changed since, or against no contact when one has
// been written since, writes nothing: not the contact, its timeline, the
// partner or its contacts list.
func TestStaleCommitWritesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	tg := Target{PartnerID: "p", ContactID: "c"}
	evs := []event.Event{ev("b", event.WebVisit, t0), ev("c", event.WebinarAttended, t0)}
	first := commitFrom(t, b, tg, evs, "", t0) // judged against no contact
	b.apply(t, tg, ev("a", event.WebVisit, t0))
	read := b.rdb.Get(b.ctx, contactScoreKey("p", "c")).Val()
	b.apply(t, tg, ev("b", event.WebVisit, t0)) // the other writer
	keys := []string{contactScoreKey("p", "c"), contactTimelineKey("p", "c"), partnerScoreKey("p"), partnerContactsKey("p")}
	dump := func() []string {
		var out []string
		for _, k := range keys {
			v, err := b.rdb.Dump(b.ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		return out
	}
	before := dump()
	for _, c := range []*store.Commit{first, commitFrom(t, b, tg, evs, read, t0)} {
		if a := runCommit(t, b, c); !a.Stale {
			t.Fatalf("a commit judged against a stale read was applied: %+v", a)
		}
		if diff := cmp.Diff(before, dump()); diff != "" {
			t.Fatalf("a stale commit wrote (-before, +after):\n%s", diff)
		}
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

// TestNewEventTypeIsOneRule: a new event type with its own points and
// daily cap is one entry of the type table (typeRules) and no Lua: the
// engine and the Model both score it, alike.
func TestNewEventTypeIsOneRule(t *testing.T) {
	t.Parallel()
	const login event.Type = "partner.portal_login"
	types := maps.Clone(typeRules)
	types[login] = typeRule{code: "pl", points: 4, dailyCap: 2}
	r := newRubric(Config{}.withDefaultsOf(types), types)
	b := setup(t, Config{})
	eng, err := newEngine(b.rdb, r, b.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	model := newModel(r)
	tg := Target{PartnerID: "p", ContactID: "c"}
	at := func(id string, d time.Duration) event.Event {
		e := ev(id, login, t0.Add(d))
		e.Topic = "portal"
		return e
	}
	batches := []struct {
		now  time.Time
		evs  []event.Event
		want []EventResult
	}{
		{t0, []event.Event{at("l1", 0), at("l2", time.Minute), at("l3", 2*time.Minute), at("l1", 0)}, []EventResult{
			{ID: "l1", Points: 4}, {ID: "l2", Points: 4}, {ID: "l3", Filtered: FilteredDailyCap},
			{ID: "l1", Duplicate: true, Filtered: FilteredDuplicate},
		}},
		{t0.Add(Day), []event.Event{at("l4", Day)}, []EventResult{{ID: "l4", Points: 4}}},
	}
	for i, bt := range batches {
		b.clock.Set(bt.now)
		got, err := eng.Apply(b.ctx, tg, bt.evs)
		if err != nil {
			t.Fatal(err)
		}
		want := model.Apply(tg, bt.evs, bt.now)
		if diff := cmp.Diff(bt.want, got.Events); diff != "" {
			t.Errorf("batch %d: engine (-want, +got):\n%s", i, diff)
		}
		if diff := cmp.Diff(want.Events, got.Events); diff != "" {
			t.Errorf("batch %d: (-model, +engine):\n%s", i, diff)
		}
		stored := b.rdb.Get(b.ctx, contactScoreKey("p", "c")).Val()
		if mine := model.contacts[[2]string{"p", "c"}].stored; withoutToken(mine) != withoutToken(stored) {
			t.Errorf("batch %d: stored contacts differ:\nmodel  %q\nengine %q", i, mine, stored)
		}
	}
	ex, err := eng.Explain(b.ctx, "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []ExplainItem{{Type: login, Topic: "portal", Count: 3, Points: 12,
		Decayed: 8*Decayed(1, t0, t0.Add(Day), 30*Day) + 4, Filtered: map[string]int{FilteredDuplicate: 1, FilteredDailyCap: 1}}}
	if diff := cmp.Diff(want, ex.Contacts[0].Items, cmp.Comparer(func(a, b float64) bool { return near(a, b, 1e-12) })); diff != "" {
		t.Errorf("explain (-want, +got):\n%s", diff)
	}
	c, err := eng.Contact(b.ctx, "p", "c")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Timeline) != 4 || c.Timeline[0].Type != login || !near(c.Interests["portal"], ex.Contacts[0].Items[0].Decayed, 1e-12) {
		t.Errorf("contact %+v: want 4 logins in the timeline and the portal interest", c)
	}
}

// withoutToken is a contact string without its write token, which tells
// writers apart and nothing else.
func withoutToken(s string) string {
	if len(s) < store.HeaderLen {
		return s
	}
	return s[:store.HeaderLen-store.TokenLen] + s[store.HeaderLen:]
}

func TestIndexAndNames(t *testing.T) {
	t.Parallel()
	for _, n := range []int{5, 100} { // linear scan, then map
		var x index
		var ns names
		for i := range n {
			if got := x.add("k" + itoa(int64(i))); got != i {
				t.Fatalf("n=%d: index add #%d = %d", n, i, got)
			}
			if got := ns.add([]byte("k" + itoa(int64(i)))); got != i {
				t.Fatalf("n=%d: names add #%d = %d", n, i, got)
			}
		}
		for i := range n {
			if got := x.find("k" + itoa(int64(i))); got != i {
				t.Errorf("n=%d: index find #%d = %d", n, i, got)
			}
			if got := ns.find([]byte("k" + itoa(int64(i)))); got != i {
				t.Errorf("n=%d: names find #%d = %d", n, i, got)
			}
			if got := string(ns.at(i)); got != "k"+itoa(int64(i)) {
				t.Errorf("n=%d: names at #%d = %q", n, i, got)
			}
		}
		if x.find("absent") != -1 || ns.find([]byte("absent")) != -1 {
			t.Errorf("n=%d: found what was never added", n)
		}
		if s := ns.strings(); len(s) != n || s[n-1] != "k"+itoa(int64(n-1)) {
			t.Errorf("n=%d: strings %q", n, s)
		}
		x.reset()
		ns.reset()
		if x.find("k1") != -1 || len(x.keys) != 0 || ns.find([]byte("k1")) != -1 || ns.strings() != nil {
			t.Errorf("n=%d: reset kept names", n)
		}
	}
}
