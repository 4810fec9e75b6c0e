package opsview

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNiceCeil(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want float64 }{
		{0, 1}, {-3, 1}, {0.3, 0.5}, {1, 1}, {1.2, 2}, {2.1, 2.5}, {3, 5}, {7, 10}, {10, 10}, {42, 50}, {120, 200}, {2400, 2500},
	} {
		if got := NiceCeil(tc.in); got != tc.want {
			t.Errorf("NiceCeil(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestHistogram(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		scores []float64
		bins   int
		want   []Bin
	}{
		{"no scores", nil, 10, []Bin{{0, 1, 0}}},
		{"zeros only", []float64{0, 0}, 10, []Bin{{0, 1, 2}}},
		{"a long tail", []float64{0, 0, 0, 1, 2, 9, 25}, 5, []Bin{{0, 5, 5}, {5, 10, 1}, {10, 15, 0}, {15, 20, 0}, {20, 25, 1}}},
		{"the top score in the last bin", []float64{10, 4.9, 5}, 2, []Bin{{0, 5, 1}, {5, 10, 2}}},
		{"negative in the first bin", []float64{-1, 3}, 3, []Bin{{0, 1, 1}, {1, 2, 0}, {2, 3, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, Histogram(tc.scores, tc.bins)); diff != "" {
				t.Errorf("Histogram (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestBars(t *testing.T) {
	t.Parallel()
	f := Frame{Width: 120, Height: 120, Left: 10, Top: 10, PlotW: 100, PlotH: 100}
	c := Bars(f, []string{"a", "b", "c", "d"}, []float64{0, 40, 0.1, 36}, nil)
	if c.Max != 50 {
		t.Fatalf("axis max %v, want 50", c.Max)
	}
	var hs []int
	for _, b := range c.Bars {
		hs = append(hs, b.H)
		if b.Y+b.H != f.Bottom() {
			t.Errorf("bar %s does not stand on the baseline: y %d h %d", b.Label, b.Y, b.H)
		}
	}
	// Heights ∝ values; a tiny positive value still shows.
	if diff := cmp.Diff([]int{0, 80, 1, 72}, hs); diff != "" {
		t.Errorf("heights (-want, +got):\n%s", diff)
	}
	if len(c.YTicks) != 6 || c.YTicks[1].Label != "10" || c.YTicks[5].Label != "50" || c.YTicks[5].Pos != f.Top {
		t.Errorf("y ticks %+v", c.YTicks)
	}
	if ticks := Bars(f, []string{"x"}, []float64{2}, nil).YTicks; len(ticks) != 5 || ticks[1].Label != "0.5" {
		t.Errorf("ticks of an axis to 2: %+v, want quarters", ticks)
	}
	if len(Bars(f, nil, nil, nil).Bars) != 0 {
		t.Error("bars of nothing")
	}
}

func TestLines(t *testing.T) {
	t.Parallel()
	f := Frame{Width: 120, Height: 120, Left: 10, Top: 10, PlotW: 100, PlotH: 100}
	c := Lines(f, []string{"d1", "d2", "d3"}, []string{"security"}, [][]float64{{0, 5, 10}}, nil)
	if len(c.Lines) != 1 || c.Lines[0].Points != "10,110 60,60 110,10" || c.Lines[0].Class != "series-0" {
		t.Errorf("lines %+v", c.Lines)
	}
}

func TestBuildRFMMap(t *testing.T) {
	t.Parallel()
	pts := []RFMPoint{
		{R: 5, F: 5, M: 5, Monetary: 900}, {R: 5, F: 5, M: 3, Monetary: 100},
		{R: 1, F: 1, M: 1}, {R: 1, F: 1, M: 1}, {R: 1, F: 1, M: 1}, {R: 1, F: 1, M: 1},
		{R: 3, F: 2, M: 2, Monetary: 50},
		{R: 0, F: 0}, // not ranked
	}
	m := BuildRFMMap(pts, 2)
	if m.Ranked != 7 || m.Unranked != 3 || m.MaxPartners != 4 || len(m.Cells) != 25 {
		t.Fatalf("map: ranked %d unranked %d max %d cells %d", m.Ranked, m.Unranked, m.MaxPartners, len(m.Cells))
	}
	type got struct {
		R, F, N  int
		MeanM    float64
		Mean     float64
		MarkSize int
		Fill     string
	}
	var cells []got
	for _, c := range m.Cells {
		if c.Partners > 0 {
			cells = append(cells, got{c.R, c.F, c.Partners, c.MeanM, c.MeanMonetary, c.MarkSize, c.Fill})
		}
	}
	// Top row first (F 5), left column first (R 1). Sides ∝ √partners:
	// 4 → 58 (90% of 64), 2 → 41, 1 → 29.
	want := []got{
		{5, 5, 2, 4, 500, 41, monetaryFills[3]},
		{3, 2, 1, 2, 50, 29, monetaryFills[1]},
		{1, 1, 4, 1, 0, 58, monetaryFills[0]},
	}
	if diff := cmp.Diff(want, cells); diff != "" {
		t.Errorf("cells (-want, +got):\n%s", diff)
	}
	top := m.Cells[4] // F 5, R 5
	if top.X != m.Left+4*64 || top.Y != m.Top || top.MarkX != top.X+(64-41)/2 {
		t.Errorf("top-right cell at %d,%d mark at %d", top.X, top.Y, top.MarkX)
	}
}

func TestFunnel(t *testing.T) {
	t.Parallel()
	rows := Funnel([]FunnelStep{
		{Step: "welcome", Kind: "send", Counts: map[string]int64{"entered": 10, "sent": 8, "opened": 4, "clicked": 2}},
		{Step: "wait", Kind: "wait", Counts: map[string]int64{"entered": 5}},
		{Step: "never", Kind: "send", Counts: map[string]int64{}},
	})
	want := []FunnelRow{
		{Step: "welcome", Kind: "send", Entered: 10, Sent: 8, Opened: 4, Clicked: 2, Reach: 1, OpenRate: 0.5, ClickRate: 0.25},
		{Step: "wait", Kind: "wait", Entered: 5, Reach: 0.5, OpenRate: -1, ClickRate: -1},
		{Step: "never", Kind: "send", Reach: 0, OpenRate: -1, ClickRate: -1},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("Funnel (-want, +got):\n%s", diff)
	}
}

func TestBuildOverview(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 18, 15, 0, 0, 0, time.UTC) // a Wednesday
	days := []DayFigures{
		{Day: "2026-11-15", Handoffs: 9, Emails: map[string]int64{"sent": 10}}, // Sunday: last week
		{Day: "2026-11-16", Handoffs: 3, Unrouted: 1, Emails: map[string]int64{"sent": 20, "deferred": 2},
			Types: map[string]int64{"email.bounce": 1, "email.open": 40}},
		{Day: "2026-11-18", Handoffs: 2, Types: map[string]int64{"email.unsubscribe": 2}},
	}
	reps := []RepCapacity{{Daily: 4, Active: true}, {Daily: 6, Active: true}, {Daily: 50, Active: false}}
	got := BuildOverview(now, []int64{2, 0, 4}, days, reps, 5)
	want := Overview{
		EventsPerMinute: 2, PeakPerMinute: 4, HandoffsWeek: 5, UnroutedWeek: 1, CapacityWeek: 50, Load: 0.1,
		Sent: 30, Deferred: 2, Suppressions: 3, SuppressionRate: 0.1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("BuildOverview (-want, +got):\n%s", diff)
	}
	if o := BuildOverview(now, nil, nil, nil, 5); o.Load != -1 || o.SuppressionRate != -1 || o.EventsPerMinute != 0 {
		t.Errorf("empty overview %+v: rates without a base must read -1", o)
	}
	if ws := WeekStart(time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC)); !ws.Equal(time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("WeekStart of a Sunday = %v", ws)
	}
}

func TestTopTopics(t *testing.T) {
	t.Parallel()
	ts := TopTopics([]string{"d1", "d2"}, []map[string]float64{{"security": 5, "storage": 1, "cloud": 3}, {"security": 1, "cloud": 3, "edge": 1}}, 2)
	want := TopicSeries{Days: []string{"d1", "d2"}, Topics: []string{"cloud", "security"}, Points: [][]float64{{3, 3}, {5, 1}}, Totals: []float64{6, 6}}
	if diff := cmp.Diff(want, ts); diff != "" {
		t.Errorf("TopTopics (-want, +got):\n%s", diff)
	}
}
