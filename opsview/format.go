package opsview

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Locale writes the ops pages' figures (counts, decimals, percentages,
// dates) the way one language reads them. It is the one place the pages'
// number and date formats live: a table cell, a chart's tick, a bar's
// SVG title and a sentence's figure all come through it, so the same
// value reads the same everywhere on a page.
//
// English: "12,000", "5.0%", "2026-11-18 10:00". French: "12 000" and
// "5,0 %" with a narrow no-break space (U+202F) as thousands separator
// and before the percent sign, "18/11/2026 10:00", "18 novembre 2026".
type Locale struct {
	lang    string
	decimal string
	group   string
	// pct goes between a number and its percent sign.
	pct string
}

// nnbsp is the narrow no-break space French puts between thousands and
// before %: a figure never breaks across lines.
const nnbsp = "\u202f"

// English and French are the locales the ops pages have.
var (
	English = Locale{lang: "en", decimal: ".", group: ","}
	French  = Locale{lang: "fr", decimal: ",", group: nnbsp, pct: nnbsp}
)

// LocaleOf is the locale of a language code; English for any other.
func LocaleOf(lang string) Locale {
	if lang == "fr" {
		return French
	}
	return English
}

// Lang is the locale's language code.
func (l Locale) Lang() string { return l.lang }

// Fixed writes v with exactly decimals decimals, thousands grouped.
func (l Locale) Fixed(v float64, decimals int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	s := strconv.FormatFloat(v, 'f', max(decimals, 0), 64)
	if s == "-0" || strings.HasPrefix(s, "-0.") && strings.Trim(s[3:], "0") == "" {
		s = s[1:] // a rounded tiny negative is no figure to sign
	}
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	b.WriteString(sign)
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(l.group)
		}
		b.WriteRune(d)
	}
	if frac != "" {
		b.WriteString(l.decimal)
		b.WriteString(frac)
	}
	return b.String()
}

// Int writes a count.
func (l Locale) Int(n int64) string { return l.Fixed(float64(n), 0) }

// Count writes a whole number without decimals and any other value with
// one: a chart's values and ticks.
func (l Locale) Count(v float64) string {
	if v == math.Trunc(v) {
		return l.Fixed(v, 0)
	}
	return l.Fixed(v, 1)
}

// Percent writes a ratio (0.05) as a percentage with decimals decimals:
// "5.0%", "5,0 %".
func (l Locale) Percent(ratio float64, decimals int) string {
	return l.Fixed(100*ratio, decimals) + l.pct + "%"
}

// Rate writes a ratio as a percentage with one decimal, or a dash when
// it is negative: the views' -1 for a rate with no base (nothing sent),
// which is no 0%.
func (l Locale) Rate(ratio float64) string {
	if ratio < 0 {
		return "—"
	}
	return l.Percent(ratio, 1)
}

// Date writes t's UTC day: "2026-11-18", "18/11/2026". The zero time is
// a dash.
func (l Locale) Date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	if l.lang == "fr" {
		return t.UTC().Format("02/01/2006")
	}
	return t.UTC().Format(time.DateOnly)
}

// DateTime writes t in UTC to the minute: "2026-11-18 10:00",
// "18/11/2026 10:00". The zero time is a dash.
func (l Locale) DateTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return l.Date(t) + " " + t.UTC().Format("15:04")
}

// Day writes a day given as "2006-01-02" briefly, for a chart's axis:
// "11-18", "18/11". Anything else is written as it is.
func (l Locale) Day(iso string) string {
	t, err := time.Parse(time.DateOnly, iso)
	if err != nil {
		return iso
	}
	if l.lang == "fr" {
		return t.Format("02/01")
	}
	return t.Format("01-02")
}

// ISODate writes a day given as "2006-01-02" (a partner's joined_at) as
// Date does; anything else as it is.
func (l Locale) ISODate(iso string) string {
	t, err := time.Parse(time.DateOnly, iso)
	if err != nil {
		return iso
	}
	return l.Date(t)
}

// Clock writes t's UTC time of day to the minute, "15:04" in both
// languages (French writes 24-hour times with a colon on screens).
func (l Locale) Clock(t time.Time) string { return t.UTC().Format("15:04") }

// Quarter writes a calendar quarter: "2026-Q3" (as the API and CSV
// name it), "T3 2026" (trimestre).
func (l Locale) Quarter(year, q int) string {
	if l.lang == "fr" {
		return "T" + strconv.Itoa(q) + " " + strconv.Itoa(year)
	}
	return strconv.Itoa(year) + "-Q" + strconv.Itoa(q)
}

var frMonths = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
	"septembre", "octobre", "novembre", "décembre"}

// LongDate writes t's UTC day in words: "2 December 2026",
// "2 décembre 2026" ("1er décembre 2026" on the first).
func (l Locale) LongDate(t time.Time) string {
	t = t.UTC()
	if l.lang != "fr" {
		return t.Format("2 January 2006")
	}
	day := strconv.Itoa(t.Day())
	if t.Day() == 1 {
		day = "1er"
	}
	return day + " " + frMonths[t.Month()-1] + " " + strconv.Itoa(t.Year())
}
