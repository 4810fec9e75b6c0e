// Package opsview computes what the ops pages show, from figures the
// stores read: the overview's rates, the score histogram, the RFM map,
// flow funnels, topic series, and the geometry of every chart (bars,
// lines, cells in SVG user units). It does no I/O and knows no HTTP;
// package ui renders what it returns, so the marks a page draws are the
// ones tested here.
package opsview

import (
	"math"
	"strconv"
)

// Frame is a chart's drawing area, in SVG user units: the plot sits at
// (Left, Top), PlotW wide and PlotH high, inside Width × Height.
type Frame struct {
	Width, Height int
	Left, Top     int
	PlotW, PlotH  int
}

// Bottom is the y of the plot's baseline.
func (f Frame) Bottom() int { return f.Top + f.PlotH }

// Right is the x of the plot's right edge.
func (f Frame) Right() int { return f.Left + f.PlotW }

// DefaultFrame is the frame of a full-width chart.
var DefaultFrame = Frame{Width: 720, Height: 260, Left: 56, Top: 12, PlotW: 648, PlotH: 200}

// Bar is one bar of a BarChart: its rectangle and what it stands for.
type Bar struct {
	X, Y, W, H int
	Label      string
	Value      float64
	// Text is Value as the page writes it.
	Text string
}

// Tick is an axis mark: its position along the axis and its label.
type Tick struct {
	Pos   int
	Label string
}

// BarChart is a vertical bar chart.
type BarChart struct {
	Frame
	Bars []Bar
	// YTicks mark the value axis; XTicks label some bars (every bar when
	// there are few).
	YTicks []Tick
	XTicks []Tick
	Max    float64
}

// Bars lays out one bar per value, labels[i] under values[i], on a value
// axis from 0 to a round number at or above the largest value. A bar of
// a positive value is at least 1 unit high, so it never vanishes.
func Bars(f Frame, labels []string, values []float64, format func(float64) string) BarChart {
	c := BarChart{Frame: f}
	if format == nil {
		format = Count
	}
	hi := 0.0
	for _, v := range values {
		hi = math.Max(hi, v)
	}
	c.Max = NiceCeil(hi)
	n := len(values)
	if n == 0 {
		return c
	}
	slot := float64(f.PlotW) / float64(n)
	gap := math.Max(1, math.Floor(slot*0.15))
	every := max(1, (n+11)/12)
	for i, v := range values {
		h := int(math.Round(v / c.Max * float64(f.PlotH)))
		if v > 0 && h < 1 {
			h = 1
		}
		x0 := f.Left + int(math.Round(float64(i)*slot+gap/2))
		x1 := f.Left + int(math.Round(float64(i+1)*slot-gap/2))
		b := Bar{X: x0, Y: f.Bottom() - h, W: max(1, x1-x0), H: h, Value: v, Text: format(v)}
		if i < len(labels) {
			b.Label = labels[i]
		}
		c.Bars = append(c.Bars, b)
		if i%every == 0 {
			// About 7 units a character at the tick's font size.
			c.XTicks = append(c.XTicks, Tick{Pos: x0 + b.W/2, Label: short(b.Label, max(4, int(slot*float64(every)/7)))})
		}
	}
	c.YTicks = valueTicks(c.Max, func(v float64) int { return f.Bottom() - int(math.Round(v/c.Max*float64(f.PlotH))) }, format)
	return c
}

// valueTicks marks a value axis from 0 to max (a NiceCeil) in round
// steps: fifths of 1, 2.5 and 5 × 10ⁿ, quarters of 2 × 10ⁿ.
func valueTicks(max float64, pos func(float64) int, format func(float64) string) []Tick {
	steps := 5
	if m := max / math.Pow(10, math.Floor(math.Log10(max))); math.Abs(m-2) < 1e-9 {
		steps = 4
	}
	out := make([]Tick, 0, steps+1)
	for i := 0; i <= steps; i++ {
		v := max * float64(i) / float64(steps)
		out = append(out, Tick{Pos: pos(v), Label: format(v)})
	}
	return out
}

// short cuts a tick label to n runes: the table has the whole of it.
func short(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// NiceCeil is the smallest of 1, 2, 2.5, 5 × 10ⁿ at or above v (1 for v
// at or below 0): a value axis that ends on a round number.
func NiceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v*(1-1e-12) {
			return m * p
		}
	}
	return 10 * p
}

// Count is English.Count: a chart's default format.
func Count(v float64) string { return English.Count(v) }

// Line is one series of a LineChart.
type Line struct {
	Name string
	// Class picks the series' colour (series-0 … series-5).
	Class string
	// Points is the polyline's points attribute.
	Points string
	// Values are the series' values, one per X label.
	Values []float64
}

// LineChart is one or more series over the same labels.
type LineChart struct {
	Frame
	Lines  []Line
	XTicks []Tick
	YTicks []Tick
	Max    float64
}

// Lines lays out series (each one value per label) on a shared value
// axis from 0 to a round number.
func Lines(f Frame, labels []string, names []string, series [][]float64, format func(float64) string) LineChart {
	c := LineChart{Frame: f}
	if format == nil {
		format = Count
	}
	hi := 0.0
	for _, s := range series {
		for _, v := range s {
			hi = math.Max(hi, v)
		}
	}
	c.Max = NiceCeil(hi)
	n := len(labels)
	x := func(i int) int {
		if n <= 1 {
			return f.Left + f.PlotW/2
		}
		return f.Left + int(math.Round(float64(i)*float64(f.PlotW)/float64(n-1)))
	}
	y := func(v float64) int { return f.Bottom() - int(math.Round(v/c.Max*float64(f.PlotH))) }
	every := max(1, (n+9)/10)
	for i, l := range labels {
		if i%every == 0 || i == n-1 {
			c.XTicks = append(c.XTicks, Tick{Pos: x(i), Label: l})
		}
	}
	c.YTicks = valueTicks(c.Max, y, format)
	for k, s := range series {
		pts := make([]byte, 0, 8*len(s))
		for i, v := range s {
			if i > 0 {
				pts = append(pts, ' ')
			}
			pts = strconv.AppendInt(pts, int64(x(i)), 10)
			pts = append(pts, ',')
			pts = strconv.AppendInt(pts, int64(y(v)), 10)
		}
		name := ""
		if k < len(names) {
			name = names[k]
		}
		c.Lines = append(c.Lines, Line{Name: name, Class: "series-" + strconv.Itoa(k%6), Points: string(pts), Values: s})
	}
	return c
}
