package flow

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Cap is a frequency cap: at most Count nurture emails to one contact in
// any span of Per, across all flows. A Count of zero or less caps nothing.
type Cap struct {
	Count int           `yaml:"count"`
	Per   time.Duration `yaml:"per"`
}

// NextAllowed returns the first moment at or after now when one more email
// keeps the contact within the cap, given when its earlier emails were sent
// (any order; only those in the last Per matter). With Count sends or more
// in (now−Per, now], it is when the oldest one that must drop out leaves
// the span. A capped send is deferred to that moment, never dropped.
func (c Cap) NextAllowed(now time.Time, sent []time.Time) time.Time {
	if c.Count <= 0 {
		return now
	}
	var recent []time.Time
	for _, s := range sent {
		if s.After(now.Add(-c.Per)) {
			recent = append(recent, s)
		}
	}
	if len(recent) < c.Count {
		return now
	}
	slices.SortFunc(recent, time.Time.Compare)
	// Keep at most Count−1 sends in the span ending at the answer: the
	// (len−Count+1)th oldest must be Per behind it, on the open edge.
	t := recent[len(recent)-c.Count].Add(c.Per)
	if t.Before(now) {
		return now
	}
	return t
}

// NextSend is the first moment at or after now when a send may go to a
// contact in loc: within the cap given its earlier sends, and inside the
// window. The cap only ever loosens as time passes (no send is added), so
// the window's next opening after the cap's answer satisfies both.
func NextSend(now time.Time, w Window, loc *time.Location, c Cap, sent []time.Time) time.Time {
	return w.NextAllowed(c.NextAllowed(now, sent), loc)
}

// Zones resolves a contact's time zone: the contact's own, else its
// partner's, else the configured fallback (nurture.timezone). Names are
// loaded once and remembered, since time.LoadLocation reads the zone
// database on every call. Safe for concurrent use.
type Zones struct {
	fallback *time.Location
	cache    sync.Map // name → *time.Location, or nil for an unknown name
}

// NewZones uses fallback when no name given resolves; nil means UTC.
func NewZones(fallback *time.Location) *Zones {
	if fallback == nil {
		fallback = time.UTC
	}
	return &Zones{fallback: fallback}
}

// For returns the zone of the first name that is a known IANA zone, else
// the fallback. Empty names, "Local" (the server's zone, which differs
// between machines) and unknown names are skipped.
func (z *Zones) For(names ...string) *time.Location {
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" || n == "Local" {
			continue
		}
		if v, ok := z.cache.Load(n); ok {
			if loc := v.(*time.Location); loc != nil {
				return loc
			}
			continue
		}
		loc, err := time.LoadLocation(n)
		if err != nil {
			loc = nil
		}
		z.cache.Store(n, loc)
		if loc != nil {
			return loc
		}
	}
	return z.fallback
}
