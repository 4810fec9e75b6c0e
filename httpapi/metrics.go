package httpapi

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the edge's Prometheus series, registered on the registry the
// server is given (never the global one, so tests stay isolated).
type metrics struct {
	webhookEvents   *prometheus.CounterVec
	webhookIgnored  *prometheus.CounterVec
	webhookRejects  *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	eventDates      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		webhookEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "longtail_webhook_events_total", Help: "Events accepted from provider webhooks.",
		}, []string{"provider"}),
		webhookIgnored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "longtail_webhook_ignored_total", Help: "Authentic provider items that carry no scored fact, by provider type.",
		}, []string{"provider", "type"}),
		webhookRejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "longtail_webhook_rejected_total", Help: "Webhook deliveries refused, by reason.",
		}, []string{"provider", "reason"}),
		eventDates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "longtail_event_dates_total",
			Help: "Events whose occurred_at was refused (future: beyond ingest.max_future_skew) or flagged (before_2000), by edge (api or the provider).",
		}, []string{"edge", "verdict"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "longtail_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 10),
		}, []string{"route", "code"}),
	}
	if reg != nil {
		reg.MustRegister(m.webhookEvents, m.webhookIgnored, m.webhookRejects, m.requestDuration, m.eventDates)
	}
	return m
}

func (m *metrics) webhookAccepted(provider string, n int, ignored map[string]int) {
	m.webhookEvents.WithLabelValues(provider).Add(float64(n))
	for typ, c := range ignored {
		m.webhookIgnored.WithLabelValues(provider, typ).Add(float64(c))
	}
}

func (m *metrics) webhookRejected(provider, reason string) {
	m.webhookRejects.WithLabelValues(provider, reason).Inc()
}

// metricsAuth requires Config.MetricsToken as a bearer token, when set.
func (a *API) metricsAuth(next http.Handler) http.Handler {
	if a.cfg.MetricsToken == "" {
		return next
	}
	want := newKeyring([]string{a.cfg.MetricsToken})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		if !ok || !want.match(tok) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="longtail metrics"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "/metrics needs the metrics token as a bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// eventDate counts an event refused or flagged for its date.
func (m *metrics) eventDate(edge, verdict string) {
	m.eventDates.WithLabelValues(edge, verdict).Inc()
}
