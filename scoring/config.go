package scoring

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/longtailhq/longtail/event"
)

// Day is 24 hours; config durations are Go durations ("720h"), so defaults
// are spelled in days here for readability.
const Day = 24 * time.Hour

// DefaultScannerUserAgents are case-insensitive substrings of the user agents
// of link scanners (secure email gateways, URL rewriters) and HTTP libraries
// that follow links in mail without a person behind them.
var defaultScannerUserAgents = []string{
	"barracuda", "mimecast", "proofpoint", "urldefense", "forcepoint", "trendmicro",
	"symantec", "sophos", "fireeye", "ironport", "linkscanner", "safebrowsing",
	"bingpreview", "headlesschrome", "python-requests", "go-http-client", "curl/", "wget/",
}

// Config is the scoring section of the configuration (keys under scoring.).
// The zero value is valid and means the documented defaults.
type Config struct {
	// Points per event type, merged over the defaults: email.open 1,
	// web.visit 3, email.click 5, webinar.attended 10, event.attended 10,
	// webinar.registered 5, content.download 5, email.reply 8,
	// deal.registered 15, deal.won 0, email.unsubscribe -10, email.spam
	// -20; every other type 0. An explicit 0 removes a default. purchase
	// must stay 0: it adds monetary value (RFM), not points; deal.won adds
	// monetary value and whatever points are set here.
	Points map[event.Type]float64 `yaml:"points"`

	// HalfLife of engagement points: an event's points halve every HalfLife.
	// If zero, 30 days. It must be at least 7 days so that the normalised
	// sums stay far from float64 overflow for decades (see Epoch). Changing
	// it reinterprets stored sums: rescore after a change.
	HalfLife time.Duration `yaml:"half_life"`

	// Threshold a partner's decayed score must reach to be handed off.
	// If zero, 30.
	Threshold float64 `yaml:"threshold"`

	// TierThresholds overrides Threshold for partners of a tier.
	TierThresholds map[string]float64 `yaml:"tier_thresholds"`

	// RearmFraction: after a crossing, a partner crosses again only once a
	// rep recycles it (Engine.Rearm) or its decayed score has fallen below
	// RearmFraction × threshold. If zero, 0.5. Must be in (0, 1].
	RearmFraction float64 `yaml:"rearm_fraction"`

	// TopicMultipliers scale the points of events about a topic
	// (e.g. deal-registration: 2). Topics not listed: 1.
	TopicMultipliers map[string]float64 `yaml:"topic_multipliers"`

	// Rules scale engagement points by who engaged and with what; every
	// matching rule applies, multiplicatively.
	Rules []Rule `yaml:"rules"`

	// Fit rules give points for who a contact or partner is. Fit is reported
	// beside the engagement score and never counts toward the threshold.
	Fit []FitRule `yaml:"fit"`

	// DailyCaps per event type and contact per UTC day of the event, merged
	// over the defaults: email.open 10, email.click 10, web.visit 10,
	// content.download 5. An explicit 0 removes a cap.
	DailyCaps map[event.Type]int `yaml:"daily_caps"`

	// ScannerClickWindow: a click less than this long after the message was
	// delivered (per the click's delivered_at or an earlier email.delivered
	// event of the same message) is a link scanner's. If zero, 10s.
	ScannerClickWindow time.Duration `yaml:"scanner_click_window"`

	// ScannerUserAgents are case-insensitive substrings marking a click as a
	// scanner's. If nil, a default list of secure-email gateways and HTTP
	// libraries (barracuda, mimecast, proofpoint, python-requests...).
	ScannerUserAgents []string `yaml:"scanner_user_agents"`

	// DedupRetention is how long event ids are remembered to drop duplicate
	// deliveries; at least the longest provider retry horizon. If zero, 72h.
	DedupRetention time.Duration `yaml:"dedup_retention"`

	// MessageRetention is how long per-message markers (opened, clicked)
	// are kept for the one-open-one-click rule. If zero, 30 days. A
	// delivery time, for scanner detection, is kept as long as a click in
	// its scanner window can still be reported: the window plus
	// DedupRetention.
	MessageRetention time.Duration `yaml:"message_retention"`

	// TimelineLength caps each contact's timeline: reads show the newest
	// TimelineLength items, and the newest TimelineLength batches are kept
	// (a batch is stored as one list element). If zero, 100.
	TimelineLength int `yaml:"timeline_length"`

	// RFM configures recency / frequency / monetary ranking.
	RFM RFMConfig `yaml:"rfm"`

	// UnassignedPartner is the pseudo-partner that holds contacts of
	// unknown company: RFM never ranks it and the leaderboard never lists
	// it. Not a scoring key: the config loader copies
	// directory.unassigned_partner here. If empty, "unassigned" (the
	// directory's default).
	UnassignedPartner string `yaml:"-"`
}

