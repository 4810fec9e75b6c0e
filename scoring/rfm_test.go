package scoring

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/longtailhq/longtail/event"
)

// rfmRow is what the RFM tests compare of a partner's stored RFM.
type rfmRow struct {
	R, F, M     int
	Segment     string
	Recency     int
	Frequency   int
	Monetary    float64
	Basis       RFMBasis
	ComputedNow bool
}

func (b *bundle) rfmRows(t *testing.T, ids []string) []rfmRow {
	t.Helper()
	var got []rfmRow
	for _, pid := range ids {
		p, err := b.eng.Partner(b.ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		r := p.RFM
		if r == nil {
			t.Fatalf("%s has no RFM", pid)
		}
		got = append(got, rfmRow{r.R, r.F, r.M, r.Segment, r.RecencyDays, r.Frequency, r.Monetary, r.Basis,
			r.ComputedAt.Equal(t0)})
	}
	return got
}

// visits are n web visits of partner pid's contact, one a day, the last
// lastDaysAgo days before t0 (one a day stays under the daily cap).
func visits(pid string, lastDaysAgo, n int) []event.Event {
	var evs []event.Event
	for k := range n {
		evs = append(evs, ev(fmt.Sprintf("%s-v%d", pid, k), event.WebVisit, t0.Add(-time.Duration(lastDaysAgo+k)*Day)))
	}
	return evs
}

func money(id string, typ event.Type, daysAgo int, value float64) event.Event {
	e := ev(id, typ, t0.Add(-time.Duration(daysAgo)*Day))
	e.Value = value
	return e
}

// With enough partners each metric is ranked by quintiles of the partners
// that have a value for it; the unassigned partner is not among them.
func TestComputeRFMQuintiles(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{RFM: RFMConfig{MinPopulation: 3}})
	// Partner i has i visits, the last (9−i)·10 days ago: p0 never engaged,
	// p9 engaged today and most often. p3 and p7 tie on money.
	var ids []string
	for i := range 10 {
		pid := fmt.Sprintf("p%d", i)
		ids = append(ids, pid)
		evs := visits(pid, (9-i)*10, i)
		switch i {
		case 3, 7:
			evs = append(evs, money("buy", event.Purchase, 200, 100))
		case 9:
			// The old visit is outside the 90-day frequency window.
			evs = append(evs, money("buy", event.Purchase, 5, 500), ev("old", event.WebVisit, t0.Add(-100*Day)))
		case 5:
			evs = append(evs, money("buy", event.Purchase, 400, 1000)) // outside the 365-day window
		}
		if len(evs) > 0 {
			b.apply(t, Target{PartnerID: pid, ContactID: "c"}, evs...)
		}
	}
	// Engaged today and rolled up (as no ingest would do): still unranked.
	b.apply(t, Target{PartnerID: "unassigned", ContactID: "u"}, visits("unassigned", 0, 9)...)
	sum, err := b.eng.ComputeRFM(b.ctx, append(ids, "unassigned"), t0)
	if err != nil {
		t.Fatal(err)
	}
	// Recency and frequency: p1..p9 have distinct values, so p with k
	// worse partners has percentile (k + ½)/9 and rank 1 + ⌊5·(k + ½)/9⌋:
	// 1 1 2 2 3 4 4 5 5. Monetary: p3 and p7 tie at 100 below p9's 500:
	// (0 + 2/2)/3 → 2, and (2 + ½)/3 → 5.
	q, none := BasisQuintile, BasisNone
	want := []rfmRow{
		{1, 1, 1, "lost", -1, 0, 0, RFMBasis{none, none, none}, true},
		{1, 1, 1, "lost", 80, 1, 0, RFMBasis{q, q, none}, true},
		{1, 1, 1, "lost", 70, 2, 0, RFMBasis{q, q, none}, true},
		{2, 2, 2, "hibernating", 60, 3, 100, RFMBasis{q, q, q}, true},
		{2, 2, 1, "hibernating", 50, 4, 0, RFMBasis{q, q, none}, true},
		{3, 3, 1, "potential", 40, 5, 0, RFMBasis{q, q, none}, true},
		{4, 4, 1, "champions", 30, 6, 0, RFMBasis{q, q, none}, true},
		{4, 4, 2, "champions", 20, 7, 100, RFMBasis{q, q, q}, true},
		{5, 5, 1, "champions", 10, 8, 0, RFMBasis{q, q, none}, true},
		{5, 5, 5, "champions", 0, 9, 500, RFMBasis{q, q, q}, true},
	}
	if diff := cmp.Diff(want, b.rfmRows(t, ids)); diff != "" {
		t.Errorf("rfm (-want, +got):\n%s", diff)
	}
	if diff := cmp.Diff(&RFMSummary{Partners: 10, Segments: map[string]int{
		"lost": 3, "hibernating": 2, "potential": 1, "champions": 4,
	}, Basis: RFMBasis{q, q, q}}, sum, cmpopts.IgnoreFields(RFMSummary{}, "Entered")); diff != "" {
		t.Errorf("summary (-want, +got):\n%s", diff)
	}
	// A first ranking: every partner entered its segment, from none.
	var entered []SegmentEntry
	for i, r := range want {
		entered = append(entered, SegmentEntry{PartnerID: ids[i], Segment: r.Segment})
	}
	if diff := cmp.Diff(entered, sum.Entered); diff != "" {
		t.Errorf("entered at the first run (-want, +got):\n%s", diff)
	}
	// The same figures again: nobody entered anything.
	again, err := b.eng.ComputeRFM(b.ctx, ids, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Entered) != 0 {
		t.Errorf("entered at an identical run: %+v, want none", again.Entered)
	}
	// p0 engages today: it leaves "lost" (and only it moves to a new
	// segment, from "lost").
	b.apply(t, Target{PartnerID: "p0", ContactID: "c"}, visits("p0", 0, 9)...)
	moved, err := b.eng.ComputeRFM(b.ctx, ids, t0)
	if err != nil {
		t.Fatal(err)
	}
	rows := b.rfmRows(t, ids)
	var changed []SegmentEntry
	for i, r := range rows {
		if r.Segment != want[i].Segment {
			changed = append(changed, SegmentEntry{PartnerID: ids[i], Segment: r.Segment, From: want[i].Segment})
		}
	}
	if len(changed) == 0 || changed[0].PartnerID != "p0" {
		t.Fatalf("p0 did not change segment: %+v", changed)
	}
	if diff := cmp.Diff(changed, moved.Entered); diff != "" {
		t.Errorf("entered after p0 engaged (-want, +got):\n%s", diff)
	}
	if p, err := b.eng.Partner(b.ctx, "unassigned"); err != nil || p.RFM != nil {
		t.Errorf("the unassigned partner was ranked: %+v, %v", p.RFM, err)
	}
	// Buckets older than both windows are dropped; the others stay (they
	// live in the partner hash, next to fields such as "fit").
	fields, _ := b.rdb.HKeys(b.ctx, partnerScoreKey("p5")).Result()
	freq := 0
	for _, f := range fields {
		if f[0] == 'm' {
			t.Errorf("p5 keeps stale bucket %s", f)
		}
		if f[0] == 'f' && f != "fit" {
			freq++
		}
	}
	if freq != 5 {
		t.Errorf("p5 keeps %d frequency buckets of %q, want its 5 visit days", freq, fields)
	}
}

