package repqueue

import (
	"strings"
	"time"
)

// businessHours counts durations in working time: only the minutes between
// start and end on working days, in a time zone.
type businessHours struct {
	start, end int // minutes since local midnight
	days       [7]bool
	loc        *time.Location
}

// newBusinessHours builds the calendar of a defaulted, valid BusinessHours.
func newBusinessHours(bh BusinessHours) (businessHours, error) {
	b := businessHours{}
	var err error
	if b.start, err = parseClock(bh.Start, "09:00"); err != nil {
		return b, err
	}
	if b.end, err = parseClock(bh.End, "17:00"); err != nil {
		return b, err
	}
	for _, d := range bh.Days {
		b.days[weekdays[strings.ToLower(strings.TrimSpace(d))]] = true
	}
	b.loc, err = loadZone(bh.Timezone)
	return b, err
}

// in returns the same hours in another zone.
func (b businessHours) in(loc *time.Location) businessHours {
	b.loc = loc
	return b
}

// maxBusinessDays bounds the walk: no SLA spans more than ten years.
const maxBusinessDays = 3660

// add returns the instant d of business time after t. Time outside the
// hours does not count: from Friday 16:00, 24h with 09:00–17:00 Monday to
// Friday ends on Wednesday 16:00. Days are built with time.Date in the
// zone, so a day that changes clocks counts its real working minutes.
func (b businessHours) add(t time.Time, d time.Duration) time.Time {
	t = t.In(b.loc)
	for range maxBusinessDays {
		y, m, day := t.Date()
		open := time.Date(y, m, day, 0, b.start, 0, 0, b.loc)
		closeAt := time.Date(y, m, day, 0, b.end, 0, 0, b.loc)
		next := time.Date(y, m, day+1, 0, 0, 0, 0, b.loc)
		if !b.days[t.Weekday()] || !t.Before(closeAt) {
			t = next
			continue
		}
		if t.Before(open) {
			t = open
		}
		left := closeAt.Sub(t)
		if d <= left {
			return t.Add(d)
		}
		d -= left
		t = next
	}
	return t
}
