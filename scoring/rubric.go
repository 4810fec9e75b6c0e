package scoring

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/longtailhq/longtail/event"
)

// Epoch is the fixed reference time T0 of the stored sums. A score is kept
// as N = Σ pᵢ·2^((tᵢ−T0)/h) and read as N·2^(−(now−T0)/h), which is exactly
// Σ pᵢ·2^(−(now−tᵢ)/h) whatever order the events arrived in, so an update is
// one addition and a read one multiplication. The exponent grows by one per
// half-life after T0: with the default 30-day half-life it reaches
// maxExponent around 2107, with the 7-day minimum around 2044.
var Epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// maxExponent bounds (t−T0)/h so that N·(points) stays below float64's
// ~1.8e308 with 1e6 points of headroom: 2^1000 ≈ 1.07e301.
const maxExponent = 1000

// Filter reasons: why an event was recorded but scored 0.
const (
	FilteredDuplicate    = "duplicate"
	FilteredMachineOpen  = "machine_open"
	FilteredScannerClick = "scanner_click"
	FilteredPerMessage   = "per_message"
	FilteredDailyCap     = "daily_cap"
)

// filterReasons lists the reasons in the order the explain aggregates store
// their counters. Append only.
var filterReasons = []string{
	FilteredDuplicate, FilteredMachineOpen, FilteredScannerClick, FilteredPerMessage, FilteredDailyCap,
}

// Suppression reasons recorded on a contact.
const (
	SuppressedHardBounce  = "hard_bounce"
	SuppressedSpam        = "spam"
	SuppressedUnsubscribe = "unsubscribe"
)

// Weight is 2^((t−Epoch)/halfLife): the factor that normalises points
// earned at t to the reference time.
func Weight(t time.Time, halfLife time.Duration) float64 {
	return math.Exp2(float64(t.Sub(Epoch).Milliseconds()) / float64(halfLife.Milliseconds()))
}

// Decayed returns points earned at t as they count at now:
// points·2^(−(now−t)/halfLife). Events dated after now count in full.
func Decayed(points float64, t, now time.Time, halfLife time.Duration) float64 {
	if t.After(now) {
		t = now
	}
	return points * math.Exp2(-float64(now.Sub(t).Milliseconds())/float64(halfLife.Milliseconds()))
}

// Target is the contact an event batch is scored for, with the attributes
// rules and fit match on.
type Target struct {
	PartnerID   string
	ContactID   string
	Persona     string
	PartnerType string
	Tier        string
	// NoRollup scores the contact without touching its partner: set for the
	// "unassigned" pseudo-partner, which must never be handed off.
	NoRollup bool
}

// Rubric is the scoring rules: points per event from the configured
// rubric, multipliers and rules, and the filters an event can be judged by
// on its own (machine opens, scanner user agents), here; what depends on
// the contact's state (duplicates, one open and click per message, daily
// caps, clicks right after delivery, decay, the threshold) in judge
// (judge.go), which the engine and the Model both call. A simulator can
// use a Rubric without Redis.
type Rubric struct {
	cfg      Config
	scanners []string
	types    map[event.Type]typeRule
}

// NewRubric validates cfg and returns its rubric.
func NewRubric(cfg Config) (*Rubric, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return newRubric(cfg.withDefaults(), typeRules), nil
}

// newRubric is the rubric of cfg, defaults filled in, for the event types
// of types.
func newRubric(cfg Config, types map[event.Type]typeRule) *Rubric {
	r := &Rubric{cfg: cfg, types: types}
	for _, s := range cfg.ScannerUserAgents {
		r.scanners = append(r.scanners, strings.ToLower(s))
	}
	return r
}

// known reports whether t is an event type the rubric scores.
func (r *Rubric) known(t event.Type) bool {
	_, ok := r.types[t]
	return ok
}

// Config returns the effective configuration, defaults filled in.
func (r *Rubric) Config() Config { return r.cfg }