// Rule multiplies engagement points when all its non-empty conditions match.
type Rule struct {
	// Name identifies the rule in explanations and errors.
	Name        string     `yaml:"name"`
	EventType   event.Type `yaml:"event_type"`
	Topic       string     `yaml:"topic"`
	Persona     string     `yaml:"persona"`
	PartnerType string     `yaml:"partner_type"`
	Tier        string     `yaml:"tier"`
	// Multiplier must be ≥ 0 (0 silences matching events).
	Multiplier float64 `yaml:"multiplier"`
}

// FitRule gives fit points when all its non-empty conditions match.
type FitRule struct {
	Name        string  `yaml:"name"`
	Persona     string  `yaml:"persona"`
	PartnerType string  `yaml:"partner_type"`
	Tier        string  `yaml:"tier"`
	Points      float64 `yaml:"points"`
}

// RFMConfig configures the RFM ranking (scoring.rfm).
type RFMConfig struct {
	// FrequencyWindow counts scored engagements this far back. If zero, 90 days.
	FrequencyWindow time.Duration `yaml:"frequency_window"`
	// MonetaryWindow sums purchase, deal.registered and deal.won values
	// this far back. If zero, 365 days.
	MonetaryWindow time.Duration `yaml:"monetary_window"`
	// MinPopulation: a metric is ranked by quintiles only when at least
	// this many partners have a value for it (any engagement for recency,
	// engagements in the window for frequency, money in the window for
	// monetary). Below it, Thresholds score the metric instead: quintiles
	// of a handful of partners say little (with five partners, one tie
	// puts everyone engaged today in the bottom two fifths). If zero, 20.
	MinPopulation int `yaml:"min_population"`
	// Thresholds score the metrics with fewer than MinPopulation partners.
	Thresholds RFMThresholds `yaml:"thresholds"`
	// Segments name (R, F, M) rank combinations; the first match wins. If nil,
	// DefaultSegments.
	Segments []SegmentRule `yaml:"segments"`
}

// RFMThresholds are the fixed scales of a metric too sparse for quintiles:
// four ascending bounds each, for ranks 5, 4, 3, 2 of recency and ranks
// 2, 3, 4, 5 of frequency and monetary. A partner with no value for a
// metric ranks 1 on either scale.
type RFMThresholds struct {
	// RecencyDays are the most days since the last engagement that rank
	// 5, 4, 3 and 2; anything older ranks 1. If empty, [7, 30, 60, 90].
	RecencyDays []int `yaml:"recency_days"`
	// Frequency are the fewest engagements in the frequency window that
	// rank 2, 3, 4 and 5; fewer rank 1. If empty, [2, 5, 10, 20]: a
	// single engagement ranks 1, which with R 5 reads "new".
	Frequency []int `yaml:"frequency"`
	// Monetary are the smallest sums in the monetary window that rank 2,
	// 3, 4 and 5; less ranks 1. If empty, [1, 1000, 10000, 50000].
	Monetary []float64 `yaml:"monetary"`
}

// Default RFM population minimum and thresholds (scoring.rfm).
const DefaultRFMMinPopulation = 20

