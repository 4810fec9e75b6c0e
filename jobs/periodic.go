package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/internal/cronspec"
)

// Periodic is one scheduled job: a cron spec read from the configuration
// and the task each tick enqueues.
type Periodic struct {
	// Name is the job's stable name; with the tick time it makes the
	// tick's TaskID, so renaming it lets one tick run twice across a
	// rolling upgrade. Required, unique.
	Name string
	// Key is the configuration key Spec came from, named in errors.
	Key string
	// Spec: 5 fields, a descriptor (@daily, @every 1m) and an optional
	// CRON_TZ= prefix; UTC without one (see internal/cronspec).
	Spec string
	// Task is enqueued as is, in its own queue, with its own options,
	// plus the tick's TaskID and Retention. Build it without asynq.Unique:
	// the TaskID is its uniqueness, and asynq's enqueue takes the Unique
	// lock before it checks the TaskID, so a twin refused after the first
	// completed would leave a fresh lock behind that refuses the next tick.
	Task *asynq.Task
}

// TickOutcome is what one scheduler's attempt at one tick came to.
type TickOutcome string

const (
	// TickEnqueued: this scheduler queued the tick's task.
	TickEnqueued TickOutcome = "enqueued"
	// TickDuplicate: the tick's task was already there (queued, running,
	// or completed within its retention): another scheduler won.
	TickDuplicate TickOutcome = "duplicate"
	// TickSkipped: the scheduler reached the tick more than MaxLateness
	// after its time (paused, or asleep through several ticks); too late
	// for the retention to be sure of refusing a twin, so it is not run.
	TickSkipped TickOutcome = "skipped"
	// TickFailed: Redis refused or was unreachable until MaxLateness ran out.
	TickFailed TickOutcome = "failed"
)

// Tick reports one scheduler's attempt at one tick of one job.
type Tick struct {
	Job     string
	At      time.Time
	TaskID  string
	Outcome TickOutcome
	Err     error
}

// PeriodicConfig configures a Scheduler.
type PeriodicConfig struct {
	// Client enqueues the ticks. Required.
	Client *asynq.Client
	// Clock; default time.Now.
	Clock func() time.Time
	// Log receives a line per tick (debug when another scheduler won).
	Log zerolog.Logger
	// MaxLateness bounds how late after its time a tick may still be
	// enqueued (retrying while Redis is away). Default 1 minute.
	MaxLateness time.Duration
	// Retention is how long a tick's task is kept once it completed, so
	// that a twin enqueued late — by up to MaxLateness plus the clock skew
	// between the schedulers' machines — still finds it and is refused.
	// Default 15 minutes; must exceed MaxLateness.
	Retention time.Duration
	// OnTick, if set, hears every attempt (for metrics).
	OnTick func(Tick)
}

func (c PeriodicConfig) withDefaults() PeriodicConfig {
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.MaxLateness == 0 {
		c.MaxLateness = time.Minute
	}
	if c.Retention == 0 {
		c.Retention = 15 * time.Minute
	}
	return c
}

// Scheduler enqueues each periodic job once per tick however many
// schedulers run: every tick is enqueued with the TaskID
// "periodic:<name>:<tick time, RFC 3339 UTC>" and kept for Retention after
// it completes, so the same tick from a second scheduler is refused by
// Redis (asynq's own Scheduler enqueues a fresh task on every instance).
//
// It uses robfig/cron v3 for the specs (through internal/cronspec) but
// runs its own loop: robfig's runner neither tells a job which tick it is
// running for — the identity the TaskID needs — nor takes a clock.
type Scheduler struct {
	cfg     PeriodicConfig
	entries []*periodicEntry
}

type periodicEntry struct {
	job   Periodic
	sched cronspec.Schedule
	next  time.Time
}

