package scoring

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/scoring/internal/store"
)

func TestLeaderboardOrder(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	types := []event.Type{event.EmailOpen, event.WebVisit, event.EmailClick, event.WebinarAttended}
	for i := range 60 {
		pid := fmt.Sprintf("p%d", rng.Intn(12))
		at := t0.Add(-time.Duration(rng.Int63n(int64(120 * Day))))
		b.apply(t, Target{PartnerID: pid, ContactID: fmt.Sprintf("c%d", rng.Intn(3))},
			ev(fmt.Sprintf("e%d", i), types[rng.Intn(len(types))], at))
	}
	for _, later := range []time.Duration{0, 45 * Day} {
		b.clock.Set(t0.Add(later))
		lb, err := b.eng.Leaderboard(b.ctx, 5)
		if err != nil {
			t.Fatal(err)
		}
		ids, _ := b.eng.ScoredPartners(b.ctx)
		var want []Entry
		for _, pid := range ids {
			p, _ := b.eng.Partner(b.ctx, pid)
			want = append(want, Entry{PartnerID: pid, Score: p.Score})
		}
		sort.Slice(want, func(i, j int) bool { return want[i].Score > want[j].Score })
		if diff := cmp.Diff(want[:5], lb, cmp.Comparer(func(a, b float64) bool { return near(a, b, 1e-12) })); diff != "" {
			t.Errorf("at +%v leaderboard (-want, +got):\n%s", later, diff)
		}
	}
	if _, err := b.eng.Leaderboard(b.ctx, 0); err == nil {
		t.Error("Leaderboard(0) succeeded")
	}
}

