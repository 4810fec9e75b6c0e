package scoring

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/scoring/internal/store"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { redistest.Main(m) }

type bundle struct {
	ctx   context.Context
	rdb   *redis.Client
	eng   *Engine
	clock *testclock.Clock
}

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func setup(t testing.TB, cfg Config) *bundle {
	t.Helper()
	return setupOn(t, redistest.New(t), cfg)
}

// setupPrivate is setup on a private redis-server, for tests that flush
// its script cache (which the other tests share).
func setupPrivate(t testing.TB, cfg Config) *bundle {
	t.Helper()
	rdb := redis.NewClient(redistest.StartServer(t).Options())
	t.Cleanup(func() { rdb.Close() })
	return setupOn(t, rdb, cfg)
}

func setupOn(t testing.TB, rdb *redis.Client, cfg Config) *bundle {
	t.Helper()
	c := testclock.New(t0)
	eng, err := NewEngine(rdb, cfg, c.Now)
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	return &bundle{ctx: context.Background(), rdb: rdb, eng: eng, clock: c}
}

func ev(id string, typ event.Type, at time.Time) event.Event {
	return event.Event{ID: id, Type: typ, OccurredAt: at}
}

func (b *bundle) apply(t testing.TB, tg Target, evs ...event.Event) *Result {
	t.Helper()
	res, err := b.eng.Apply(b.ctx, tg, evs)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return res
}

func near(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*math.Max(math.Max(math.Abs(a), math.Abs(b)), 1e-300)
}

func TestApplyNineteen(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	tg := Target{PartnerID: "p1", ContactID: "c1"}
	evs := []event.Event{
		ev("e1", event.EmailOpen, t0), ev("e2", event.WebVisit, t0),
		ev("e3", event.EmailClick, t0), ev("e4", event.WebinarAttended, t0),
	}
	for round := 0; round < 2; round++ {
		res := b.apply(t, tg, evs...)
		if math.Abs(res.PartnerScore-19) > 0.01 || math.Abs(res.ContactScore-19) > 0.01 {
			t.Fatalf("round %d: partner %v contact %v, want 19", round, res.PartnerScore, res.ContactScore)
		}
		for _, er := range res.Events {
			if er.Duplicate != (round == 1) {
				t.Errorf("round %d: event %s duplicate=%v", round, er.ID, er.Duplicate)
			}
		}
	}
	p, err := b.eng.Partner(b.ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(p.Score-19) > 0.01 || p.HottestContactID != "c1" {
		t.Fatalf("Partner = %+v, want score 19, hottest c1", p)
	}
	lb, err := b.eng.Leaderboard(b.ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(lb) != 1 || lb[0].PartnerID != "p1" || math.Abs(lb[0].Score-19) > 0.01 {
		t.Fatalf("Leaderboard = %+v", lb)
	}
	c, err := b.eng.Contact(b.ctx, "p1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Timeline) != 4 {
		t.Fatalf("timeline has %d items, want 4 (duplicates are not appended)", len(c.Timeline))
	}
	// Half a life later the score has halved exactly.
	b.clock.Advance(15 * Day)
	p, _ = b.eng.Partner(b.ctx, "p1")
	if want := 19 / math.Sqrt2; !near(p.Score, want, 1e-12) {
		t.Fatalf("after 15 days partner score %v, want %v", p.Score, want)
	}
}

func TestApplyRejectsBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	longTopic := ev("x", event.WebVisit, t0)
	longTopic.Topic = strings.Repeat("t", event.MaxTextLen+1)
	tests := []struct {
		name string
		tg   Target
		evs  []event.Event
	}{
		{"no partner", Target{ContactID: "c"}, nil},
		{"no contact", Target{PartnerID: "p"}, nil},
		{"brace in partner", Target{PartnerID: "p}x", ContactID: "c"}, nil},
		{"no id", Target{PartnerID: "p", ContactID: "c"}, []event.Event{ev("", event.EmailOpen, t0)}},
		{"bad type", Target{PartnerID: "p", ContactID: "c"}, []event.Event{ev("x", "email.opn", t0)}},
		{"no time", Target{PartnerID: "p", ContactID: "c"}, []event.Event{ev("x", event.EmailOpen, time.Time{})}},
		{"topic too long", Target{PartnerID: "p", ContactID: "c"}, []event.Event{longTopic}},
	}
	for _, tt := range tests {
		if _, err := b.eng.Apply(b.ctx, tt.tg, tt.evs); err == nil {
			t.Errorf("%s: Apply succeeded, want an error", tt.name)
		}
		if _, err := b.eng.ApplyBatch(b.ctx, []Batch{{tt.tg, tt.evs}}); err == nil && tt.evs != nil {
			t.Errorf("%s: ApplyBatch succeeded, want an error", tt.name)
		}
	}
	// Nothing of the refused batches was stored.
	if keys := b.rdb.Keys(b.ctx, "lt:*").Val(); len(keys) != 0 {
		t.Errorf("keys after refused input: %q", keys)
	}
}

func TestContactTimelineAndInterests(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{TimelineLength: 3, TopicMultipliers: map[string]float64{"security": 2}})
	tg := Target{PartnerID: "p1", ContactID: "c1"}
	visit := ev("v1", event.WebVisit, t0.Add(-2*time.Hour))
	visit.Topic, visit.Title, visit.URL = "security", "Zero trust", "https://x.example/zt"
	b.apply(t, tg,
		ev("o1", event.EmailOpen, t0.Add(-4*time.Hour)),
		visit,
		ev("d1", event.ContentDownload, t0.Add(-3*time.Hour)),
		ev("f1", event.WebinarRegistered, t0.Add(time.Hour)), // future: counts as now
	)
	c, err := b.eng.Contact(b.ctx, "p1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range c.Timeline {
		ids = append(ids, it.ID)
	}
	if diff := cmp.Diff([]string{"f1", "v1", "d1"}, ids); diff != "" {
		t.Errorf("timeline ids (-want, +got):\n%s", diff)
	}
	if got := c.Timeline[1]; got.Points != 6 || got.Title != "Zero trust" || got.Topic != "security" || got.URL == "" {
		t.Errorf("visit item = %+v, want 6 points with title, topic and url", got)
	}
	h := 30 * Day
	want := Decayed(1, t0.Add(-4*time.Hour), t0, h) + Decayed(6, t0.Add(-2*time.Hour), t0, h) +
		Decayed(5, t0.Add(-3*time.Hour), t0, h) + 5
	if !near(c.Score, want, 1e-12) {
		t.Errorf("score %v, want %v", c.Score, want)
	}
	if got, want := c.Interests["security"], Decayed(6, t0.Add(-2*time.Hour), t0, h); !near(got, want, 1e-12) {
		t.Errorf("security interest %v, want %v", got, want)
	}
}

