package program

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Day is 24 hours: config durations are said in days ("365d", "180d").
const Day = 24 * time.Hour

// Defaults of the zero Config.
const (
	// DefaultProductiveWithin: vendors see a partner become autonomous
	// and profitable 6–12 months after joining; 365 days is the far end.
	DefaultProductiveWithin = 365 * Day
	// DefaultDormantAfter: half a year without engagement or results.
	DefaultDormantAfter = 180 * Day
	// DefaultExitAfter: a month for the last re-engagement flow to work.
	DefaultExitAfter = 30 * Day
	// DefaultCurrency of deal and purchase values in plain reasons.
	DefaultCurrency = "EUR"
)

// SteadyBand is the tolerance of a results trend: a quarter within 10% of
// the one before (either way) is steady, not growing or declining, so a
// single invoice moving across a quarter's end does not flip the stage.
const SteadyBand = 0.10

// Config is the program section of the configuration (keys under
// program.). A zero field means its documented default.
type Config struct {
	// ProductiveWithin is how long a partner may take to bring its first
	// result (a deal or a purchase) after joining: onboarding until then,
	// churned after. If zero, 365 days ("365d": the config's durations
	// count whole days with d, there is no month unit).
	ProductiveWithin time.Duration `yaml:"productive_within"`
	// DormantAfter: a partner with results goes dormant after this long
	// with no engagement, deal or purchase. If zero, 180 days.
	DormantAfter time.Duration `yaml:"dormant_after"`
	// ExitAfter is how long after its last re-engagement flow started a
	// partner still at risk is recommended for exit (a program_exit
	// suppression). If zero, 30 days.
	ExitAfter time.Duration `yaml:"exit_after"`
	// Currency (ISO 4217) of deal and purchase values, for the plain
	// reasons ("€42k"). If empty, EUR.
	Currency string `yaml:"currency"`
	// Tiers is the ladder, lowest first. The first tier is the floor
	// everyone is in and takes no minimums. If empty, DefaultTiers:
	// registered, silver, gold.
	Tiers []Tier `yaml:"tiers"`
}

// Tier is one level of the ladder. A partner meets it when its results
// over the last 12 months meet either minimum (deals or revenue; a zero
// minimum is no criterion, and with both zero any results do) and its
// partner score now is at least MinScore.
type Tier struct {
	// Name as the partners CSV spells the tier (compared without case).
	Name string `yaml:"name" json:"name"`
	// MinDeals: registered deals in the last 12 months.
	MinDeals int `yaml:"min_deals" json:"min_deals"`
	// MinRevenue: the value of purchases in the last 12 months.
	MinRevenue float64 `yaml:"min_revenue" json:"min_revenue"`
	// MinScore: the partner's engagement score now.
	MinScore float64 `yaml:"min_score" json:"min_score"`
}

// DefaultTiers is a three-level program: registered (anyone), silver
// (≥ 2 deals or ≥ 20,000 of revenue in 12 months, and a score ≥ 10 now),
// gold (≥ 6 deals or ≥ 100,000, and a score ≥ 20).
func DefaultTiers() []Tier {
	return []Tier{
		{Name: "registered"},
		{Name: "silver", MinDeals: 2, MinRevenue: 20000, MinScore: 10},
		{Name: "gold", MinDeals: 6, MinRevenue: 100000, MinScore: 20},
	}
}

// DefaultConfig is the zero Config with its defaults written out.
func DefaultConfig() Config { return Config{}.WithDefaults() }

// WithDefaults fills in the documented defaults.
func (c Config) WithDefaults() Config {
	if c.ProductiveWithin == 0 {
		c.ProductiveWithin = DefaultProductiveWithin
	}
	if c.DormantAfter == 0 {
		c.DormantAfter = DefaultDormantAfter
	}
	if c.ExitAfter == 0 {
		c.ExitAfter = DefaultExitAfter
	}
	if c.Currency == "" {
		c.Currency = DefaultCurrency
	}
	if len(c.Tiers) == 0 {
		c.Tiers = DefaultTiers()
	}
	return c
}

// Validate reports every invalid key, one a line, each naming its key
// ("program.tiers[1].min_deals: ...").
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("program.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	for key, d := range map[string]time.Duration{
		"productive_within": c.ProductiveWithin, "dormant_after": c.DormantAfter, "exit_after": c.ExitAfter,
	} {
		if d < 0 {
			bad(key, "must not be negative, got %s", d)
		}
	}
	if cur := c.Currency; cur != "" && !isCurrencyCode(cur) {
		bad("currency", "%q is not an ISO 4217 code such as EUR or USD", cur)
	}
	seen := map[string]int{}
	for i, t := range c.Tiers {
		key := fmt.Sprintf("tiers[%d]", i)
		name := strings.ToLower(strings.TrimSpace(t.Name))
		switch {
		case name == "":
			bad(key+".name", "required")
		case seen[name] > 0:
			bad(key+".name", "%q is already tiers[%d]", t.Name, seen[name]-1)
		default:
			seen[name] = i + 1
		}
		if t.MinDeals < 0 {
			bad(key+".min_deals", "must not be negative, got %d", t.MinDeals)
		}
		if t.MinRevenue < 0 {
			bad(key+".min_revenue", "must not be negative, got %v", t.MinRevenue)
		}
		if t.MinScore < 0 {
			bad(key+".min_score", "must not be negative, got %v", t.MinScore)
		}
		if i == 0 && (t.MinDeals != 0 || t.MinRevenue != 0 || t.MinScore != 0) {
			bad(key, "the first tier is the floor every partner is in: it takes no minimums")
		}
	}
	return errors.Join(errs...)
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}
