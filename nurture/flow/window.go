package flow

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Window is when email may go out: on Days, from Start to End (minutes
// after local midnight, End exclusive and at most 24:00), in the contact's
// time zone. Always means at any moment.
type Window struct {
	Always     bool
	Days       [7]bool // indexed by time.Weekday
	Start, End int
}

// WindowSpec is a window as written in a flow file or in nurture.window:
// days "mon".."sun" and hours "HH:MM-HH:MM".
type WindowSpec struct {
	// Days the window is open, "mon".."sun", each once.
	Days []string `yaml:"days"`
	// Hours it is open on those days, "HH:MM-HH:MM", start before end;
	// the end may be "24:00".
	Hours string `yaml:"hours"`
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// DayNames are the day names windows and waits accept, Monday first.
var DayNames = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

func parseDay(s string) (time.Weekday, error) {
	d, ok := dayNames[strings.ToLower(strings.TrimSpace(s))]
	if !ok {
		return 0, fmt.Errorf("%q is not a day (mon, tue, wed, thu, fri, sat, sun)", s)
	}
	return d, nil
}

// Window parses the spec. Each error names the part at fault ("days[2]",
// "hours") so callers can point at it.
func (s WindowSpec) Window() (Window, error) {
	var w Window
	var errs []error
	if len(s.Days) == 0 {
		errs = append(errs, &PartError{Part: "days", Msg: "at least one day is required (mon..sun)"})
	}
	for i, name := range s.Days {
		d, err := parseDay(name)
		switch {
		case err != nil:
			errs = append(errs, &PartError{Part: fmt.Sprintf("days[%d]", i), Msg: err.Error()})
		case w.Days[d]:
			errs = append(errs, &PartError{Part: fmt.Sprintf("days[%d]", i), Msg: fmt.Sprintf("%q is listed twice", name)})
		default:
			w.Days[d] = true
		}
	}
	var err error
	if w.Start, w.End, err = ParseHours(s.Hours); err != nil {
		errs = append(errs, &PartError{Part: "hours", Msg: err.Error()})
	}
	return w, errors.Join(errs...)
}

// PartError is a problem with one part of a value: Part is its path
// inside the value ("days[2]", "hours").
type PartError struct{ Part, Msg string }

func (e *PartError) Error() string { return e.Part + ": " + e.Msg }

// ParseHours reads "HH:MM-HH:MM" into minutes after midnight. The start
// must be before the end: a window does not run past midnight (write two
// days' worth of hours as one range on each day instead).
func ParseHours(s string) (start, end int, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not hours such as \"09:00-17:30\"", s)
	}
	if start, err = parseClock(a, false); err != nil {
		return 0, 0, fmt.Errorf("%q: %v", s, err)
	}
	if end, err = parseClock(b, true); err != nil {
		return 0, 0, fmt.Errorf("%q: %v", s, err)
	}
	if start >= end {
		return 0, 0, fmt.Errorf("%q: the start must be before the end (a window cannot run past midnight)", s)
	}
	return start, end, nil
}

// parseClock reads "HH:MM" (24-hour) into minutes after midnight; "24:00"
// only when allowEnd, as the end of a day.
func parseClock(s string, allowEnd bool) (int, error) {
	s = strings.TrimSpace(s)
	hh, mm, ok := strings.Cut(s, ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || len(hh) != 2 || len(mm) != 2 || err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && (m != 0 || !allowEnd)) {
		return 0, fmt.Errorf("%q is not a time of day HH:MM (00:00 to 23:59, or 24:00 as an end)", s)
	}
	return h*60 + m, nil
}

func fmtClock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// String is the window as a flow file writes it.
func (w Window) String() string {
	if w.Always {
		return "always"
	}
	var days []string
	for _, name := range DayNames {
		if w.Days[dayNames[name]] {
			days = append(days, name)
		}
	}
	return fmt.Sprintf("{days: [%s], hours: \"%s-%s\"}", strings.Join(days, ", "), fmtClock(w.Start), fmtClock(w.End))
}

// Contains reports whether t is inside the window, read on the wall clock
// of loc: the weekday and the time of day there.
func (w Window) Contains(t time.Time, loc *time.Location) bool {
	if w.Always {
		return true
	}
	t = t.In(loc)
	m := t.Hour()*60 + t.Minute()
	return w.Days[t.Weekday()] && m >= w.Start && m < w.End
}

// NextAllowed returns the first moment at or after now inside the window in
// loc: now itself when it is inside, else the next opening. Openings are
// built from the wall clock with time.Date, so the answer stays right
// across daylight-saving changes: "09:00" is 09:00 on the day's own offset.
// An opening that falls in a skipped hour (02:30 on a spring-forward night)
// comes at the instant Go maps that wall time to, which is the same
// distance past the transition; on a day that repeats an hour, the window
// opens at the later occurrence when now is between the two.
func (w Window) NextAllowed(now time.Time, loc *time.Location) time.Time {
	if w.Always || w.Contains(now, loc) {
		return now
	}
	t := now.In(loc)
	y, mo, d := t.Date()
	for i := range 8 {
		day := time.Date(y, mo, d+i, 12, 0, 0, 0, loc) // noon: never in a transition
		if !w.Days[day.Weekday()] {
			continue
		}
		dy, dm, dd := day.Date()
		open := time.Date(dy, dm, dd, 0, w.Start, 0, 0, loc)
		if open.After(now) {
			return open
		}
		if i == 0 {
			if wall := t.Hour()*60 + t.Minute(); wall < w.Start {
				// The wall clock has yet to reach the opening today, but
				// time.Date gave an instant already past: the hour repeats
				// (clocks went back) and now is in its second pass. The
				// window opens when the wall clock gets there again.
				lead := time.Duration(w.Start-wall)*time.Minute - time.Duration(t.Second())*time.Second - time.Duration(t.Nanosecond())
				return now.Add(lead)
			}
		}
	}
	// Unreachable for a window with a day (every week has the day); an
	// empty window can never open, so say "now" rather than loop.
	return now
}