// NewScheduler validates every job before accepting any, so a typo stops
// start-up naming its configuration key instead of half a schedule
// running.
func NewScheduler(cfg PeriodicConfig, jobs []Periodic) (*Scheduler, error) {
	cfg = cfg.withDefaults()
	var errs []error
	if cfg.Client == nil {
		errs = append(errs, errors.New("jobs: PeriodicConfig.Client is required"))
	}
	if cfg.MaxLateness < 0 || cfg.Retention <= cfg.MaxLateness {
		errs = append(errs, fmt.Errorf("jobs: PeriodicConfig.Retention (%s) must exceed MaxLateness (%s)", cfg.Retention, cfg.MaxLateness))
	}
	s := &Scheduler{cfg: cfg}
	seen := map[string]bool{}
	for _, j := range jobs {
		name := j.Key
		if name == "" {
			name = j.Name
		}
		if j.Name == "" || seen[j.Name] {
			errs = append(errs, fmt.Errorf("%s: periodic job name %q is empty or used twice", name, j.Name))
			continue
		}
		seen[j.Name] = true
		if j.Task == nil {
			errs = append(errs, fmt.Errorf("%s: no task", name))
			continue
		}
		sched, err := cronspec.Parse(j.Spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		s.entries = append(s.entries, &periodicEntry{job: j, sched: sched})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// TickTaskID is the TaskID of job name's tick at t. No "@" in it: the log
// redactor would take it for an email address.
func TickTaskID(name string, t time.Time) string {
	return "periodic:" + name + ":" + t.UTC().Format(time.RFC3339)
}

// Run enqueues ticks until ctx is done. The first tick of each job is the
// first after Run starts.
func (s *Scheduler) Run(ctx context.Context) error {
	now := s.cfg.Clock()
	for _, e := range s.entries {
		e.next = e.sched.Next(now)
	}
	if len(s.entries) == 0 {
		<-ctx.Done()
		return nil
	}
	for {
		wake := s.entries[0].next
		for _, e := range s.entries[1:] {
			if e.next.Before(wake) {
				wake = e.next
			}
		}
		timer := time.NewTimer(wake.Sub(s.cfg.Clock()))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		s.fireDue(ctx, s.cfg.Clock())
	}
}

// fireDue enqueues, for every job whose next tick is at or before now, its
// latest tick not after now; ticks it slept through are skipped, as cron
// does. Each entry then waits for its first tick after now.
func (s *Scheduler) fireDue(ctx context.Context, now time.Time) {
	for _, e := range s.entries {
		if e.next.After(now) {
			continue
		}
		tick := e.next
		for {
			n := e.sched.Next(tick)
			if n.After(now) {
				e.next = n
				break
			}
			s.report(Tick{Job: e.job.Name, At: tick, TaskID: TickTaskID(e.job.Name, tick), Outcome: TickSkipped})
			tick = n
		}
		s.fire(ctx, e.job, tick)
	}
}

// fire enqueues job's tick, retrying a Redis failure with backoff while
// the tick is younger than MaxLateness. A retry holds up the other jobs'
// ticks, which would meet the same Redis anyway.
func (s *Scheduler) fire(ctx context.Context, job Periodic, tick time.Time) Tick {
	t := Tick{Job: job.Name, At: tick, TaskID: TickTaskID(job.Name, tick)}
	deadline := tick.Add(s.cfg.MaxLateness)
	if s.cfg.Clock().After(deadline) {
		t.Outcome = TickSkipped
		s.report(t)
		return t
	}
	backoff := 250 * time.Millisecond
	for {
		_, err := s.cfg.Client.EnqueueContext(ctx, job.Task, asynq.TaskID(t.TaskID), asynq.Retention(s.cfg.Retention))
		switch {
		case err == nil:
			t.Outcome = TickEnqueued
		case errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask):
			t.Outcome = TickDuplicate
		default:
			if ctx.Err() != nil || s.cfg.Clock().Add(backoff).After(deadline) {
				t.Outcome, t.Err = TickFailed, err
				break
			}
			select {
			case <-ctx.Done():
				t.Outcome, t.Err = TickFailed, err
			case <-time.After(backoff):
				backoff = min(2*backoff, 5*time.Second)
				continue
			}
		}
		s.report(t)
		return t
	}
}

func (s *Scheduler) report(t Tick) {
	var ev *zerolog.Event
	switch t.Outcome {
	case TickEnqueued:
		ev = s.cfg.Log.Info()
	case TickDuplicate:
		ev = s.cfg.Log.Debug()
	case TickSkipped:
		ev = s.cfg.Log.Warn()
	default:
		ev = s.cfg.Log.Error().Err(t.Err)
	}
	ev.Str("job", t.Job).Time("tick", t.At).Str("task_id", t.TaskID).Str("outcome", string(t.Outcome)).Msg("periodic tick")
	if s.cfg.OnTick != nil {
		s.cfg.OnTick(t)
	}
}