// Below scoring.rfm.min_population (20 by default) a metric is scored on
// the fixed thresholds. Issue 13: with quintiles, a partner that converted
// today for 12,000 was "at risk" and the unassigned partner "lost".
func TestComputeRFMSmallPopulation(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	// won: five engagements three days ago, then today the rep's converted
	// outcome (deal.won, 0 points) for 12,000.
	b.apply(t, Target{PartnerID: "won", ContactID: "c"}, append(visits("won", 3, 5),
		money("won-deal", event.DealWon, 0, 12000))...)
	b.apply(t, Target{PartnerID: "today", ContactID: "c"}, visits("today", 0, 1)...)
	b.apply(t, Target{PartnerID: "gone-quiet", ContactID: "c"}, visits("gone-quiet", 75, 12)...)
	b.apply(t, Target{PartnerID: "old", ContactID: "c"}, visits("old", 200, 2)...)
	b.apply(t, Target{PartnerID: "unassigned", ContactID: "u"}, visits("unassigned", 0, 3)...)
	// As an earlier version stored it: dropped by the next run.
	b.rdb.HSet(b.ctx, partnerScoreKey("unassigned"), "rfm", `{"r":1,"f":1,"m":1,"segment":"lost","recency_days":-1}`)
	ids := []string{"won", "today", "gone-quiet", "old", "never"}
	sum, err := b.eng.ComputeRFM(b.ctx, append(ids, "unassigned"), t0)
	if err != nil {
		t.Fatal(err)
	}
	th, none := BasisThreshold, BasisNone
	want := []rfmRow{
		// 0 days ≤ 7 → R5; 5 engagements ≥ 5 → F3; 12,000 ≥ 10,000 → M4.
		{5, 3, 4, "potential", 0, 5, 12000, RFMBasis{th, th, th}, true},
		// One engagement today: R5 F1.
		{5, 1, 1, "new", 0, 1, 0, RFMBasis{th, th, none}, true},
		// 75 days ≤ 90 → R2; 12 engagements ≥ 10 → F4: at risk indeed.
		{2, 4, 1, "at risk", 75, 12, 0, RFMBasis{th, th, none}, true},
		// 200 days → R1, nothing in the frequency window → F1.
		{1, 1, 1, "lost", 200, 0, 0, RFMBasis{th, none, none}, true},
		{1, 1, 1, "lost", -1, 0, 0, RFMBasis{none, none, none}, true},
	}
	if diff := cmp.Diff(want, b.rfmRows(t, ids)); diff != "" {
		t.Errorf("rfm (-want, +got):\n%s", diff)
	}
	if diff := cmp.Diff(&RFMSummary{Partners: 5, Segments: map[string]int{
		"potential": 1, "new": 1, "at risk": 1, "lost": 2,
	}, Basis: RFMBasis{th, th, th}}, sum, cmpopts.IgnoreFields(RFMSummary{}, "Entered")); diff != "" {
		t.Errorf("summary (-want, +got):\n%s", diff)
	}
	if p, err := b.eng.Partner(b.ctx, "unassigned"); err != nil || p.RFM != nil {
		t.Errorf("the unassigned partner was ranked: %+v, %v", p.RFM, err)
	}
}