func TestNoRollup(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	res := b.apply(t, Target{PartnerID: "unassigned", ContactID: "c1", NoRollup: true},
		ev("a", event.WebinarAttended, t0), ev("b", event.EventAttended, t0), ev("c", event.DealRegistered, t0))
	if res.ContactScore != 35 || res.PartnerScore != 0 || res.Crossing != nil {
		t.Fatalf("result %+v: want contact 35, no partner score, no crossing", res)
	}
	p, err := b.eng.Partner(b.ctx, "unassigned")
	if err != nil {
		t.Fatal(err)
	}
	if p.Score != 0 || p.HottestContactID != "" {
		t.Fatalf("unassigned partner = %+v, want untouched", p)
	}
	if lb, _ := b.eng.Leaderboard(b.ctx, 10); len(lb) != 0 {
		t.Fatalf("leaderboard = %+v, want empty", lb)
	}
}

func TestFitKeptApart(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{Threshold: 4, Fit: []FitRule{
		{Name: "msp", PartnerType: "MSP", Points: 20},
		{Name: "tech", Persona: "technical", Points: 7},
	}})
	tg := Target{PartnerID: "p1", ContactID: "c1", Persona: "technical", PartnerType: "MSP"}
	res := b.apply(t, tg, ev("o", event.EmailOpen, t0))
	if res.Crossing != nil || res.PartnerScore != 1 {
		t.Fatalf("result %+v: fit must not count toward the threshold", res)
	}
	p, _ := b.eng.Partner(b.ctx, "p1")
	c, _ := b.eng.Contact(b.ctx, "p1", "c1")
	if p.Fit != 20 || c.Fit != 27 {
		t.Fatalf("partner fit %v contact fit %v, want 20 and 27", p.Fit, c.Fit)
	}
}

