package nurture

import (
	"errors"
	"fmt"
	"net/mail"
	"time"

	"github.com/longtailhq/longtail/nurture/flow"
)

// Config is the nurture section of the configuration (keys under
// nurture.). A zero field means its documented default.
type Config struct {
	// FlowsDir is the directory of flow files (*.yaml, one flow each).
	// If empty, the flows shipped in the binary (the source tree's flows/).
	FlowsDir string `yaml:"flows_dir"`
	// TemplatesDir replaces the shipped nurture templates
	// (templates/nurture/): <name>.<locale>.txt and .html files. If empty,
	// the shipped ones.
	TemplatesDir string `yaml:"templates_dir"`
	// FrequencyCap: at most Count nurture emails to a contact in any span
	// of Per, across all flows; a send over it is deferred, never dropped.
	// If zero, 2 and 7 days.
	FrequencyCap flow.Cap `yaml:"frequency_cap"`
	// Window is when a flow without a window of its own may send, in the
	// contact's time zone. If empty, mon–fri, 08:00–18:00.
	Window flow.WindowSpec `yaml:"window"`
	// Timezone (IANA) of contacts when neither the contact nor its partner
	// has one. If empty, UTC.
	Timezone string `yaml:"timezone"`
	// UnsubscribeMailto is the address of the mailto form of the
	// List-Unsubscribe header ("unsubscribe@vendor.example"), for mail
	// clients that do not use the one-click https form. If empty,
	// smtp.from's address; "none" sends the https form only.
	UnsubscribeMailto string `yaml:"unsubscribe_mailto"`
	// StaleAfter is how long a running enrollment may wait without moving
	// before the enrollment cleanup (schedules.enrollment_cleanup) ends it
	// as stale (see Stale). If zero, 30 days; at least a day.
	StaleAfter time.Duration `yaml:"stale_after"`
}

// Defaults of the zero Config.
const (
	DefaultCapCount = 2
	DefaultCapPer   = 7 * 24 * time.Hour
	DefaultHours    = "08:00-18:00"
	DefaultTimezone = "UTC"
	// DefaultStaleAfter is nurture.stale_after when unset.
	DefaultStaleAfter = 30 * 24 * time.Hour
)

// DefaultDays are the days of the default window.
func DefaultDays() []string { return []string{"mon", "tue", "wed", "thu", "fri"} }

// DefaultConfig is the zero Config with its defaults written out, for the
// effective configuration logged at start.
func DefaultConfig() Config { return Config{}.WithDefaults() }

// WithDefaults fills in the documented defaults.
func (c Config) WithDefaults() Config {
	if c.FrequencyCap.Count == 0 {
		c.FrequencyCap.Count = DefaultCapCount
	}
	if c.FrequencyCap.Per == 0 {
		c.FrequencyCap.Per = DefaultCapPer
	}
	if len(c.Window.Days) == 0 {
		c.Window.Days = DefaultDays()
	}
	if c.Window.Hours == "" {
		c.Window.Hours = DefaultHours
	}
	if c.Timezone == "" {
		c.Timezone = DefaultTimezone
	}
	if c.StaleAfter == 0 {
		c.StaleAfter = DefaultStaleAfter
	}
	return c
}

// Validate reports every invalid key, one a line, each naming its key
// ("nurture.window.days[2]: ...").
func (c Config) Validate() error {
	_, err := c.SendRules()
	if c.StaleAfter != 0 && c.StaleAfter < 24*time.Hour {
		err = errors.Join(err, fmt.Errorf("nurture.stale_after: %v is shorter than a day: a pause or a wait that long is normal", c.StaleAfter))
	}
	if m := c.UnsubscribeMailto; m != "" && m != UnsubscribeMailtoNone {
		if a, perr := mail.ParseAddress(m); perr != nil || a.Name != "" || a.Address != m {
			err = errors.Join(err, fmt.Errorf("nurture.unsubscribe_mailto: %q is not a bare email address such as unsubscribe@vendor.example (or %q)", m, UnsubscribeMailtoNone))
		}
	}
	return err
}

// UnsubscribeMailtoNone as nurture.unsubscribe_mailto sends no mailto form.
const UnsubscribeMailtoNone = "none"

// UnsubscribeAddress is the effective nurture.unsubscribe_mailto: as
// configured, else the address of smtpFrom (smtp.from, "Name <addr>" or
// "addr"); "" for none, when it is "none" or there is no smtp.from.
func (c Config) UnsubscribeAddress(smtpFrom string) string {
	switch c.UnsubscribeMailto {
	case UnsubscribeMailtoNone:
		return ""
	case "":
		if a, err := mail.ParseAddress(smtpFrom); err == nil {
			return a.Address
		}
		return ""
	}
	return c.UnsubscribeMailto
}

// SendRules are the configured rules on when a nurture email may go.
type SendRules struct {
	Cap flow.Cap
	// Window applies to flows that have none of their own.
	Window flow.Window
	// Zones resolve a contact's time zone, falling back to nurture.timezone.
	Zones *flow.Zones
}

// SendRules checks the configuration and returns its rules.
func (c Config) SendRules() (SendRules, error) {
	c = c.WithDefaults()
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("nurture.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.FrequencyCap.Count < 0 {
		bad("frequency_cap.count", "must not be negative, got %d", c.FrequencyCap.Count)
	}
	if c.FrequencyCap.Per < 0 {
		bad("frequency_cap.per", "must not be negative, got %s", c.FrequencyCap.Per)
	}
	w, err := c.Window.Window()
	if err != nil {
		for _, e := range unjoin(err) {
			var pe *flow.PartError
			if errors.As(e, &pe) {
				bad("window."+pe.Part, "%s", pe.Msg)
			} else {
				bad("window", "%v", e)
			}
		}
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil || c.Timezone == "Local" {
		bad("timezone", "%q is not an IANA time zone such as Europe/Paris", c.Timezone)
	}
	if len(errs) > 0 {
		return SendRules{}, errors.Join(errs...)
	}
	return SendRules{Cap: c.FrequencyCap, Window: w, Zones: flow.NewZones(loc)}, nil
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