// The fixed thresholds' bounds are inclusive, as documented.
func TestComputeRFMThresholdBounds(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	tests := []struct {
		pid                 string
		lastDaysAgo, visits int
		money               float64 // a purchase on the last day
		r, f, m             int
	}{
		{"d7", 7, 1, 0, 5, 1, 1},
		{"d8", 8, 2, 0, 4, 2, 1},
		{"d30", 30, 4, 0, 4, 2, 1},
		{"d31", 31, 5, 0, 3, 3, 1},
		{"d60", 60, 9, 0, 3, 3, 1},
		{"d61", 61, 10, 0, 2, 4, 1},
		{"d89", 89, 1, 0, 2, 1, 1},
		{"d91", 91, 1, 0, 1, 1, 1},
		{"f19", 0, 19, 0, 5, 4, 1},
		{"f20", 0, 20, 0, 5, 5, 1},
		{"m-half", 1, 1, 0.5, 5, 1, 1},
		{"m1", 1, 1, 1, 5, 1, 2},
		{"m999", 1, 1, 999, 5, 1, 2},
		{"m1000", 1, 1, 1000, 5, 1, 3},
		{"m49999", 1, 1, 49999, 5, 1, 4},
		{"m50000", 1, 1, 50000, 5, 1, 5},
		// Money alone makes a partner recent: a purchase 40 days ago.
		{"money-only", 40, 0, 1000, 3, 1, 3},
	}
	var ids []string
	for _, tt := range tests {
		evs := visits(tt.pid, tt.lastDaysAgo, tt.visits)
		if tt.money > 0 {
			evs = append(evs, money(tt.pid+"-buy", event.Purchase, tt.lastDaysAgo, tt.money))
		}
		b.apply(t, Target{PartnerID: tt.pid, ContactID: "c"}, evs...)
		ids = append(ids, tt.pid)
	}
	if _, err := b.eng.ComputeRFM(b.ctx, ids, t0); err != nil {
		t.Fatal(err)
	}
	for i, got := range b.rfmRows(t, ids) {
		tt := tests[i]
		if got.R != tt.r || got.F != tt.f || got.M != tt.m {
			t.Errorf("%s: R%d F%d M%d, want R%d F%d M%d (recency %d, frequency %d, monetary %v)",
				tt.pid, got.R, got.F, got.M, tt.r, tt.f, tt.m, got.Recency, got.Frequency, got.Monetary)
		}
	}
}