var (
	defaultRecencyDays = []int{7, 30, 60, 90}
	defaultFrequency   = []int{2, 5, 10, 20}
	defaultMonetary    = []float64{1, 1000, 10000, 50000}
)

// SegmentRule matches ranks within inclusive bounds; a zero bound is open.
type SegmentRule struct {
	Name string `yaml:"name"`
	RMin int    `yaml:"r_min"`
	RMax int    `yaml:"r_max"`
	FMin int    `yaml:"f_min"`
	FMax int    `yaml:"f_max"`
	MMin int    `yaml:"m_min"`
	MMax int    `yaml:"m_max"`
}

// DefaultSegments are the RFM segments used when none are configured. Every
// (R, F) pair falls in exactly one, so no partner is left unnamed:
//
//	champions   R 4–5, F 4–5   recent and frequent
//	loyal       R 3,   F 4–5   frequent, a little less recent
//	new         R 5,   F 1     just started engaging
//	potential   R 3–5, F 1–3   recent, not yet frequent
//	at risk     R 1–2, F 3–5   used to engage a lot, gone quiet
//	hibernating R 1–2, F 2     little and long ago
//	lost        R 1–2, F 1     nothing recent (and partners never engaged)
func DefaultSegments() []SegmentRule {
	return []SegmentRule{
		{Name: "champions", RMin: 4, FMin: 4},
		{Name: "loyal", RMin: 3, FMin: 4},
		{Name: "new", RMin: 5, FMax: 1},
		{Name: "potential", RMin: 3, FMax: 3},
		{Name: "at risk", RMax: 2, FMin: 3},
		{Name: "hibernating", RMax: 2, FMin: 2, FMax: 2},
		{Name: "lost", RMax: 2, FMax: 1},
	}
}

func (s SegmentRule) match(r, f, m int) bool {
	in := func(v, lo, hi int) bool { return (lo == 0 || v >= lo) && (hi == 0 || v <= hi) }
	return in(r, s.RMin, s.RMax) && in(f, s.FMin, s.FMax) && in(m, s.MMin, s.MMax)
}

// minHalfLife keeps (now−Epoch)/HalfLife ≤ maxExponent until about 2044.
const minHalfLife = 7 * Day

