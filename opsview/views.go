package opsview

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"time"
)

// Bin is one histogram bin: scores in [Lo, Hi), the last bin [Lo, Hi].
type Bin struct {
	Lo, Hi float64
	Count  int
}

// Histogram puts scores in about bins equal bins of a round width from
// 0 to the highest score: a long tail shows as a tall first bar and a
// few short ones. Negative scores count in the first bin. With no score,
// or only zeros, it is one bin [0, 1].
func Histogram(scores []float64, bins int) []Bin {
	bins = max(bins, 1)
	hi := 0.0
	for _, s := range scores {
		hi = math.Max(hi, s)
	}
	width := NiceCeil(hi / float64(bins))
	n := max(1, int(math.Ceil(hi/width-1e-9)))
	out := make([]Bin, n)
	for i := range out {
		out[i] = Bin{Lo: float64(i) * width, Hi: float64(i+1) * width}
	}
	for _, s := range scores {
		i := int(math.Floor(s / width))
		out[min(max(i, 0), n-1)].Count++
	}
	return out
}

// RFMPoint is one partner's RFM ranks (1–5) and monetary figure.
type RFMPoint struct {
	R, F, M  int
	Monetary float64
}

// RFMCell is one (recency, frequency) cell of the RFM map.
type RFMCell struct {
	R, F     int
	Partners int
	// MeanM is the mean monetary rank (1–5) of the cell's partners; 0
	// when it has none. MeanMonetary is their mean monetary figure.
	MeanM        float64
	MeanMonetary float64
	// X, Y is the cell's top-left corner; Size its side. The mark is a
	// square of side MarkSize centred in it, area proportional to
	// Partners; Fill its colour, by MeanM.
	X, Y, Size int
	MarkX      int
	MarkY      int
	MarkSize   int
	Fill       string
}

// RFMMap is the recency × frequency grid: five columns of recency rank
// (1 left, 5 right: most recent), five rows of frequency rank (5 on
// top), each cell sized by its partner count and coloured by monetary.
type RFMMap struct {
	Width, Height int
	Left, Top     int
	Cells         []RFMCell // row-major from the top-left: F 5..1, R 1..5
	MaxPartners   int
	Ranked        int
	// RTicks label the columns (R1..R5) under the grid, at AxisY; FTicks
	// the rows (F5..F1) left of it.
	RTicks, FTicks []Tick
	AxisY          int
	// Unranked partners have no RFM yet (the rfm job has not run since
	// they appeared).
	Unranked int
}

// monetaryFills colour mean monetary rank 1..5, pale to deep.
var monetaryFills = [...]string{"#d6e4f0", "#a9c8e2", "#6fa3cf", "#3b7bb5", "#1b4f8a"}

// MonetaryFill is the colour of a mean monetary rank (1..5).
func MonetaryFill(meanM float64) string {
	i := int(math.Round(meanM)) - 1
	return monetaryFills[min(max(i, 0), len(monetaryFills)-1)]
}

// BuildRFMMap counts points into the grid; unranked partners are those
// without a point (the caller counts them).
func BuildRFMMap(points []RFMPoint, unranked int) RFMMap {
	const cell, left, top = 64, 64, 12
	m := RFMMap{Width: left + 5*cell + 12, Height: top + 5*cell + 44, Left: left, Top: top, Unranked: unranked}
	type acc struct {
		n      int
		ms     int
		amount float64
	}
	var grid [6][6]acc // [F][R], 1-based
	for _, p := range points {
		if p.R < 1 || p.R > 5 || p.F < 1 || p.F > 5 {
			m.Unranked++
			continue
		}
		a := &grid[p.F][p.R]
		a.n++
		a.ms += p.M
		a.amount += p.Monetary
		m.Ranked++
		m.MaxPartners = max(m.MaxPartners, a.n)
	}
	m.AxisY = top + 5*cell + 16
	for i := range 5 {
		m.RTicks = append(m.RTicks, Tick{Pos: left + i*cell + cell/2, Label: "R" + strconv.Itoa(i+1)})
		m.FTicks = append(m.FTicks, Tick{Pos: top + i*cell + cell/2 + 4, Label: "F" + strconv.Itoa(5-i)})
	}
	for f := 5; f >= 1; f-- {
		for r := 1; r <= 5; r++ {
			a := grid[f][r]
			c := RFMCell{R: r, F: f, Partners: a.n, X: left + (r-1)*cell, Y: top + (5-f)*cell, Size: cell}
			if a.n > 0 {
				c.MeanM = float64(a.ms) / float64(a.n)
				c.MeanMonetary = a.amount / float64(a.n)
				// Area ∝ partners; the fullest cell's mark fills 90% of
				// the cell's side, and no mark is under 6 units.
				side := float64(cell) * 0.9 * math.Sqrt(float64(a.n)/float64(m.MaxPartners))
				c.MarkSize = max(6, int(math.Round(side)))
				c.MarkX = c.X + (cell-c.MarkSize)/2
				c.MarkY = c.Y + (cell-c.MarkSize)/2
				c.Fill = MonetaryFill(c.MeanM)
			}
			m.Cells = append(m.Cells, c)
		}
	}
	return m
}

// FunnelStep is one step of a flow's funnel, with its counters (the
// nurture store's: entered, sent, deferred, delivered, opened, clicked,
// handed_off, unsubscribed, exited, failed...).
type FunnelStep struct {
	Step   string
	Kind   string
	Counts map[string]int64
}

