package metrics

import (
	"slices"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// QueueConfig configures a QueueCollector.
type QueueConfig struct {
	// Inspector reads the queues. Required.
	Inspector *asynq.Inspector
	// Queues are reported even before asynq knows them (a queue exists in
	// Redis only once a task was enqueued), at 0. Others asynq knows are
	// reported too.
	Queues []string
	// MaxAge: a scrape within MaxAge of the last refresh gets the cached
	// figures, so scrapes stay cheap however often and from however many
	// scrapers they come. If zero, 5s.
	MaxAge time.Duration
	// Clock times the cache. If nil, time.Now.
	Clock func() time.Time
	Log   zerolog.Logger
}

// QueueCollector reports asynq's queues:
//
//	longtail_queue_depth{queue,state}       tasks by state (pending, active, scheduled, retry, archived, completed, aggregating)
//	longtail_task_latency_seconds{queue}    age of the oldest pending task: how long work waits
//	longtail_tasks_processed_total{queue}   tasks processed (asynq's cumulative count, all processes)
//	longtail_tasks_failed_total{queue}      tasks that failed an attempt (same)
//	longtail_queue_scrape_errors_total      refreshes that could not read a queue
//
// The figures come from Redis and are the same on every process: take
// the max across processes, not the sum.
type QueueCollector struct {
	cfg QueueConfig

	depth, latency, processed, failed *prometheus.Desc
	errs                              prometheus.Counter

	mu      sync.Mutex
	at      time.Time
	infos   []*asynq.QueueInfo
	fetched bool
}

// NewQueueCollector validates cfg; register the result on a registry.
func NewQueueCollector(cfg QueueConfig) (*QueueCollector, error) {
	if cfg.Inspector == nil {
		return nil, errNoInspector
	}
	if cfg.MaxAge < 0 {
		return nil, errNegativeMaxAge
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = 5 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &QueueCollector{
		cfg:       cfg,
		depth:     prometheus.NewDesc("longtail_queue_depth", "Tasks in an asynq queue, by state (pending is the backlog workers scale on).", []string{"queue", "state"}, nil),
		latency:   prometheus.NewDesc("longtail_task_latency_seconds", "Age of the oldest pending task of a queue: how long work waits for a worker.", []string{"queue"}, nil),
		processed: prometheus.NewDesc("longtail_tasks_processed_total", "Tasks processed from a queue, succeeded or failed (asynq's count across all workers).", []string{"queue"}, nil),
		failed:    prometheus.NewDesc("longtail_tasks_failed_total", "Task attempts that failed, by queue (asynq's count across all workers).", []string{"queue"}, nil),
		errs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "longtail_queue_scrape_errors_total", Help: "Refreshes of the queue figures that failed to read Redis.",
		}),
	}, nil
}

// Describe implements prometheus.Collector.
func (c *QueueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.latency
	ch <- c.processed
	ch <- c.failed
	c.errs.Describe(ch)
}

// Collect implements prometheus.Collector: it reports the cached figures,
// refreshing them first when older than MaxAge. Concurrent scrapes wait
// for one refresh instead of each reading Redis.
func (c *QueueCollector) Collect(ch chan<- prometheus.Metric) {
	for _, qi := range c.snapshot() {
		for _, s := range []struct {
			state string
			n     int
		}{
			{"pending", qi.Pending}, {"active", qi.Active}, {"scheduled", qi.Scheduled}, {"retry", qi.Retry},
			{"archived", qi.Archived}, {"completed", qi.Completed}, {"aggregating", qi.Aggregating},
		} {
			ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(s.n), qi.Queue, s.state)
		}
		ch <- prometheus.MustNewConstMetric(c.latency, prometheus.GaugeValue, qi.Latency.Seconds(), qi.Queue)
		ch <- prometheus.MustNewConstMetric(c.processed, prometheus.CounterValue, float64(qi.ProcessedTotal), qi.Queue)
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(qi.FailedTotal), qi.Queue)
	}
	c.errs.Collect(ch)
}

// snapshot returns the queue figures, at most MaxAge old. A failed refresh
// keeps the last figures (and counts the failure), so one slow Redis
// moment does not blank the dashboards.
func (c *QueueCollector) snapshot() []*asynq.QueueInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Clock()
	if c.fetched && now.Sub(c.at) < c.cfg.MaxAge {
		return c.infos
	}
	infos, err := c.read()
	if err != nil {
		c.errs.Inc()
		c.cfg.Log.Warn().Err(err).Msg("metrics: reading the task queues failed; reporting the last figures")
		c.at, c.fetched = now, true // wait MaxAge before trying again
		return c.infos
	}
	c.infos, c.at, c.fetched = infos, now, true
	return infos
}

func (c *QueueCollector) read() ([]*asynq.QueueInfo, error) {
	names, err := c.cfg.Inspector.Queues()
	if err != nil {
		return nil, err
	}
	var out []*asynq.QueueInfo
	for _, q := range c.cfg.Queues {
		if !slices.Contains(names, q) {
			out = append(out, &asynq.QueueInfo{Queue: q})
		}
	}
	for _, q := range names {
		qi, err := c.cfg.Inspector.GetQueueInfo(q)
		if err != nil {
			return nil, err
		}
		out = append(out, qi)
	}
	slices.SortFunc(out, func(a, b *asynq.QueueInfo) int {
		switch {
		case a.Queue < b.Queue:
			return -1
		case a.Queue > b.Queue:
			return 1
		}
		return 0
	})
	return out, nil
}
