package repqueue

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Routing steps, in Config.Routing.
const (
	RouteOwner      = "owner"
	RouteTerritory  = "territory"
	RouteRoundRobin = "round_robin"
)

// Config is the handoff section of the configuration (keys under
// handoff.). The zero value is valid and means the documented defaults.
type Config struct {
	// ClaimSLA is how much business time a rep has to claim an entry
	// before the SLA sweep reassigns it (counted in BusinessHours, in the
	// rep's time zone). If zero, 24h: three 8-hour business days.
	ClaimSLA time.Duration `yaml:"claim_sla"`

	// BusinessHours are the hours SLAs run in.
	BusinessHours BusinessHours `yaml:"business_hours"`

	// Routing is the order in which routing steps are tried; each step is
	// one of "owner", "territory", "round_robin", at most once.
	// If empty, ["owner", "territory", "round_robin"].
	Routing []string `yaml:"routing"`

	// Territories map partners to pools of reps. The first territory
	// whose every non-empty criterion matches the partner is its pool.
	Territories []Territory `yaml:"territories"`

	// NoAnswerRetries is how many times a no_answer puts the entry back in
	// the rep's queue; the no_answer after that closes it and recycles the
	// partner. If zero, 3.
	NoAnswerRetries int `yaml:"no_answer_retries"`

	// NoAnswerRetryAfter is the business time after a no_answer at which
	// the entry is back in the queue. If zero, 8h: one business day.
	NoAnswerRetryAfter time.Duration `yaml:"no_answer_retry_after"`

	// NotNowCooldown is how long (wall-clock) nurture stays paused after a
	// not_now outcome. If zero, 720h (30 days).
	NotNowCooldown time.Duration `yaml:"not_now_cooldown"`

	// EscalateAfterBreaches: the breach that brings an entry's breaches to
	// this number escalates it to the breaching rep's manager instead of
	// reassigning it. If zero, 2.
	EscalateAfterBreaches int `yaml:"escalate_after_breaches"`

	// ReasonsMax is how many reasons an entry carries per locale.
	// If zero, 3.
	ReasonsMax int `yaml:"reasons_max"`
}

// BusinessHours are the working hours SLAs are counted in.
type BusinessHours struct {
	// Start and End of the working day, "HH:MM", Start before End.
	// If empty, "09:00" and "17:00".
	Start string `yaml:"start"`
	End   string `yaml:"end"`
	// Days are the working days, "mon".."sun". If empty, mon to fri.
	Days []string `yaml:"days"`
	// Timezone (IANA) of the hours. A rep's own zone, Rep.Attrs["timezone"],
	// wins for that rep's entries. If empty, "UTC".
	Timezone string `yaml:"timezone"`
}

// Territory routes partners matching it to a pool of reps. An empty
// criterion matches every partner; values match case-insensitively.
type Territory struct {
	Name         string   `yaml:"name"`
	Regions      []string `yaml:"regions"`
	Countries    []string `yaml:"countries"`
	PartnerTypes []string `yaml:"partner_types"`
	// Reps is the pool, by rep id; at least one.
	Reps []string `yaml:"reps"`
}