// FunnelRow is a funnel step as the page shows it.
type FunnelRow struct {
	Step, Kind string
	Entered    int64
	Sent       int64
	Opened     int64
	Clicked    int64
	Exited     int64
	// Reach is Entered over the first step's Entered; OpenRate and
	// ClickRate are over Sent. Each is -1 when its base is 0 (shown as
	// a dash, not as 0%).
	Reach, OpenRate, ClickRate float64
}

// Funnel turns a flow's steps into rows with their rates.
func Funnel(steps []FunnelStep) []FunnelRow {
	out := make([]FunnelRow, len(steps))
	var first int64
	for i, s := range steps {
		c := s.Counts
		r := FunnelRow{Step: s.Step, Kind: s.Kind, Entered: c["entered"], Sent: c["sent"], Opened: c["opened"],
			Clicked: c["clicked"], Exited: c["exited"]}
		if i == 0 {
			first = r.Entered
		}
		r.Reach = ratio(r.Entered, first)
		r.OpenRate = ratio(r.Opened, r.Sent)
		r.ClickRate = ratio(r.Clicked, r.Sent)
		out[i] = r
	}
	return out
}

func ratio(n, d int64) float64 {
	if d <= 0 {
		return -1
	}
	return float64(n) / float64(d)
}

// Overview is the ops overview's figures.
type Overview struct {
	// EventsPerMinute is the mean over the minutes given; PeakPerMinute
	// the busiest of them.
	EventsPerMinute float64
	PeakPerMinute   int64
	// HandoffsWeek are the hand-offs created since Monday 00:00 UTC;
	// CapacityWeek what the active reps can take in a working week
	// (daily capacity × working days).
	HandoffsWeek int
	UnroutedWeek int
	CapacityWeek int
	// Load is HandoffsWeek / CapacityWeek, -1 with no capacity.
	Load float64
	// Emails of the window, by result.
	Sent, Deferred, Failed int64
	// Suppressions are the window's events that suppress a contact
	// (hard bounce, spam complaint, unsubscribe); SuppressionRate is
	// Suppressions / Sent, -1 with nothing sent.
	Suppressions    int64
	SuppressionRate float64
}

// SuppressingTypes are the event types that make a contact unmailable.
var SuppressingTypes = []string{"email.bounce", "email.spam", "email.unsubscribe"}

// DayFigures are one day of the figures the overview sums.
type DayFigures struct {
	Day      string // UTC, "2006-01-02"
	Handoffs int
	Unrouted int
	Types    map[string]int64
	Emails   map[string]int64
}

// RepCapacity is one rep's daily capacity and whether the rep takes
// hand-offs.
type RepCapacity struct {
	Daily  int
	Active bool
}

// WeekStart is the Monday 00:00 UTC of t's week.
func WeekStart(t time.Time) time.Time {
	t = t.UTC().Truncate(24 * time.Hour)
	return t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
}

// BuildOverview sums the figures: perMinute for the event rate, days
// (the email window: all of them) for emails and suppressions, and
// those of days from WeekStart(now) on for this week's hand-offs.
func BuildOverview(now time.Time, perMinute []int64, days []DayFigures, reps []RepCapacity, workdays int) Overview {
	var o Overview
	var total int64
	for _, n := range perMinute {
		total += n
		o.PeakPerMinute = max(o.PeakPerMinute, n)
	}
	if len(perMinute) > 0 {
		o.EventsPerMinute = float64(total) / float64(len(perMinute))
	}
	week := WeekStart(now).Format(time.DateOnly)
	for _, d := range days {
		if d.Day >= week {
			o.HandoffsWeek += d.Handoffs
			o.UnroutedWeek += d.Unrouted
		}
		o.Sent += d.Emails["sent"]
		o.Deferred += d.Emails["deferred"]
		o.Failed += d.Emails["failed"]
		for _, t := range SuppressingTypes {
			o.Suppressions += d.Types[t]
		}
	}
	for _, r := range reps {
		if r.Active {
			o.CapacityWeek += r.Daily * workdays
		}
	}
	o.Load = ratio(int64(o.HandoffsWeek), int64(o.CapacityWeek))
	o.SuppressionRate = ratio(o.Suppressions, o.Sent)
	return o
}

// TopicSeries are the top topics' daily interest points.
type TopicSeries struct {
	Days   []string
	Topics []string
	// Points[k][i] is Topics[k]'s points on Days[i].
	Points [][]float64
	Totals []float64
}

// TopTopics picks the n topics with the most points over days (ties by
// name) and their daily series.
func TopTopics(days []string, perDay []map[string]float64, n int) TopicSeries {
	totals := map[string]float64{}
	for _, m := range perDay {
		for t, p := range m {
			totals[t] += p
		}
	}
	names := make([]string, 0, len(totals))
	for t := range totals {
		names = append(names, t)
	}
	sort.Slice(names, func(i, j int) bool {
		if totals[names[i]] != totals[names[j]] {
			return totals[names[i]] > totals[names[j]]
		}
		return names[i] < names[j]
	})
	names = names[:min(n, len(names))]
	ts := TopicSeries{Days: slices.Clone(days), Topics: names}
	for _, t := range names {
		s := make([]float64, len(perDay))
		for i, m := range perDay {
			s[i] = m[t]
		}
		ts.Points = append(ts.Points, s)
		ts.Totals = append(ts.Totals, totals[t])
	}
	return ts
}