func TestRules(t *testing.T) {
	t.Parallel()
	r, err := NewRubric(Config{
		TopicMultipliers: map[string]float64{"deal-registration": 2},
		Rules: []Rule{
			{Name: "owners", Persona: "owner-manager", Multiplier: 1.5},
			{Name: "gold visits", Tier: "gold", EventType: event.WebVisit, Multiplier: 0},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	click := ev("x", event.EmailClick, t0)
	click.Topic = "deal-registration"
	tests := []struct {
		name string
		ev   event.Event
		tg   Target
		want float64
	}{
		{"plain click", ev("x", event.EmailClick, t0), Target{}, 5},
		{"topic multiplier", click, Target{}, 10},
		{"persona rule and topic", click, Target{Persona: "owner-manager"}, 15},
		{"silenced for gold", ev("x", event.WebVisit, t0), Target{Tier: "gold"}, 0},
		{"not silenced for silver", ev("x", event.WebVisit, t0), Target{Tier: "silver"}, 3},
		{"purchase has no points", ev("x", event.Purchase, t0), Target{}, 0},
		{"unsubscribe is negative", ev("x", event.EmailUnsubscribe, t0), Target{}, -10},
	}
	for _, tt := range tests {
		if got, f := r.Points(tt.ev, tt.tg); got != tt.want || f != "" {
			t.Errorf("%s: Points = %v %q, want %v", tt.name, got, f, tt.want)
		}
	}
}

func TestTypeCodes(t *testing.T) {
	t.Parallel()
	seen := map[string]event.Type{}
	for _, typ := range event.Types() {
		rule, ok := typeRules[typ]
		if code := rule.code; !ok || len(code) != 2 {
			t.Errorf("type %s has code %q, want two bytes", typ, code)
		}
		if other, dup := seen[rule.code]; dup {
			t.Errorf("code %q used by %s and %s", rule.code, other, typ)
		}
		seen[rule.code] = typ
		if back, ok := typeOfCode(typeRules, rule.code); !ok || back != typ {
			t.Errorf("typeOfCode(%q) = %s, want %s", rule.code, back, typ)
		}
	}
	if len(typeRules) != len(event.Types()) {
		t.Errorf("%d type rules for %d event types", len(typeRules), len(event.Types()))
	}
	// Every suppression reason has a stored code.
	for _, reason := range []string{SuppressedHardBounce, SuppressedSpam, SuppressedUnsubscribe} {
		if code := store.SuppressionCode(reason); code == 0 || store.SuppressionOf(float64(code)) != reason {
			t.Errorf("suppression %q has code %d", reason, code)
		}
	}
}

func TestLargeBatchesAreChunked(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{DailyCaps: map[event.Type]int{event.WebVisit: 0}})
	var evs []event.Event
	for i := range 600 {
		// Every id twice, the copies 300 apart, so they land in other chunks.
		evs = append(evs, ev(fmt.Sprintf("v%d", i%300), event.WebVisit, t0))
	}
	res := b.apply(t, Target{PartnerID: "p", ContactID: "c"}, evs...)
	dups := 0
	for _, r := range res.Events {
		if r.Duplicate {
			dups++
		}
	}
	if len(res.Events) != 600 || dups != 300 || !near(res.ContactScore, 900, 1e-12) {
		t.Fatalf("%d results, %d duplicates, score %v; want 600, 300, 900", len(res.Events), dups, res.ContactScore)
	}
	got, err := b.eng.ApplyBatch(b.ctx, []Batch{
		{Target: Target{PartnerID: "p", ContactID: "d"}, Events: evs},
		{Target: Target{PartnerID: "p", ContactID: "e"}, Events: evs[:3]},
		{Target: Target{PartnerID: "p", ContactID: "f"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !near(got[0].ContactScore, 900, 1e-12) || !near(got[1].ContactScore, 9, 1e-12) || got[2].ContactScore != 0 {
		t.Fatalf("ApplyBatch scores %v %v %v, want 900 9 0", got[0].ContactScore, got[1].ContactScore, got[2].ContactScore)
	}
	p, _ := b.eng.Partner(b.ctx, "p")
	if !near(p.Score, 1809, 1e-12) {
		t.Fatalf("partner score %v, want 1809", p.Score)
	}
}

func TestHottestContactFollowsScores(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	a, c := Target{PartnerID: "p", ContactID: "a"}, Target{PartnerID: "p", ContactID: "c"}
	b.apply(t, a, ev("a1", event.WebinarAttended, t0))
	b.apply(t, c, ev("c1", event.WebVisit, t0))
	wantOrder := func(hot string, order ...string) {
		t.Helper()
		p, err := b.eng.Partner(b.ctx, "p")
		if err != nil {
			t.Fatal(err)
		}
		if p.HottestContactID != hot {
			t.Errorf("hottest = %q, want %q", p.HottestContactID, hot)
		}
		ex, err := b.eng.Explain(b.ctx, "p", nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ce := range ex.Contacts {
			got = append(got, ce.ContactID)
		}
		if diff := cmp.Diff(order, got); diff != "" {
			t.Errorf("explain contacts (-want +got):\n%s", diff)
		}
	}
	wantOrder("a", "a", "c")
	// An unsubscribe takes a below c: the hottest is read from the scores,
	// not remembered from the last rise.
	b.apply(t, a, ev("a2", event.EmailUnsubscribe, t0))
	wantOrder("c", "c", "a")
}
