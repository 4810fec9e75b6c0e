package config

import (
	"fmt"

	"github.com/longtailhq/longtail/internal/cronspec"
)

// Schedules are cron specs: 5 fields, @daily-style descriptors or
// "@every 1m", optionally prefixed "CRON_TZ=Europe/Paris "; UTC without
// one. A bad spec stops start-up naming its key.
type Schedules struct {
	// RFM is when the RFM ranking runs; default "CRON_TZ=UTC 15 2 * * *"
	// (nightly at 02:15 UTC).
	RFM string `yaml:"rfm"`
	// ProgramSnapshot is when every partner's score of the day is kept for
	// the program view's engagement trend; default "CRON_TZ=UTC 45 1 * * *"
	// (nightly at 01:45 UTC).
	ProgramSnapshot string `yaml:"program_snapshot"`
}

// scheduleErrors checks every cron spec in the configuration, wherever its
// key lives, with the parser the scheduler uses.
func (c *Config) scheduleErrors() []error {
	var errs []error
	for _, sc := range []struct{ key, spec string }{
		{"handoff.digest_schedule", c.Handoff.DigestSchedule},
		{"handoff.sweep_schedule", c.Handoff.SweepSchedule},
		{"schedules.rfm", c.Schedules.RFM},
		{"schedules.program_snapshot", c.Schedules.ProgramSnapshot},
	} {
		if _, err := cronspec.Parse(sc.spec); err != nil {
			errs = append(errs, fmt.Errorf("config: %s: %v", sc.key, err))
		}
	}
	return errs
}
