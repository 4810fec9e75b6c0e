package metrics_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/mailer"
	"github.com/longtailhq/longtail/metrics"
	"github.com/longtailhq/longtail/scoring"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// sample reads one sample of a gathered family by its labels.
func sample(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			switch {
			case m.Gauge != nil:
				return m.GetGauge().GetValue(), true
			case m.Counter != nil:
				return m.GetCounter().GetValue(), true
			}
		}
	}
	return 0, false
}

func TestRedisHookCountsErrorsNotAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	hook := metrics.NewRedisHook(reg)
	rdb := redistest.New(t)
	rdb.AddHook(hook)

	// Answers, not errors: a missing key, a script go-redis loads itself.
	if err := rdb.Get(ctx, "missing").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("get missing = %v", err)
	}
	if err := redis.NewScript(`return 1`).Run(ctx, rdb, nil).Err(); err != nil {
		t.Fatal(err)
	}
	// Errors: a server error, and one inside a pipeline.
	if err := rdb.Do(ctx, "nosuchcommand").Err(); err == nil {
		t.Fatal("unknown command succeeded")
	}
	rdb.Set(ctx, "str", "x", 0)
	pipe := rdb.Pipeline()
	pipe.Get(ctx, "str")
	pipe.HGet(ctx, "str", "f") // WRONGTYPE
	if _, err := pipe.Exec(ctx); err == nil {
		t.Fatal("pipeline with a wrong-type command succeeded")
	}
	// A connection that cannot be made.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	dead := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer dead.Close()
	dead.AddHook(hook)
	_ = dead.Ping(ctx).Err()

	for _, c := range []struct {
		op   string
		want float64
	}{
		{"nosuchcommand", 1}, {"hget", 1}, {"get", 0}, {"evalsha", 0}, {"eval", 0},
	} {
		got, _ := sample(t, reg, "longtail_redis_errors_total", map[string]string{"op": c.op})
		if got != c.want {
			t.Errorf("longtail_redis_errors_total{op=%q} = %g, want %g", c.op, got, c.want)
		}
	}
	// The pool tries a few dials per command: each failed one counts.
	if got, _ := sample(t, reg, "longtail_redis_errors_total", map[string]string{"op": "dial"}); got < 1 {
		t.Errorf("longtail_redis_errors_total{op=\"dial\"} = %g, want the failed dials", got)
	}
}

func TestQueueCollectorCachesBetweenScrapes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.New(t)
	client := asynq.NewClientFromRedisClient(rdb)
	clock := testclock.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	qc, err := metrics.NewQueueCollector(metrics.QueueConfig{
		Inspector: asynq.NewInspectorFromRedisClient(rdb), Queues: []string{"ingest", "handoff"},
		MaxAge: 10 * time.Second, Clock: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(qc)
	pending := func(q string) float64 {
		t.Helper()
		v, ok := sample(t, reg, "longtail_queue_depth", map[string]string{"queue": q, "state": "pending"})
		if !ok {
			t.Fatalf("no longtail_queue_depth{queue=%q,state=pending}", q)
		}
		return v
	}
	enqueue := func(n int) {
		for range n {
			if _, err := client.EnqueueContext(ctx, asynq.NewTask("t", nil), asynq.Queue("ingest")); err != nil {
				t.Fatal(err)
			}
		}
	}
	enqueue(2)
	if got := pending("ingest"); got != 2 {
		t.Fatalf("ingest pending = %g, want 2", got)
	}
	if got := pending("handoff"); got != 0 {
		t.Fatalf("handoff (never used) pending = %g, want 0", got)
	}
	enqueue(3)
	clock.Advance(9 * time.Second)
	if got := pending("ingest"); got != 2 {
		t.Errorf("within MaxAge: ingest pending = %g, want the cached 2", got)
	}
	clock.Advance(time.Second)
	if got := pending("ingest"); got != 5 {
		t.Errorf("after MaxAge: ingest pending = %g, want 5", got)
	}
	if _, err := metrics.NewQueueCollector(metrics.QueueConfig{}); err == nil {
		t.Error("a collector without an inspector was accepted")
	}
}

func TestEventsCountOnceAndEmailsByResult(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	ev := event.Event{ID: "a", Type: event.EmailClick, Source: "sendgrid"}
	m.EventScored(ev, scoring.EventResult{ID: "a", Points: 5})
	m.EventScored(ev, scoring.EventResult{ID: "a", Duplicate: true})
	// Negative points count as an event, not as points (a counter never
	// goes down; this used to panic and fail the batch).
	m.EventScored(event.Event{ID: "u", Type: event.EmailUnsubscribe, Source: "sendgrid"}, scoring.EventResult{ID: "u", Points: -10})
	m.EventDropped(event.Event{ID: "b", Type: event.EmailOpen})
	for _, err := range []error{nil, errors.New("421 try later"), mailer.ErrPermanent, mailer.ErrUncertain} {
		m.ObserveEmail("nurture", "msp-onboarding", mailer.Result(err))
		m.ObserveSend(20*time.Millisecond, err)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"longtail_events_ingested_total", map[string]string{"source": "sendgrid", "type": "email.click"}, 1},
		{"longtail_events_duplicate_total", map[string]string{"source": "sendgrid"}, 1},
		{"longtail_events_dropped_total", map[string]string{"source": "unknown"}, 1},
		{"longtail_points_applied_total", map[string]string{"type": "email.click"}, 5},
		{"longtail_emails_total", map[string]string{"kind": "nurture", "flow": "msp-onboarding", "result": "sent"}, 1},
		{"longtail_emails_total", map[string]string{"kind": "nurture", "flow": "msp-onboarding", "result": "deferred"}, 1},
		{"longtail_emails_total", map[string]string{"kind": "nurture", "flow": "msp-onboarding", "result": "failed"}, 1},
		{"longtail_emails_total", map[string]string{"kind": "nurture", "flow": "msp-onboarding", "result": "uncertain"}, 1},
	} {
		if got, ok := sample(t, reg, c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %g (present %v), want %g", c.name, c.labels, got, ok, c.want)
		}
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "longtail_smtp_send_seconds" {
			continue
		}
		if n := len(f.GetMetric()); n != 4 {
			t.Errorf("longtail_smtp_send_seconds has %d series, want one per result (4)", n)
		}
		for _, m := range f.GetMetric() {
			if c := m.GetHistogram().GetSampleCount(); c != 1 {
				t.Errorf("longtail_smtp_send_seconds%v counted %d sends, want 1", m.GetLabel(), c)
			}
		}
	}
}