// Defaults of the zero Config.
const (
	DefaultClaimSLA              = 24 * time.Hour
	DefaultNoAnswerRetries       = 3
	DefaultNoAnswerRetryAfter    = 8 * time.Hour
	DefaultNotNowCooldown        = 30 * 24 * time.Hour
	DefaultEscalateAfterBreaches = 2
	DefaultReasonsMax            = 3
)

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Validate checks the configuration and names the first offending key.
func (c Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("handoff.%s: %s", key, fmt.Sprintf(format, args...))
	}
	if c.ClaimSLA < 0 {
		return bad("claim_sla", "must not be negative, got %s", c.ClaimSLA)
	}
	if c.NoAnswerRetries < 0 || c.NoAnswerRetries > 20 {
		return bad("no_answer_retries", "must be in 0..20, got %d", c.NoAnswerRetries)
	}
	if c.NoAnswerRetryAfter < 0 {
		return bad("no_answer_retry_after", "must not be negative, got %s", c.NoAnswerRetryAfter)
	}
	if c.NotNowCooldown < 0 {
		return bad("not_now_cooldown", "must not be negative, got %s", c.NotNowCooldown)
	}
	if c.EscalateAfterBreaches < 0 || c.EscalateAfterBreaches > 100 {
		return bad("escalate_after_breaches", "must be in 0..100, got %d", c.EscalateAfterBreaches)
	}
	if c.ReasonsMax < 0 || c.ReasonsMax > 20 {
		return bad("reasons_max", "must be in 0..20, got %d", c.ReasonsMax)
	}
	bh := c.BusinessHours
	start, err := parseClock(bh.Start, "09:00")
	if err != nil {
		return bad("business_hours.start", "%v", err)
	}
	end, err := parseClock(bh.End, "17:00")
	if err != nil {
		return bad("business_hours.end", "%v", err)
	}
	if start >= end {
		return bad("business_hours", "start %s must be before end %s", fmtClock(start), fmtClock(end))
	}
	seen := map[string]bool{}
	for i, d := range bh.Days {
		k := strings.ToLower(strings.TrimSpace(d))
		if _, ok := weekdays[k]; !ok {
			return bad(fmt.Sprintf("business_hours.days[%d]", i), "%q is not one of mon, tue, wed, thu, fri, sat, sun", d)
		}
		if seen[k] {
			return bad(fmt.Sprintf("business_hours.days[%d]", i), "%q is listed twice", d)
		}
		seen[k] = true
	}
	if bh.Timezone != "" {
		if _, err := loadZone(bh.Timezone); err != nil {
			return bad("business_hours.timezone", "%v", err)
		}
	}
	steps := map[string]bool{}
	for i, s := range c.Routing {
		switch s {
		case RouteOwner, RouteTerritory, RouteRoundRobin:
		default:
			return bad(fmt.Sprintf("routing[%d]", i), "%q is not one of owner, territory, round_robin", s)
		}
		if steps[s] {
			return bad(fmt.Sprintf("routing[%d]", i), "%q is listed twice", s)
		}
		steps[s] = true
	}
	for i, t := range c.Territories {
		key := fmt.Sprintf("territories[%d]", i)
		if strings.TrimSpace(t.Name) == "" {
			return bad(key+".name", "required")
		}
		if len(t.Reps) == 0 {
			return bad(key+".reps", "territory %q needs at least one rep", t.Name)
		}
		for j, r := range t.Reps {
			if strings.TrimSpace(r) == "" || strings.ContainsAny(r, "{}: ") {
				return bad(fmt.Sprintf("%s.reps[%d]", key, j), "%q is not a rep id", r)
			}
		}
	}
	return nil
}

// WithDefaults returns c with the documented defaults filled in: what the
// queue runs on. The config loader applies it once so the configuration it
// logs is the one that runs; applying it again changes nothing. c must be
// valid.
func (c Config) WithDefaults() Config { return c.withDefaults() }

// withDefaults fills in the documented defaults; c must be valid.
func (c Config) withDefaults() Config {
	if c.ClaimSLA == 0 {
		c.ClaimSLA = DefaultClaimSLA
	}
	if len(c.Routing) == 0 {
		c.Routing = []string{RouteOwner, RouteTerritory, RouteRoundRobin}
	}
	if c.NoAnswerRetries == 0 {
		c.NoAnswerRetries = DefaultNoAnswerRetries
	}
	if c.NoAnswerRetryAfter == 0 {
		c.NoAnswerRetryAfter = DefaultNoAnswerRetryAfter
	}
	if c.NotNowCooldown == 0 {
		c.NotNowCooldown = DefaultNotNowCooldown
	}
	if c.EscalateAfterBreaches == 0 {
		c.EscalateAfterBreaches = DefaultEscalateAfterBreaches
	}
	if c.ReasonsMax == 0 {
		c.ReasonsMax = DefaultReasonsMax
	}
	if c.BusinessHours.Start == "" {
		c.BusinessHours.Start = "09:00"
	}
	if c.BusinessHours.End == "" {
		c.BusinessHours.End = "17:00"
	}
	if len(c.BusinessHours.Days) == 0 {
		c.BusinessHours.Days = []string{"mon", "tue", "wed", "thu", "fri"}
	}
	if c.BusinessHours.Timezone == "" {
		c.BusinessHours.Timezone = "UTC"
	}
	return c
}

// parseClock reads "HH:MM" as minutes since midnight.
func parseClock(s, def string) (int, error) {
	if s == "" {
		s = def
	}
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || hh > 24 || mm < 0 || mm > 59 || hh*60+mm > 24*60 {
		return 0, fmt.Errorf("%q is not a time of day like 09:00", s)
	}
	return hh*60 + mm, nil
}

func fmtClock(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

func loadZone(name string) (*time.Location, error) {
	if name == "Local" {
		return nil, fmt.Errorf("unknown time zone %q (use an IANA name such as Europe/Paris)", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return loc, nil
}
