package flow

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// WaitKind is how a wait is measured.
type WaitKind uint8

// Wait kinds.
const (
	// WaitDuration: a fixed duration ("3d", "36h", "90m").
	WaitDuration WaitKind = iota + 1
	// WaitBusinessDays: a number of working days, Monday to Friday, at the
	// same time of day ("2 business days").
	WaitBusinessDays
	// WaitUntil: the next given time of day, on a given weekday or on any
	// day ("until mon 09:00", "until 09:00").
	WaitUntil
)

// Wait is how long a wait step waits. The zero Wait is not valid; build
// one with ParseWait.
type Wait struct {
	Kind WaitKind
	// Duration of a WaitDuration.
	Duration time.Duration
	// Days of a WaitBusinessDays.
	Days int
	// Weekday and Clock (minutes after midnight) of a WaitUntil; AnyDay
	// when no weekday was given.
	Weekday time.Weekday
	AnyDay  bool
	Clock   int
	// Text is the wait as written.
	Text string
}

func (w Wait) String() string { return w.Text }

// ParseWait reads a wait: a duration (Go's, plus "d" for 24 hours: "3d",
// "1d12h", "90m"), "N business day(s)", or "until [DAY] HH:MM" with DAY one
// of mon..sun. It must be positive.
func ParseWait(s string) (Wait, error) {
	text := strings.TrimSpace(s)
	low := strings.ToLower(text)
	if rest, ok := strings.CutPrefix(low, "until "); ok {
		f := strings.Fields(rest)
		w := Wait{Kind: WaitUntil, AnyDay: true, Text: text}
		if len(f) == 2 {
			d, err := parseDay(f[0])
			if err != nil {
				return Wait{}, fmt.Errorf("%q: %v", s, err)
			}
			w.Weekday, w.AnyDay = d, false
			f = f[1:]
		}
		if len(f) != 1 {
			return Wait{}, fmt.Errorf("%q is not \"until [DAY] HH:MM\" (e.g. \"until mon 09:00\")", s)
		}
		c, err := parseClock(f[0], false)
		if err != nil {
			return Wait{}, fmt.Errorf("%q: %v", s, err)
		}
		w.Clock = c
		return w, nil
	}
	if f := strings.Fields(low); len(f) == 3 && f[1] == "business" && (f[2] == "days" || f[2] == "day") {
		n, err := strconv.Atoi(f[0])
		if err != nil || n < 1 || n > 365 {
			return Wait{}, fmt.Errorf("%q: the number of business days must be a whole number from 1 to 365", s)
		}
		return Wait{Kind: WaitBusinessDays, Days: n, Text: text}, nil
	}
	d, err := ParseDuration(text)
	if err != nil {
		return Wait{}, fmt.Errorf("%q is not a wait: write a duration (3d, 36h, 90m), \"2 business days\" or \"until mon 09:00\"", s)
	}
	if d <= 0 {
		return Wait{}, fmt.Errorf("%q: a wait must be positive", s)
	}
	return Wait{Kind: WaitDuration, Duration: d, Text: text}, nil
}

// ParseDuration reads a Go duration with one more unit, "d" for 24 hours,
// in front: "30d", "1d12h", "0.5d", "90s". It is the grammar of durations
// in the configuration (config.ParseDuration), so a flow and longtail.yaml
// read "7d" alike.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("%q is not a duration (examples: 90m, 36h, 3d, 1d12h)", s)
	if s == "0" {
		return 0, nil
	}
	if i := strings.IndexByte(s, 'd'); i > 0 {
		days, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || days < 0 {
			return 0, bad
		}
		var rest time.Duration
		if s[i+1:] != "" {
			if rest, err = time.ParseDuration(s[i+1:]); err != nil {
				return 0, bad
			}
		}
		return time.Duration(days*float64(24*time.Hour)) + rest, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, bad
	}
	return d, nil
}

// Until returns when a wait that starts at from ends, for a contact in loc.
// A duration is elapsed time (3d is 72 hours, whatever the clocks do). A
// business day is a calendar day Monday to Friday: the wait ends on the
// Nth such day after from, at from's time of day on the wall clock (from
// Friday 15:00, 2 business days is Tuesday 15:00; from Saturday, Tuesday).
// "until" is the first such wall-clock time strictly after from. Both keep
// the wall clock across daylight-saving changes; a time that does not
// exist that day (02:30 when clocks skip 02:00–03:00) is the instant Go
// maps it to, 03:30.
func (w Wait) Until(from time.Time, loc *time.Location) time.Time {
	switch w.Kind {
	case WaitDuration:
		return from.Add(w.Duration)
	case WaitBusinessDays:
		t := from.In(loc)
		y, m, d := t.Date()
		for i, n := 1, 0; ; i++ {
			day := time.Date(y, m, d+i, 12, 0, 0, 0, loc)
			if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
				continue
			}
			if n++; n == w.Days {
				dy, dm, dd := day.Date()
				return time.Date(dy, dm, dd, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
			}
		}
	case WaitUntil:
		t := from.In(loc)
		y, m, d := t.Date()
		for i := range 9 {
			day := time.Date(y, m, d+i, 12, 0, 0, 0, loc)
			if !w.AnyDay && day.Weekday() != w.Weekday {
				continue
			}
			dy, dm, dd := day.Date()
			if at := time.Date(dy, dm, dd, 0, w.Clock, 0, 0, loc); at.After(from) {
				return at
			}
			if wall := t.Hour()*60 + t.Minute(); i == 0 && wall < w.Clock {
				// A repeated hour (clocks went back) and from is in its
				// second pass: the wall clock reaches Clock again later.
				return from.Add(time.Duration(w.Clock-wall)*time.Minute - time.Duration(t.Second())*time.Second - time.Duration(t.Nanosecond()))
			}
		}
	}
	// Only the zero Wait gets here: no wait at all.
	return from
}
