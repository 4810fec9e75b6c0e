// Package metrics turns what the domain packages report through their
// small observer hooks into Prometheus series, every one prefixed
// longtail_. The domain packages take no prometheus dependency: each
// declares the interface it calls (ingest.Observer, repqueue.Observer,
// notify.EmailObserver, mailer.Observer) and *Metrics implements them all;
// cmd/longtail wires it. The queue gauges read asynq's Inspector, cached
// (QueueCollector), and RedisHook counts Redis errors on the shared client.
//
// Counters are per process: sum them across processes. Gauges read from
// Redis (longtail_queue_*) are the same on every process: take the max.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/mailer"
	"github.com/longtailhq/longtail/notify"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
)

// Metrics holds the counters the domain hooks feed.
type Metrics struct {
	events     *prometheus.CounterVec
	duplicates *prometheus.CounterVec
	dropped    *prometheus.CounterVec
	points     *prometheus.CounterVec
	handoffs   *prometheus.CounterVec
	outcomes   *prometheus.CounterVec
	emails     *prometheus.CounterVec
	smtp       *prometheus.HistogramVec
}

// New registers the series on reg (never the global registry, so tests
// stay isolated) and returns the hooks that feed them.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "longtail_events_ingested_total",
			Help: "Events scored by a worker, by source and type; each event once (duplicates are in longtail_events_duplicate_total).",
		}, []string{"source", "type"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "longtail_events_duplicate_total",
			Help: "Events a worker found already scored (a provider's redelivery, a retried task), by source.",
		}, []string{"source"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "longtail_events_dropped_total",
			Help: "Events of an unknown contact dropped under directory.drop_unknown_contacts, by source.",
		}, []string{"source"}),
		points: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "longtail_points_applied_total",
			Help: "Positive points credited by scoring (before decay), by event type; negative points (an unsubscribe, a bounce) are not counted.",
		}, []string{"type"}),
		handoffs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "longtail_handoffs_total",
			Help: "Hand-offs created, by the routing rule that placed them: owner, territory, round_robin, unrouted (retry: the rep a crashed attempt reserved).",
		}, []string{"rule"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "longtail_outcomes_total",
			Help: "Call outcomes recorded by reps, by outcome.",
		}, []string{"outcome"}),
		emails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "longtail_emails_total",
			Help: "Emails attempted, by kind (handoff, digest, nurture), nurture flow (empty for rep mail) and result (sent, deferred, failed, uncertain).",
		}, []string{"kind", "flow", "result"}),
		smtp: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "longtail_smtp_send_seconds",
			Help:    "SMTP conversation time per message, from taking a session to the server's final reply, by result.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10),
		}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.duplicates, m.dropped, m.points, m.handoffs, m.outcomes, m.emails, m.smtp)
	}
	// Known label values start at 0, so a dashboard's rate() has a
	// baseline and an absent series means a missing feature, not "none yet".
	for _, r := range []string{repqueue.RouteOwner, repqueue.RouteTerritory, repqueue.RouteRoundRobin, repqueue.RouteUnrouted} {
		m.handoffs.WithLabelValues(r)
	}
	for _, o := range repqueue.Outcomes() {
		m.outcomes.WithLabelValues(o)
	}
	for _, k := range []string{notify.KindHandoff, notify.KindDigest} {
		for _, r := range []string{mailer.ResultSent, mailer.ResultDeferred, mailer.ResultFailed, mailer.ResultUncertain} {
			m.emails.WithLabelValues(k, "", r)
		}
	}
	return m
}

// unknown stands in for an empty label value a reader would otherwise
// mistake for a missing label.
func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// EventScored implements ingest.Observer. Only events that changed the
// score count as ingested, so a redelivery or a retried task never
// counts an event twice. Types are validated at the edge (a closed set);
// sources are a handful of names (providers, api, web, repqueue).
func (m *Metrics) EventScored(ev event.Event, r scoring.EventResult) {
	src := orUnknown(ev.Source)
	if r.Duplicate {
		m.duplicates.WithLabelValues(src).Inc()
		return
	}
	m.events.WithLabelValues(src, string(ev.Type)).Inc()
	// A Prometheus counter panics on a negative Add, and a panic fails
	// the whole ingest batch: negative points (an unsubscribe's) are the
	// score's business, not this counter's.
	if r.Points > 0 {
		m.points.WithLabelValues(string(ev.Type)).Add(r.Points)
	}
}

// EventDropped implements ingest.Observer.
func (m *Metrics) EventDropped(ev event.Event) {
	m.dropped.WithLabelValues(orUnknown(ev.Source)).Inc()
}

// HandedOff implements repqueue.Observer.
func (m *Metrics) HandedOff(route string) { m.handoffs.WithLabelValues(route).Inc() }

// OutcomeRecorded implements repqueue.Observer.
func (m *Metrics) OutcomeRecorded(kind string) { m.outcomes.WithLabelValues(kind).Inc() }

// ObserveEmail implements notify.EmailObserver, and is how every sender
// counts its emails: kind "handoff", "digest" or "nurture", flow the
// nurture flow's id ("" for rep mail), result mailer.Result(err) of the
// send ("deferred" also fits a send put off by a send window).
func (m *Metrics) ObserveEmail(kind, flow, result string) {
	m.emails.WithLabelValues(kind, flow, result).Inc()
}

// ObserveSend implements mailer.Observer.
func (m *Metrics) ObserveSend(d time.Duration, err error) {
	m.smtp.WithLabelValues(mailer.Result(err)).Observe(d.Seconds())
}
