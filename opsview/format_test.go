package opsview

import (
	"math"
	"testing"
	"time"
)

func TestLocaleNumbers(t *testing.T) {
	t.Parallel()
	const n = "\u202f" // narrow no-break space
	for _, tc := range []struct {
		name   string
		got    func(Locale) string
		en, fr string
	}{
		{"zero", func(l Locale) string { return l.Int(0) }, "0", "0"},
		{"hundreds", func(l Locale) string { return l.Int(999) }, "999", "999"},
		{"thousands", func(l Locale) string { return l.Int(12000) }, "12,000", "12" + n + "000"},
		{"a thousand", func(l Locale) string { return l.Int(1000) }, "1,000", "1" + n + "000"},
		{"millions", func(l Locale) string { return l.Int(1234567) }, "1,234,567", "1" + n + "234" + n + "567"},
		{"negative thousands", func(l Locale) string { return l.Int(-45000) }, "-45,000", "-45" + n + "000"},
		{"fixed", func(l Locale) string { return l.Fixed(1234.56, 1) }, "1,234.6", "1" + n + "234,6"},
		{"fixed rounding to a thousand", func(l Locale) string { return l.Fixed(999.96, 1) }, "1,000.0", "1" + n + "000,0"},
		{"no negative zero", func(l Locale) string { return l.Fixed(-0.04, 1) }, "0.0", "0,0"},
		{"not a number", func(l Locale) string { return l.Fixed(math.NaN(), 1) }, "—", "—"},
		{"count whole", func(l Locale) string { return l.Count(2500) }, "2,500", "2" + n + "500"},
		{"count decimal", func(l Locale) string { return l.Count(2.5) }, "2.5", "2,5"},
		{"percent", func(l Locale) string { return l.Percent(0.05, 1) }, "5.0%", "5,0" + n + "%"},
		{"percent whole", func(l Locale) string { return l.Percent(0.25, 0) }, "25%", "25" + n + "%"},
		{"percent over a thousand", func(l Locale) string { return l.Percent(12.5, 0) }, "1,250%", "1" + n + "250" + n + "%"},
		{"rate", func(l Locale) string { return l.Rate(1.0 / 3) }, "33.3%", "33,3" + n + "%"},
		{"rate without base", func(l Locale) string { return l.Rate(-1) }, "—", "—"},
		{"rate zero", func(l Locale) string { return l.Rate(0) }, "0.0%", "0,0" + n + "%"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.got(English); got != tc.en {
				t.Errorf("English %q, want %q", got, tc.en)
			}
			if got := tc.got(French); got != tc.fr {
				t.Errorf("French %q, want %q", got, tc.fr)
			}
		})
	}
}

func TestLocaleDates(t *testing.T) {
	t.Parallel()
	paris := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		name   string
		got    func(Locale) string
		en, fr string
	}{
		{"date", func(l Locale) string { return l.Date(time.Date(2026, 11, 8, 9, 5, 0, 0, time.UTC)) }, "2026-11-08", "08/11/2026"},
		{"date time in UTC", func(l Locale) string { return l.DateTime(time.Date(2026, 11, 8, 0, 30, 0, 0, paris)) }, "2026-11-07 23:30", "07/11/2026 23:30"},
		{"zero", func(l Locale) string { return l.DateTime(time.Time{}) }, "—", "—"},
		{"day", func(l Locale) string { return l.Day("2026-11-08") }, "11-08", "08/11"},
		{"not a day", func(l Locale) string { return l.Day("2026-W45") }, "2026-W45", "2026-W45"},
		{"ISO date", func(l Locale) string { return l.ISODate("2025-01-15") }, "2025-01-15", "15/01/2025"},
		{"not an ISO date", func(l Locale) string { return l.ISODate("soon") }, "soon", "soon"},
		{"clock", func(l Locale) string { return l.Clock(time.Date(2026, 11, 8, 0, 30, 0, 0, paris)) }, "23:30", "23:30"},
		{"quarter", func(l Locale) string { return l.Quarter(2026, 3) }, "2026-Q3", "T3 2026"},
		{"long date", func(l Locale) string { return l.LongDate(time.Date(2026, 2, 14, 12, 0, 0, 0, time.UTC)) }, "14 February 2026", "14 février 2026"},
		{"the first", func(l Locale) string { return l.LongDate(time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)) }, "1 August 2026", "1er août 2026"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.got(English); got != tc.en {
				t.Errorf("English %q, want %q", got, tc.en)
			}
			if got := tc.got(French); got != tc.fr {
				t.Errorf("French %q, want %q", got, tc.fr)
			}
		})
	}
}

func TestLocaleOf(t *testing.T) {
	t.Parallel()
	for lang, want := range map[string]Locale{"fr": French, "en": English, "": English, "de": English} {
		if got := LocaleOf(lang); got != want {
			t.Errorf("LocaleOf(%q) = %v, want %v", lang, got, want)
		}
	}
}

// A chart drawn in French writes its bars' values and its ticks in
// French, through the format it is given.
func TestBarsInFrench(t *testing.T) {
	t.Parallel()
	c := Bars(DefaultFrame, []string{"a", "b"}, []float64{12000, 2.5}, French.Count)
	if got := c.Bars[0].Text; got != "12\u202f000" {
		t.Errorf("bar text %q", got)
	}
	if got := c.Bars[1].Text; got != "2,5" {
		t.Errorf("bar text %q", got)
	}
	if got := c.YTicks[len(c.YTicks)-1].Label; got != "20\u202f000" {
		t.Errorf("top tick %q, want 20 000", got)
	}
}