// Points returns the engagement points ev earns for t before decay, or 0
// and the reason when the event on its own is not a person engaging: a
// machine open (provider bot flag, privacy proxy) or a scanner click (bot
// flag or a known scanner user agent).
func (r *Rubric) Points(ev event.Event, t Target) (points float64, filtered string) {
	rule := r.types[ev.Type]
	if ev.Machine && rule.machine != "" {
		return 0, rule.machine
	}
	if rule.scanners && r.scannerUA(ev.UserAgent) {
		return 0, FilteredScannerClick
	}
	if rule.valuePoints {
		return ev.Value, ""
	}
	p := r.cfg.Points[ev.Type]
	if p == 0 {
		return 0, ""
	}
	if m, ok := r.cfg.TopicMultipliers[ev.Topic]; ok && ev.Topic != "" {
		p *= m
	}
	for _, rule := range r.cfg.Rules {
		if rule.matches(ev, t) {
			p *= rule.Multiplier
		}
	}
	return p, ""
}

func (r *Rubric) scannerUA(ua string) bool {
	if ua == "" {
		return false
	}
	ua = strings.ToLower(ua)
	for _, s := range r.scanners {
		if strings.Contains(ua, s) {
			return true
		}
	}
	return false
}

func (rule Rule) matches(ev event.Event, t Target) bool {
	return (rule.EventType == "" || rule.EventType == ev.Type) &&
		(rule.Topic == "" || rule.Topic == ev.Topic) &&
		(rule.Persona == "" || rule.Persona == t.Persona) &&
		(rule.PartnerType == "" || rule.PartnerType == t.PartnerType) &&
		(rule.Tier == "" || rule.Tier == t.Tier)
}

// ContactFit is the sum of the fit rules matching the contact's persona and
// its partner's type and tier.
func (r *Rubric) ContactFit(t Target) float64 {
	var sum float64
	for _, f := range r.cfg.Fit {
		if (f.Persona == "" || f.Persona == t.Persona) &&
			(f.PartnerType == "" || f.PartnerType == t.PartnerType) &&
			(f.Tier == "" || f.Tier == t.Tier) {
			sum += f.Points
		}
	}
	return sum
}

// PartnerFit is the sum of the fit rules without a persona condition that
// match the partner's type and tier.
func (r *Rubric) PartnerFit(t Target) float64 {
	var sum float64
	for _, f := range r.cfg.Fit {
		if f.Persona == "" &&
			(f.PartnerType == "" || f.PartnerType == t.PartnerType) &&
			(f.Tier == "" || f.Tier == t.Tier) {
			sum += f.Points
		}
	}
	return sum
}

// Threshold is the handoff threshold for a partner of the tier.
func (r *Rubric) Threshold(tier string) float64 {
	if v, ok := r.cfg.TierThresholds[tier]; ok && tier != "" {
		return v
	}
	return r.cfg.Threshold
}

// DailyCap is the per-contact daily cap of a type, 0 when uncapped.
func (r *Rubric) DailyCap(t event.Type) int { return r.cfg.DailyCaps[t] }

// Suppression is the reason ev suppresses its contact, or "".
func Suppression(ev event.Event) string {
	switch ev.Type {
	case event.EmailUnsubscribe:
		return SuppressedUnsubscribe
	case event.EmailSpam:
		return SuppressedSpam
	case event.EmailBounce:
		if ev.Bounce == event.BounceHard {
			return SuppressedHardBounce
		}
	}
	return ""
}

// monetary is the value an event adds to RFM monetary.
func monetary(ev event.Event) float64 {
	switch ev.Type {
	case event.Purchase, event.DealRegistered, event.DealWon:
		if ev.Value > 0 {
			return ev.Value
		}
	}
	return 0
}

// checkEvent says why ev cannot be scored, or nil: it needs an id, a type
// the rubric knows and a time, and what is stored of it must fit (a topic
// of at most event.MaxTextLen bytes, a time JSON can encode).
func (r *Rubric) checkEvent(ev *event.Event) error {
	switch {
	case ev.ID == "":
		return errors.New("needs an id")
	case !r.known(ev.Type):
		return fmt.Errorf("unknown type %q", ev.Type)
	case ev.OccurredAt.IsZero():
		return errors.New("needs occurred_at")
	case ev.OccurredAt.Year() < 0 || ev.OccurredAt.Year() > 9999:
		return fmt.Errorf("occurred_at %v out of range", ev.OccurredAt)
	case len(ev.Topic) > event.MaxTextLen:
		return fmt.Errorf("topic longer than %d bytes", event.MaxTextLen)
	}
	return nil
}
