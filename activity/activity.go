// Package activity keeps the small Redis-backed series the ops pages
// show and no other store has: events scored per minute, events by type
// and interest points by topic per day, and emails by result per day.
//
// Prometheus counters (package metrics) live in each process, so a
// deployment of several processes cannot read them back; these live in
// Redis, where every process writes and the api process reads. They are
// written on the path of the fact they count — the ingest processor
// after a batch scored (duplicates never reach them, so a retried batch
// counts once), the senders when an email was attempted — and are
// bounded: per-minute buckets kept Config.Minutes, daily hashes kept
// Config.Days.
//
// They are a dashboard, not a ledger: a Redis error after the fact was
// committed loses that count rather than failing or repeating the work.
package activity

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/event"
)

// Config configures the series.
type Config struct {
	// Minutes is how many per-minute buckets of scored events are kept.
	// If zero, 120 (two hours). It must be between 1 and 1440.
	Minutes int

	// Days is how many days the daily series (types, topics, emails) are
	// kept after their day ends. If zero, 90. It must be between 1 and
	// 400.
	Days int

	// Clock is the time source of the minute buckets and email days. If
	// nil, time.Now.
	Clock func() time.Time

	// EmailTimeout bounds the write of one email count (ObserveEmail has
	// no context of its own). If zero, 2s. It must not be negative.
	EmailTimeout time.Duration

	// OnError hears the write errors ObserveEmail cannot return. If nil,
	// they are dropped (the count is lost, the email is not).
	OnError func(error)
}

const (
	defaultMinutes      = 120
	defaultDays         = 90
	defaultEmailTimeout = 2 * time.Second
)

// Validate reports the first setting out of range.
func (c Config) Validate() error {
	if c.Minutes < 0 || c.Minutes > 1440 {
		return fmt.Errorf("activity: Minutes %d is outside 1..1440", c.Minutes)
	}
	if c.Days < 0 || c.Days > 400 {
		return fmt.Errorf("activity: Days %d is outside 1..400", c.Days)
	}
	if c.EmailTimeout < 0 {
		return fmt.Errorf("activity: EmailTimeout %s is negative", c.EmailTimeout)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Minutes == 0 {
		c.Minutes = defaultMinutes
	}
	if c.Days == 0 {
		c.Days = defaultDays
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.EmailTimeout == 0 {
		c.EmailTimeout = defaultEmailTimeout
	}
	return c
}

// Store writes and reads the series. It is safe for concurrent use.
type Store struct {
	rdb redis.UniversalClient
	cfg Config
}

// New validates cfg and returns a store on rdb.
func New(rdb redis.UniversalClient, cfg Config) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("activity: nil redis client")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Store{rdb: rdb, cfg: cfg.withDefaults()}, nil
}

// Config returns the configuration with its defaults filled in.
func (s *Store) Config() Config { return s.cfg }

// Scored is one event that scored (not a duplicate).
type Scored struct {
	Type       event.Type
	Topic      string
	OccurredAt time.Time
	// Points credited before decay; they count toward Topic's interest.
	Points float64
}

// Record counts evs, scored now: in the current minute's bucket, and
// each in its day's types (and topic, when it has one and earned
// points). An event of a day already past the kept window counts in the
// minute only. One pipeline, however many events.
func (s *Store) Record(ctx context.Context, evs []Scored) error {
	if len(evs) == 0 {
		return nil
	}
	now := s.cfg.Clock()
	types := map[string]map[string]int64{}
	topics := map[string]map[string]float64{}
	for _, ev := range evs {
		day := dayOf(ev.OccurredAt)
		if !s.dayExpiry(day).After(now) {
			continue
		}
		if types[day] == nil {
			types[day] = map[string]int64{}
		}
		types[day][string(ev.Type)]++
		if ev.Topic != "" && ev.Points > 0 {
			if topics[day] == nil {
				topics[day] = map[string]float64{}
			}
			topics[day][ev.Topic] += ev.Points
		}
	}
	pipe := s.rdb.Pipeline()
	minute := now.Unix() / 60
	mk := minuteKey(minute)
	pipe.IncrBy(ctx, mk, int64(len(evs)))
	// TTLs are taken from the clock, not set as instants: Redis expires
	// on its own wall clock, which an injected clock need not match.
	pipe.Expire(ctx, mk, time.Unix((minute+1+int64(s.cfg.Minutes))*60, 0).Sub(now))
	for day, m := range types {
		k := dayTypesKey(day)
		for t, n := range m {
			pipe.HIncrBy(ctx, k, t, n)
		}
		pipe.Expire(ctx, k, s.dayExpiry(day).Sub(now))
	}
	for day, m := range topics {
		k := dayTopicsKey(day)
		for t, p := range m {
			pipe.HIncrByFloat(ctx, k, t, p)
		}
		pipe.Expire(ctx, k, s.dayExpiry(day).Sub(now))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("activity: record %d events: %w", len(evs), err)
	}
	return nil
}

// dayExpiry is when a day's keys expire: Days after the day ends.
func (s *Store) dayExpiry(day string) time.Time {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return time.Time{}
	}
	return d.AddDate(0, 0, 1+s.cfg.Days)
}