// The unassigned pseudo-partner is never on the leaderboard, even when a
// roll-up reached it (ingest scores its contacts with NoRollup) and it
// has the top score; the limit still counts real partners.
func TestLeaderboardNeverListsUnassigned(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, configured, id string }{
		{"default", "", "unassigned"},
		{"configured", "nobody", "nobody"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Config{UnassignedPartner: tt.configured})
			b.apply(t, Target{PartnerID: tt.id, ContactID: "u"}, ev("u1", event.WebinarAttended, t0),
				ev("u2", event.EventAttended, t0))
			b.apply(t, Target{PartnerID: "p1", ContactID: "c"}, ev("a", event.WebinarAttended, t0))
			b.apply(t, Target{PartnerID: "p2", ContactID: "c"}, ev("b", event.EmailClick, t0))
			lb, err := b.eng.Leaderboard(b.ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]Entry{{"p1", 10}, {"p2", 5}}, lb); diff != "" {
				t.Errorf("leaderboard (-want, +got):\n%s", diff)
			}
			if lb, _ := b.eng.Leaderboard(b.ctx, 1); len(lb) != 1 || lb[0].PartnerID != "p1" {
				t.Errorf("leaderboard of 1 = %+v, want p1", lb)
			}
			ids, err := b.eng.ScoredPartners(b.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"p2", "p1"}, ids); diff != "" {
				t.Errorf("scored partners (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestLeaderboardVersionGuard(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	keys := []string{leaderboardKey, leaderboardVersionsKey}
	for _, w := range []struct {
		ver   int
		score string
		wrote int
	}{{2, "20", 1}, {1, "10", 0}, {2, "15", 0}, {3, "30", 1}} {
		n, err := store.LeaderboardScript.Run(b.ctx, b.rdb, keys, "p", w.ver, w.score).Int()
		if err != nil || n != w.wrote {
			t.Fatalf("write v%d: %d, %v, want %d", w.ver, n, err, w.wrote)
		}
	}
	if s, _ := b.rdb.ZScore(b.ctx, leaderboardKey, "p").Result(); s != 30 {
		t.Fatalf("leaderboard score %v, want the newest version's 30", s)
	}
	// Engine writes carry increasing versions.
	r1 := b.apply(t, Target{PartnerID: "q", ContactID: "c"}, ev("a", event.EmailOpen, t0))
	r2 := b.apply(t, Target{PartnerID: "q", ContactID: "d"}, ev("b", event.EmailOpen, t0))
	if r2.Version <= r1.Version {
		t.Fatalf("versions %d then %d, want increasing", r1.Version, r2.Version)
	}
	// A stale write of the first result does not overwrite the second.
	n, _ := store.LeaderboardScript.Run(b.ctx, b.rdb, keys, "q", r1.Version, "1").Int()
	if s, _ := b.rdb.ZScore(b.ctx, leaderboardKey, "q").Result(); n != 0 || near(s, 1, 1e-9) {
		t.Fatalf("stale write applied: wrote %d, score %v", n, s)
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{TopicMultipliers: map[string]float64{"security": 2}})
	tg := Target{PartnerID: "p", ContactID: "c1"}
	click := msgEv("k1", event.EmailClick, "m1", t0.Add(-10*Day))
	click.Topic = "security"
	click2 := msgEv("k2", event.EmailClick, "m1", t0.Add(-9*Day))
	click2.Topic = "security"
	mo := msgEv("o0", event.EmailOpen, "m1", t0.Add(-10*Day))
	mo.Machine = true
	b.apply(t, tg, click, click2, mo, msgEv("o1", event.EmailOpen, "m1", t0.Add(-10*Day)))
	b.apply(t, tg, click) // duplicate
	b.apply(t, Target{PartnerID: "p", ContactID: "c2"}, ev("w", event.WebinarAttended, t0))
	ex, err := b.eng.Explain(b.ctx, "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	h := 30 * Day
	want := []ContactExplanation{
		{ContactID: "c2", Score: 10, Items: []ExplainItem{{Type: event.WebinarAttended, Count: 1, Points: 10, Decayed: 10}}},
		{ContactID: "c1", Score: Decayed(11, t0.Add(-10*Day), t0, h), Items: []ExplainItem{
			{Type: event.EmailClick, Topic: "security", Count: 1, Points: 10, Decayed: Decayed(10, t0.Add(-10*Day), t0, h),
				Filtered: map[string]int{FilteredDuplicate: 1, FilteredPerMessage: 1}},
			{Type: event.EmailOpen, Count: 1, Points: 1, Decayed: Decayed(1, t0.Add(-10*Day), t0, h),
				Filtered: map[string]int{FilteredMachineOpen: 1}},
		}},
	}
	if diff := cmp.Diff(want, ex.Contacts, cmp.Comparer(func(a, b float64) bool { return near(a, b, 1e-12) })); diff != "" {
		t.Errorf("explain (-want, +got):\n%s", diff)
	}
	if !near(ex.Score, 10+Decayed(11, t0.Add(-10*Day), t0, h), 1e-12) || ex.Rubric.Points[event.EmailClick] != 5 || ex.Rubric.HalfLife != h {
		t.Errorf("explain score %v rubric %+v", ex.Score, ex.Rubric)
	}
	// An explicit contact list limits the breakdown.
	ex, _ = b.eng.Explain(b.ctx, "p", []string{"c2"})
	if len(ex.Contacts) != 1 || ex.Contacts[0].ContactID != "c2" {
		t.Errorf("explain for c2 = %+v", ex.Contacts)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{}, ""},
		{Config{Points: map[event.Type]float64{"email.opn": 1}}, "scoring.points.email.opn: unknown event type"},
		{Config{Points: map[event.Type]float64{event.Purchase: 3}}, "scoring.points.purchase:"},
		{Config{HalfLife: time.Hour}, "scoring.half_life:"},
		{Config{Threshold: -1}, "scoring.threshold:"},
		{Config{TierThresholds: map[string]float64{"gold": 0}}, "scoring.tier_thresholds.gold:"},
		{Config{RearmFraction: 1.5}, "scoring.rearm_fraction:"},
		{Config{TopicMultipliers: map[string]float64{"x": -1}}, "scoring.topic_multipliers.x:"},
		{Config{Rules: []Rule{{Multiplier: 2}}}, "scoring.rules[0]: has no condition"},
		{Config{Rules: []Rule{{EventType: "nope", Multiplier: 2}}}, "scoring.rules[0].event_type:"},
		{Config{Fit: []FitRule{{Points: 3}}}, "scoring.fit[0]:"},
		{Config{DailyCaps: map[event.Type]int{event.WebVisit: -1}}, "scoring.daily_caps.web.visit:"},
		{Config{ScannerUserAgents: []string{" "}}, "scoring.scanner_user_agents[0]:"},
		{Config{DedupRetention: time.Minute}, "scoring.dedup_retention:"},
		{Config{TimelineLength: -1}, "scoring.timeline_length:"},
		{Config{RFM: RFMConfig{FrequencyWindow: time.Hour}}, "scoring.rfm.frequency_window:"},
		{Config{RFM: RFMConfig{Segments: []SegmentRule{{Name: "a"}, {Name: "a"}}}}, "scoring.rfm.segments[1].name:"},
		{Config{RFM: RFMConfig{Segments: []SegmentRule{{Name: "a", RMin: 6}}}}, "scoring.rfm.segments[0].r_min:"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("Validate(%+v) = %v, want nil", tt.cfg, err)
		case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
			t.Errorf("Validate = %v, want prefix %q", err, tt.want)
		}
	}
	if _, err := NewEngine(nil, Config{}, nil); err == nil {
		t.Error("NewEngine(nil client) succeeded")
	}
}
