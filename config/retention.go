package config

import (
	"fmt"
	"time"
)

// Retention is how long the retention job (schedules.retention) keeps
// timelines, across every partner, including the ones that get no new
// writes. Dedup records have no key here: an event id is dropped once
// scoring.dedup_retention (per-message markers: message_retention) has
// passed, the replay window scoring already honours on write, so a
// retried delivery still counts once.
type Retention struct {
	// Timeline: a contact's scored events (the timeline of GET
	// /v1/contacts/{id}), a partner's call-queue transitions and an
	// enrollment's history are removed once older than this; default
	// 180d. At least a day.
	Timeline time.Duration `yaml:"timeline"`
	// Batch is how many partners the job handles per page of its walk
	// (and per saved cursor); default 100.
	Batch int `yaml:"batch"`
}

func (r Retention) errors() []error {
	var errs []error
	if r.Timeline < 24*time.Hour {
		errs = append(errs, fmt.Errorf("config: retention.timeline: must be at least 1d, got %s", FormatDuration(r.Timeline)))
	}
	if r.Batch <= 0 || r.Batch > 10000 {
		errs = append(errs, fmt.Errorf("config: retention.batch: must be between 1 and 10000, got %d", r.Batch))
	}
	return errs
}