// Validate checks the configuration and names the first offending key.
func (c Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("scoring.%s: %s", key, fmt.Sprintf(format, args...))
	}
	for _, t := range sortedTypes(c.Points) {
		p := c.Points[t]
		if !t.Valid() {
			return bad("points."+string(t), "unknown event type")
		}
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return bad("points."+string(t), "must be a finite number")
		}
		if t == event.Purchase && p != 0 {
			return bad("points."+string(t), "purchases add monetary value, not points: must be 0")
		}
	}
	if c.HalfLife < 0 || (c.HalfLife > 0 && c.HalfLife < minHalfLife) {
		return bad("half_life", "%v is shorter than the minimum %v", c.HalfLife, minHalfLife)
	}
	if c.Threshold < 0 || math.IsNaN(c.Threshold) || math.IsInf(c.Threshold, 0) {
		return bad("threshold", "must be a positive number")
	}
	for _, tier := range sortedKeys(c.TierThresholds) {
		v := c.TierThresholds[tier]
		if !(v > 0) || math.IsInf(v, 0) {
			return bad("tier_thresholds."+tier, "must be a positive number")
		}
	}
	if c.RearmFraction < 0 || c.RearmFraction > 1 || math.IsNaN(c.RearmFraction) {
		return bad("rearm_fraction", "must be in (0, 1]")
	}
	for _, topic := range sortedKeys(c.TopicMultipliers) {
		v := c.TopicMultipliers[topic]
		if !(v >= 0) || math.IsInf(v, 0) {
			return bad("topic_multipliers."+topic, "must be a number ≥ 0")
		}
	}
	for i, r := range c.Rules {
		key := fmt.Sprintf("rules[%d]", i)
		if r.EventType != "" && !r.EventType.Valid() {
			return bad(key+".event_type", "unknown event type %q", r.EventType)
		}
		if !(r.Multiplier >= 0) || math.IsInf(r.Multiplier, 0) {
			return bad(key+".multiplier", "must be a number ≥ 0")
		}
		if r.EventType == "" && r.Topic == "" && r.Persona == "" && r.PartnerType == "" && r.Tier == "" {
			return bad(key, "has no condition (set event_type, topic, persona, partner_type or tier)")
		}
	}
	for i, f := range c.Fit {
		key := fmt.Sprintf("fit[%d]", i)
		if math.IsNaN(f.Points) || math.IsInf(f.Points, 0) {
			return bad(key+".points", "must be a finite number")
		}
		if f.Persona == "" && f.PartnerType == "" && f.Tier == "" {
			return bad(key, "has no condition (set persona, partner_type or tier)")
		}
	}
	for _, t := range sortedTypes(c.DailyCaps) {
		if !t.Valid() {
			return bad("daily_caps."+string(t), "unknown event type")
		}
		if c.DailyCaps[t] < 0 {
			return bad("daily_caps."+string(t), "must not be negative (0 removes the cap)")
		}
	}
	if c.ScannerClickWindow < 0 {
		return bad("scanner_click_window", "must not be negative")
	}
	for i, ua := range c.ScannerUserAgents {
		if strings.TrimSpace(ua) == "" {
			return bad(fmt.Sprintf("scanner_user_agents[%d]", i), "empty substring would match every click")
		}
	}
	if c.DedupRetention < 0 || (c.DedupRetention > 0 && c.DedupRetention < time.Hour) {
		return bad("dedup_retention", "%v is shorter than 1h", c.DedupRetention)
	}
	if c.MessageRetention < 0 || (c.MessageRetention > 0 && c.MessageRetention < time.Hour) {
		return bad("message_retention", "%v is shorter than 1h", c.MessageRetention)
	}
	if c.TimelineLength < 0 {
		return bad("timeline_length", "must not be negative")
	}
	if c.RFM.FrequencyWindow < 0 || (c.RFM.FrequencyWindow > 0 && c.RFM.FrequencyWindow < Day) {
		return bad("rfm.frequency_window", "must be at least one day")
	}
	if c.RFM.MonetaryWindow < 0 || (c.RFM.MonetaryWindow > 0 && c.RFM.MonetaryWindow < Day) {
		return bad("rfm.monetary_window", "must be at least one day")
	}
	if c.RFM.MinPopulation < 0 {
		return bad("rfm.min_population", "must not be negative")
	}
	if err := ascending(c.RFM.Thresholds.RecencyDays, 0); err != nil {
		return bad("rfm.thresholds.recency_days", "%v", err)
	}
	if err := ascending(c.RFM.Thresholds.Frequency, 1); err != nil {
		return bad("rfm.thresholds.frequency", "%v", err)
	}
	if m := c.RFM.Thresholds.Monetary; len(m) > 0 && !(m[0] > 0) {
		return bad("rfm.thresholds.monetary", "[0] must be positive, got %v", m[0])
	}
	if err := ascending(c.RFM.Thresholds.Monetary, 0); err != nil {
		return bad("rfm.thresholds.monetary", "%v", err)
	}
	seen := map[string]bool{}
	for i, s := range c.RFM.Segments {
		key := fmt.Sprintf("rfm.segments[%d]", i)
		if s.Name == "" {
			return bad(key+".name", "required")
		}
		if seen[s.Name] {
			return bad(key+".name", "duplicate segment %q", s.Name)
		}
		seen[s.Name] = true
		for _, b := range []struct {
			name string
			v    int
		}{{"r_min", s.RMin}, {"r_max", s.RMax}, {"f_min", s.FMin}, {"f_max", s.FMax}, {"m_min", s.MMin}, {"m_max", s.MMax}} {
			if b.v < 0 || b.v > 5 {
				return bad(key+"."+b.name, "must be between 1 and 5 (0 = no bound)")
			}
		}
	}
	return nil
}