// Custom thresholds and population minimum are honoured; a population at
// the minimum is ranked by quintiles.
func TestComputeRFMConfiguredScale(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{RFM: RFMConfig{MinPopulation: 3, Thresholds: RFMThresholds{
		RecencyDays: []int{1, 2, 3, 4}, Frequency: []int{3, 4, 5, 6}, Monetary: []float64{10, 20, 30, 40},
	}}})
	// a, b and c are engaged and have engagements in the window (recency
	// and frequency quintiles); only a has money (thresholds).
	b.apply(t, Target{PartnerID: "a", ContactID: "c"}, append(visits("a", 0, 5), money("a-buy", event.Purchase, 0, 25))...)
	b.apply(t, Target{PartnerID: "b", ContactID: "c"}, visits("b", 2, 3)...)
	b.apply(t, Target{PartnerID: "c", ContactID: "c"}, visits("c", 2, 1)...)
	sum, err := b.eng.ComputeRFM(b.ctx, []string{"a", "b", "c"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if want := (RFMBasis{BasisQuintile, BasisQuintile, BasisThreshold}); sum.Basis != want {
		t.Errorf("basis %+v, want %+v", sum.Basis, want)
	}
	// Recency: a (0 days) over b and c tied at 2 days: percentile
	// (2 + ½)/3 → 5 and (0 + 2/2)/3 → 2. Frequency 5, 3, 1 visits:
	// (k + ½)/3 → 5, 3, 1. Monetary 25 ≥ 20 → 3.
	got := b.rfmRows(t, []string{"a", "b", "c"})
	for i, w := range [][3]int{{5, 5, 3}, {2, 3, 1}, {2, 1, 1}} {
		if g := [3]int{got[i].R, got[i].F, got[i].M}; g != w {
			t.Errorf("partner %d: RFM %v, want %v", i, g, w)
		}
	}
}

func TestDefaultSegmentsCoverEveryRank(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	want := map[[2]int]string{
		{5, 5}: "champions", {4, 4}: "champions", {3, 5}: "loyal", {5, 1}: "new", {4, 1}: "potential",
		{3, 3}: "potential", {2, 5}: "at risk", {1, 3}: "at risk", {2, 2}: "hibernating", {1, 1}: "lost", {2, 1}: "lost",
	}
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			got := b.eng.segment(r, f, 1)
			if got == "" {
				t.Errorf("R%d F%d has no segment", r, f)
			}
			if w, ok := want[[2]int{r, f}]; ok && got != w {
				t.Errorf("R%d F%d = %q, want %q", r, f, got, w)
			}
		}
	}
}

func TestQuintile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vals []float64
		want []int // rank of each value
	}{
		// Percentile (below + equal/2)/n: 0 → 0.3, 3 → 0.7, 7 → 0.85, 9 → 0.95.
		{"ties share a rank", []float64{0, 0, 0, 0, 0, 0, 7, 3, 3, 9}, []int{2, 2, 2, 2, 2, 2, 5, 4, 4, 5}},
		{"all tied sit in the middle", []float64{4, 4, 4, 4}, []int{3, 3, 3, 3}},
		{"one alone", []float64{1}, []int{3}},
		{"two per fifth", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, []int{1, 1, 2, 2, 3, 3, 4, 4, 5, 5}},
		{"order does not matter", []float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}, []int{5, 1, 5, 1, 4, 2, 4, 2, 3, 3}},
	}
	for _, tt := range tests {
		sorted := slices.Clone(tt.vals)
		slices.Sort(sorted)
		var got []int
		for _, v := range tt.vals {
			got = append(got, quintile(sorted, v))
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want, +got):\n%s", tt.name, diff)
		}
	}
}

func TestRFMConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rfm  RFMConfig
		want string // "" = valid
	}{
		{"defaults", RFMConfig{}, ""},
		{"custom", RFMConfig{MinPopulation: 5, Thresholds: RFMThresholds{RecencyDays: []int{0, 1, 2, 3}}}, ""},
		{"negative population", RFMConfig{MinPopulation: -1}, "scoring.rfm.min_population: must not be negative"},
		{"three bounds", RFMConfig{Thresholds: RFMThresholds{RecencyDays: []int{7, 30, 60}}},
			"scoring.rfm.thresholds.recency_days: needs 4 bounds (for ranks 2 to 5), got 3"},
		{"not ascending", RFMConfig{Thresholds: RFMThresholds{Frequency: []int{2, 5, 5, 20}}},
			"scoring.rfm.thresholds.frequency: must be strictly ascending: 5 after 5"},
		{"zero engagements", RFMConfig{Thresholds: RFMThresholds{Frequency: []int{0, 5, 10, 20}}},
			"scoring.rfm.thresholds.frequency: [0] is 0, below the minimum 1"},
		{"negative days", RFMConfig{Thresholds: RFMThresholds{RecencyDays: []int{-1, 5, 10, 20}}},
			"scoring.rfm.thresholds.recency_days: [0] is -1, below the minimum 0"},
		{"zero money", RFMConfig{Thresholds: RFMThresholds{Monetary: []float64{0, 5, 10, 20}}},
			"scoring.rfm.thresholds.monetary: [0] must be positive, got 0"},
		{"infinite money", RFMConfig{Thresholds: RFMThresholds{Monetary: []float64{1, 5, 10, math.Inf(1)}}},
			"scoring.rfm.thresholds.monetary: [3] must be a finite number"},
	}
	for _, tt := range tests {
		err := Config{RFM: tt.rfm}.Validate()
		if got := fmt.Sprint(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) {
			t.Errorf("%s: Validate() = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// RFMs reads in bulk what Partner reads one at a time, nil for a partner
// never ranked.
func TestRFMsMatchesPartner(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{RFM: RFMConfig{MinPopulation: 3}})
	ids := []string{"p1", "p2", "p3"}
	for i, pid := range ids {
		b.apply(t, Target{PartnerID: pid, ContactID: "c"}, visits(pid, i*10, i+1)...)
	}
	if _, err := b.eng.ComputeRFM(b.ctx, ids, t0); err != nil {
		t.Fatal(err)
	}
	got, err := b.eng.RFMs(b.ctx, append(ids, "never"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[3] != nil {
		t.Fatalf("RFMs = %v, want 4 with none for the partner never ranked", got)
	}
	for i, pid := range ids {
		p, err := b.eng.Partner(b.ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(p.RFM, got[i]); diff != "" {
			t.Errorf("RFMs[%s] (-Partner, +RFMs):\n%s", pid, diff)
		}
	}
	if _, err := b.eng.RFMs(b.ctx, []string{"bad id"}); err == nil {
		t.Error("an invalid partner id read without error")
	}

	// PartnerSummaries: Partner's score and RFM, in bulk.
	sums, err := b.eng.PartnerSummaries(b.ctx, append(ids, "never"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 4 || sums[3] != (PartnerSummary{}) {
		t.Fatalf("PartnerSummaries = %v, want 4 with a zero one for the partner never scored", sums)
	}
	for i, pid := range ids {
		p, err := b.eng.Partner(b.ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		if p.Score <= 0 || sums[i].Score != p.Score {
			t.Errorf("PartnerSummaries[%s].Score = %v, Partner's %v", pid, sums[i].Score, p.Score)
		}
		if diff := cmp.Diff(p.RFM, sums[i].RFM); diff != "" {
			t.Errorf("PartnerSummaries[%s].RFM (-Partner, +summary):\n%s", pid, diff)
		}
	}
	if _, err := b.eng.PartnerSummaries(b.ctx, []string{"bad id"}); err == nil {
		t.Error("an invalid partner id summarised without error")
	}
}
