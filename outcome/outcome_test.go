package outcome_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/outcome"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// The entry points (httpapi, ui) test the failure path with the task
// queue away; this tests the steps themselves.

func TestNewRequiresItsSteps(t *testing.T) {
	t.Parallel()
	if _, err := outcome.New(outcome.Deps{}); err == nil {
		t.Error("New without deps succeeded")
	}
}

func TestRecordRunsEachFollowUpOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.New(t)
	clk := testclock.New(time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC)) // a Monday, in business hours
	dir, err := directory.New(rdb, directory.Config{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := scoring.NewEngine(rdb, scoring.Config{Threshold: 9}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	q, err := repqueue.New(rdb, dir, engine, repqueue.Config{}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { _ = client.Close() })
	r, err := outcome.New(outcome.Deps{Queue: q, Events: jobs.NewEventQueue(client, time.Second), Webhooks: jobs.NewWebhookQueue(client, 2), Clock: clk.Now,
		Nurture: jobs.NewNurtureTriggerQueue(client)})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := dir.PutRep(ctx, directory.Rep{ID: "r1", Name: "Rita", Email: "rita@vendor.example", DailyCapacity: 5, Active: true}); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []string{"won", "later"} {
		if _, _, err := dir.PutPartner(ctx, directory.Partner{ID: pid, Name: pid, OwnerRepID: "r1"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := dir.PutContact(ctx, directory.Contact{ID: "c-" + pid, PartnerID: pid, Email: "jane@" + pid + ".example"}); err != nil {
			t.Fatal(err)
		}
		res, err := engine.Apply(ctx, scoring.Target{PartnerID: pid, ContactID: "c-" + pid},
			[]event.Event{{ID: "w-" + pid, Type: event.WebinarAttended, OccurredAt: clk.Now(), Source: "test"}})
		if err != nil || res.Crossing == nil {
			t.Fatalf("no crossing for %s: %v", pid, err)
		}
		if _, _, err := q.Handoff(ctx, pid, res.Crossing.Seq, res.Crossing.CrossedAt); err != nil {
			t.Fatal(err)
		}
		if _, err := q.Claim(ctx, "r1", pid); err != nil {
			t.Fatal(err)
		}
	}
	// A refused outcome records nothing and runs no follow-up.
	if e, err := r.Record(ctx, "r1", "won", repqueue.Outcome{Kind: "maybe"}); e != nil || !errors.Is(err, repqueue.ErrInvalid) || errors.Is(err, outcome.ErrFollowUp) {
		t.Fatalf("refused outcome = %v, %v; want no entry and repqueue.ErrInvalid", e, err)
	}
	for range 2 { // a retried request
		if _, err := r.Record(ctx, "r1", "won", repqueue.Outcome{Kind: repqueue.OutcomeConverted, Value: 900}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Record(ctx, "r1", "later", repqueue.Outcome{Kind: repqueue.OutcomeNotNow}); err != nil {
			t.Fatal(err)
		}
	}
	ins := asynq.NewInspectorFromRedisClient(rdb)
	ingest, err := ins.ListPendingTasks(jobs.QueueIngest)
	if err != nil {
		t.Fatal(err)
	}
	hooks, err := ins.ListPendingTasks(jobs.QueueHandoff)
	if err != nil {
		t.Fatal(err)
	}
	// One deal event (only the conversion has one), and one delivery per
	// outcome per receiver.
	if len(ingest) != 1 || len(hooks) != 4 {
		t.Errorf("queued %d deal-event tasks and %d webhook deliveries, want 1 and 4 (2 outcomes × 2 receivers)", len(ingest), len(hooks))
	}
	// Nurture is told once per outcome: the conversion ends the partner's
	// enrollments, the recycle resumes and triggers them.
	nurt, err := ins.ListPendingTasks(jobs.QueueNurture)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, task := range nurt {
		var p jobs.NurtureTriggerPayload
		if err := json.Unmarshal(task.Payload, &p); err != nil || task.Type != jobs.TypeNurtureTrigger {
			t.Fatalf("task %s %s: %v", task.Type, task.Payload, err)
		}
		got[p.PartnerID] = p.Outcome
	}
	if len(nurt) != 2 || got["won"] != "converted" || got["later"] != "recycled" {
		t.Errorf("nurture tasks %v (%d), want won converted and later recycled, once each", got, len(nurt))
	}
	// not_now recycled the partner: it may cross the threshold again.
	res, err := engine.Apply(ctx, scoring.Target{PartnerID: "later", ContactID: "c-later"},
		[]event.Event{{ID: "w2-later", Type: event.WebinarAttended, OccurredAt: clk.Now(), Source: "test"}})
	if err != nil || res.Crossing == nil || res.Crossing.Seq != 2 {
		t.Errorf("after not_now, a new crossing = %+v, %v; want seq 2", res.Crossing, err)
	}
}
