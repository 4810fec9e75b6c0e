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
	// Retention is when timeline entries past retention.timeline and
	// expired dedup records are removed across every partner; default
	// "CRON_TZ=UTC 30 3 * * *" (nightly at 03:30 UTC).
	Retention string `yaml:"retention"`
	// EnrollmentCleanup is when nurture enrollments that can never finish
	// (stale past nurture.stale_after, flow removed, contact or partner
	// gone) are ended; default "CRON_TZ=UTC 0 4 * * *" (nightly at 04:00
	// UTC).
	EnrollmentCleanup string `yaml:"enrollment_cleanup"`
}

// Default specs of the schedules section.
const (
	DefaultRetentionSchedule         = "CRON_TZ=UTC 30 3 * * *"
	DefaultEnrollmentCleanupSchedule = "CRON_TZ=UTC 0 4 * * *"
)

// scheduleErrors checks every cron spec in the configuration, wherever its
// key lives, with the parser the scheduler uses.
func (c *Config) scheduleErrors() []error {
	var errs []error
	for _, sc := range []struct{ key, spec string }{
		{"handoff.digest_schedule", c.Handoff.DigestSchedule},
		{"handoff.sweep_schedule", c.Handoff.SweepSchedule},
		{"schedules.rfm", c.Schedules.RFM},
		{"schedules.program_snapshot", c.Schedules.ProgramSnapshot},
		{"schedules.retention", c.Schedules.Retention},
		{"schedules.enrollment_cleanup", c.Schedules.EnrollmentCleanup},
	} {
		if _, err := cronspec.Parse(sc.spec); err != nil {
			errs = append(errs, fmt.Errorf("config: %s: %v", sc.key, err))
		}
	}
	return errs
}