// WithDefaults returns a copy with every zero value replaced by its
// documented default and the maps merged over the default maps: what the
// engine runs on. The config loader applies it once so the configuration
// it logs is the one that runs; applying it again changes nothing.
func (c Config) WithDefaults() Config { return c.withDefaults() }

// withDefaults returns a copy with every zero value replaced by its default
// and the maps merged over the defaults of the event types (typeRules).
func (c Config) withDefaults() Config { return c.withDefaultsOf(typeRules) }

// withDefaultsOf is withDefaults with the points and caps of rules.
func (c Config) withDefaultsOf(rules map[event.Type]typeRule) Config {
	out := c
	out.Points = make(map[event.Type]float64, len(rules)+len(c.Points))
	out.DailyCaps = make(map[event.Type]int, len(rules)+len(c.DailyCaps))
	for t, r := range rules {
		if r.points != 0 {
			out.Points[t] = r.points
		}
		if r.dailyCap != 0 {
			out.DailyCaps[t] = r.dailyCap
		}
	}
	for k, v := range c.Points {
		out.Points[k] = v
	}
	for k, v := range c.DailyCaps {
		if v == 0 {
			delete(out.DailyCaps, k)
			continue
		}
		out.DailyCaps[k] = v
	}
	if out.HalfLife == 0 {
		out.HalfLife = 30 * Day
	}
	if out.Threshold == 0 {
		out.Threshold = 30
	}
	if out.RearmFraction == 0 {
		out.RearmFraction = 0.5
	}
	if out.ScannerClickWindow == 0 {
		out.ScannerClickWindow = 10 * time.Second
	}
	if out.ScannerUserAgents == nil {
		out.ScannerUserAgents = append([]string(nil), defaultScannerUserAgents...)
	}
	if out.DedupRetention == 0 {
		out.DedupRetention = 72 * time.Hour
	}
	if out.MessageRetention == 0 {
		out.MessageRetention = 30 * Day
	}
	if out.TimelineLength == 0 {
		out.TimelineLength = 100
	}
	if out.RFM.FrequencyWindow == 0 {
		out.RFM.FrequencyWindow = 90 * Day
	}
	if out.RFM.MonetaryWindow == 0 {
		out.RFM.MonetaryWindow = 365 * Day
	}
	if out.RFM.Segments == nil {
		out.RFM.Segments = DefaultSegments()
	}
	if out.RFM.MinPopulation == 0 {
		out.RFM.MinPopulation = DefaultRFMMinPopulation
	}
	th := &out.RFM.Thresholds
	if len(th.RecencyDays) == 0 {
		th.RecencyDays = slices.Clone(defaultRecencyDays)
	}
	if len(th.Frequency) == 0 {
		th.Frequency = slices.Clone(defaultFrequency)
	}
	if len(th.Monetary) == 0 {
		th.Monetary = slices.Clone(defaultMonetary)
	}
	if out.UnassignedPartner == "" {
		out.UnassignedPartner = defaultUnassignedPartner
	}
	return out
}

// defaultUnassignedPartner is directory.DefaultUnassignedPartnerID, spelled
// out because scoring does not depend on the directory.
const defaultUnassignedPartner = "unassigned"

// ascending checks a thresholds list: empty (the default), or four finite
// values, strictly ascending, the first at least lo.
func ascending[T int | float64](v []T, lo T) error {
	if len(v) == 0 {
		return nil
	}
	if len(v) != 4 {
		return fmt.Errorf("needs 4 bounds (for ranks 2 to 5), got %d", len(v))
	}
	for i, x := range v {
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("[%d] must be a finite number", i)
		}
		if x < lo {
			return fmt.Errorf("[%d] is %v, below the minimum %v", i, x, lo)
		}
		if i > 0 && x <= v[i-1] {
			return fmt.Errorf("must be strictly ascending: %v after %v", x, v[i-1])
		}
	}
	return nil
}

// ErrConfig is wrapped by NewEngine when the configuration is invalid.
var ErrConfig = errors.New("invalid scoring config")

func sortedTypes[V any](m map[event.Type]V) []event.Type {
	out := make([]event.Type, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