// CountEmail counts one email attempt with result (mailer.Result*) today.
func (s *Store) CountEmail(ctx context.Context, result string) error {
	now := s.cfg.Clock()
	day := dayOf(now)
	k := dayEmailsKey(day)
	pipe := s.rdb.Pipeline()
	pipe.HIncrBy(ctx, k, result, 1)
	pipe.Expire(ctx, k, s.dayExpiry(day).Sub(now))
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("activity: count email %s: %w", result, err)
	}
	return nil
}

// ObserveEmail implements the senders' email observer (nurture and
// notify): it counts the attempt by result. kind and flow are the
// Prometheus series' business; the page shows totals.
func (s *Store) ObserveEmail(_, _, result string) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.EmailTimeout)
	defer cancel()
	if err := s.CountEmail(ctx, result); err != nil && s.cfg.OnError != nil {
		s.cfg.OnError(err)
	}
}

// PerMinute returns the events scored in each of the n whole minutes
// before the current one, oldest first (the current minute is still
// filling). n is at most Config.Minutes.
func (s *Store) PerMinute(ctx context.Context, n int) ([]int64, error) {
	if n <= 0 || n > s.cfg.Minutes {
		return nil, fmt.Errorf("activity: %d minutes asked, 1..%d kept", n, s.cfg.Minutes)
	}
	cur := s.cfg.Clock().Unix() / 60
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, n)
	for i := range n {
		cmds[i] = pipe.Get(ctx, minuteKey(cur-int64(n-i)))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("activity: per-minute events: %w", err)
	}
	out := make([]int64, n)
	for i, c := range cmds {
		out[i], _ = strconv.ParseInt(c.Val(), 10, 64)
	}
	return out, nil
}

// Day is one day of the daily series.
type Day struct {
	// Date is the UTC day, "2006-01-02".
	Date string
	// Types: event type → events scored that occurred that day.
	Types map[string]int64
	// Topics: topic → interest points credited that day.
	Topics map[string]float64
	// Emails: result → emails attempted that day.
	Emails map[string]int64
}

// Days returns the last n days of the series, today included, oldest
// first. n is at most Config.Days.
func (s *Store) Days(ctx context.Context, n int) ([]Day, error) {
	if n <= 0 || n > s.cfg.Days {
		return nil, fmt.Errorf("activity: %d days asked, 1..%d kept", n, s.cfg.Days)
	}
	today := s.cfg.Clock().UTC()
	pipe := s.rdb.Pipeline()
	type cmds struct{ t, i, e *redis.MapStringStringCmd }
	cs := make([]cmds, n)
	out := make([]Day, n)
	for i := range n {
		day := dayOf(today.AddDate(0, 0, i-n+1))
		out[i].Date = day
		cs[i] = cmds{pipe.HGetAll(ctx, dayTypesKey(day)), pipe.HGetAll(ctx, dayTopicsKey(day)), pipe.HGetAll(ctx, dayEmailsKey(day))}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("activity: daily series: %w", err)
	}
	for i, c := range cs {
		out[i].Types = ints(c.t.Val())
		out[i].Emails = ints(c.e.Val())
		out[i].Topics = make(map[string]float64, len(c.i.Val()))
		for k, v := range c.i.Val() {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				out[i].Topics[k] = f
			}
		}
	}
	return out, nil
}

func ints(h map[string]string) map[string]int64 {
	out := make(map[string]int64, len(h))
	for k, v := range h {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			out[k] = n
		}
	}
	return out
}
