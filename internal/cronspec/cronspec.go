// Package cronspec parses the cron specs of longtail's periodic jobs with
// robfig/cron v3 and makes the result safe to share between processes.
//
// Two things set it apart from calling cron.ParseStandard directly:
//
//   - Parse never panics. robfig's parser slices past the end of a
//     "CRON_TZ=Europe/Paris" with nothing after it, and accepts
//     "CRON_TZ= 0 7 * * *" (an empty zone) as UTC; both are start-up
//     errors here, as is a spec that can never fire ("0 0 30 2 *").
//   - "@every D" ticks on multiples of D since the zero time, not D after
//     whenever the process started. Two schedulers started a few seconds
//     apart then name the same ticks, which is what lets the job's tick
//     time be its identity (jobs.Periodic enqueues with a TaskID of job name
//     and tick time, and Redis refuses the twin).
//
// A spec without CRON_TZ= runs in UTC, whatever the machine's zone: two
// schedulers on machines set to different zones must agree on the ticks.
package cronspec

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// parser accepts standard 5-field specs (minute hour dom month dow), the
// descriptors @yearly, @monthly, @weekly, @daily, @hourly and @every D, and
// a CRON_TZ= (or TZ=) prefix: what asynq's scheduler accepted, so existing
// configuration keeps its meaning.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule says when a job runs next.
type Schedule interface {
	// Next is the first tick strictly after t. Ticks are whole seconds.
	Next(t time.Time) time.Time
}

// Parse reads spec. The error says what is wrong without naming a config
// key: callers prefix the key they read the spec from.
func Parse(spec string) (s Schedule, err error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("empty cron spec (want e.g. \"CRON_TZ=UTC 0 7 * * 1-5\" or \"@every 1m\")")
	}
	body := spec
	if rest, ok := cutTZ(spec); ok {
		zone, after, found := strings.Cut(rest, " ")
		if zone == "" {
			return nil, fmt.Errorf("%q: CRON_TZ= names no time zone (want e.g. CRON_TZ=Europe/Paris 0 7 * * *)", spec)
		}
		if !found || strings.TrimSpace(after) == "" {
			return nil, fmt.Errorf("%q: nothing after the time zone (want e.g. CRON_TZ=%s 0 7 * * *)", spec, zone)
		}
		body = strings.TrimSpace(after)
	}
	if d, ok := strings.CutPrefix(body, "@every "); ok {
		return parseEvery(spec, strings.TrimSpace(d))
	}
	// The checks above rule out every panic robfig's parser is known to
	// have; recover anyway, since a configuration typo must never take the
	// process down with a stack trace.
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%q: not a cron spec (%v)", spec, r)
		}
	}()
	cs, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("%q: %v", spec, err)
	}
	sched := utc{cs}
	// robfig gives up after five years of search and returns the zero
	// time: such a spec would silently never run.
	if sched.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("%q never fires", spec)
	}
	return sched, nil
}

// cutTZ strips a CRON_TZ= or TZ= prefix.
func cutTZ(spec string) (string, bool) {
	if rest, ok := strings.CutPrefix(spec, "CRON_TZ="); ok {
		return rest, true
	}
	return strings.CutPrefix(spec, "TZ=")
}

func parseEvery(spec, d string) (Schedule, error) {
	every, err := time.ParseDuration(d)
	if err != nil {
		return nil, fmt.Errorf("%q: %q is not a duration such as 30s, 5m or 1h", spec, d)
	}
	if every < time.Second || every%time.Second != 0 {
		return nil, fmt.Errorf("%q: @every takes a whole number of seconds, at least 1s", spec)
	}
	return aligned(every), nil
}

// aligned ticks on multiples of itself since the zero time (for a period
// that divides a day, on the same instants every day, from midnight UTC).
type aligned time.Duration

func (a aligned) Next(t time.Time) time.Time {
	d := time.Duration(a)
	return t.Truncate(d).Add(d)
}

// utc evaluates a spec without CRON_TZ= in UTC: robfig evaluates those in
// the zone of the time it is given.
type utc struct{ cron.Schedule }

func (u utc) Next(t time.Time) time.Time { return u.Schedule.Next(t.UTC()) }
