package event

import (
	"fmt"
	"strings"
	"time"
)

// DefaultMaxFutureSkew is how far past the receiver's clock an event may
// be dated when the caller sets no skew: a day covers time zones written
// as UTC and clocks that drift, not a date typed in the wrong year.
const DefaultMaxFutureSkew = 24 * time.Hour

// PlausibleSince is the earliest occurred_at taken at face value. Older
// events are accepted (an import of history is legitimate) but flagged:
// they decay to nothing at once, and a date before 2000 is more often a
// zero Unix time or a two-digit year than a real engagement.
var PlausibleSince = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Flags that CheckTime puts on an accepted event.
const (
	// FlagBefore2000: occurred_at is before PlausibleSince.
	FlagBefore2000 = "before_2000"
)

// CheckTime judges occurred_at against now, the receiver's clock: an
// event dated more than maxFutureSkew ahead is refused (an error wrapping
// ErrInvalid that names the field, the date and the limit), one dated
// before PlausibleSince is accepted with FlagBefore2000 and a warning a
// person can act on. maxFutureSkew ≤ 0 means DefaultMaxFutureSkew. Every
// edge that takes events (the events API, provider webhooks) calls it with
// its own clock, after Validate.
func (e *Event) CheckTime(now time.Time, maxFutureSkew time.Duration) (flag, warning string, err error) {
	if maxFutureSkew <= 0 {
		maxFutureSkew = DefaultMaxFutureSkew
	}
	at := e.OccurredAt
	if ahead := at.Sub(now); ahead > maxFutureSkew {
		return "", "", fmt.Errorf("%w: occurred_at: %s is %s in the future, beyond the %s allowed (ingest.max_future_skew): check the source's clock, time zone or year",
			ErrInvalid, at.UTC().Format(time.RFC3339), roughly(ahead), roughly(maxFutureSkew))
	}
	if at.Before(PlausibleSince) {
		return FlagBefore2000, fmt.Sprintf("occurred_at: %s is before 2000: accepted, but it scores almost nothing after decay; check for a zero timestamp or a two-digit year",
			at.UTC().Format(time.RFC3339)), nil
	}
	return "", "", nil
}

// roughly says a duration in days from two days up, else in hours or less.
func roughly(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
	s := d.Round(time.Second).String()
	if d >= time.Hour {
		s = d.Round(time.Minute).String()
	}
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	if s == "" {
		s = "0s"
	}
	return s
}
