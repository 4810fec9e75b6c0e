package httpapi_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
)

// claimedEntry hands partner p1 off to rep r1 and claims it.
func claimedEntry(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	if _, _, err := f.dir.PutRep(ctx, directory.Rep{ID: "r1", Name: "Rita", Email: "rita@vendor.example", DailyCapacity: 5, Active: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.dir.PutPartner(ctx, directory.Partner{ID: "p1", Name: "Acme", OwnerRepID: "r1"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.dir.PutContact(ctx, directory.Contact{ID: "c1", PartnerID: "p1", Email: "jane@acme.example"}); err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	for i := range 4 { // 40 ≥ the default threshold of 30
		evs = append(evs, event.Event{ID: "w" + string(rune('0'+i)), Type: event.WebinarAttended, OccurredAt: time.Now(), Source: "test"})
	}
	res, err := f.engine.Apply(ctx, scoring.Target{PartnerID: "p1", ContactID: "c1"}, evs)
	if err != nil || res.Crossing == nil {
		t.Fatalf("no crossing: %v", err)
	}
	if _, _, err := f.queue.Handoff(ctx, "p1", res.Crossing.Seq, res.Crossing.CrossedAt); err != nil {
		t.Fatal(err)
	}
	if r := f.call(t, "POST", "/v1/reps/r1/queue/p1/claim", adminKey, "", ""); r.status != 200 {
		t.Fatalf("claim: %d %s", r.status, r.body)
	}
}

// followUps returns the deal events and the outcome webhooks queued.
func (f *fixture) followUps(t *testing.T) (deals []event.Event, hooks []string) {
	t.Helper()
	for _, q := range []string{jobs.QueueIngest, jobs.QueueHandoff} {
		tasks, err := f.ins.ListPendingTasks(q)
		if err != nil {
			continue // a queue nothing was put in does not exist yet
		}
		for _, ti := range tasks {
			switch ti.Type {
			case jobs.TypeIngestEvents:
				var p jobs.IngestEventsPayload
				if err := json.Unmarshal(ti.Payload, &p); err != nil {
					t.Fatal(err)
				}
				deals = append(deals, p.Events...)
			case jobs.TypeNotifyWebhook:
				hooks = append(hooks, ti.ID)
			}
		}
	}
	return deals, hooks
}

// TestOutcomeFollowUpFailureIs503ThenRetried: the outcome is recorded
// while the task queue is away; the API says 503 so the client retries,
// and the retry queues the deal event and the webhook, once each however
// often it is repeated.
func TestOutcomeFollowUpFailureIs503ThenRetried(t *testing.T) {
	t.Parallel()
	tasksSrv := redistest.StartServer(t)
	tasks := redis.NewClient(tasksSrv.Options())
	t.Cleanup(func() { _ = tasks.Close() })
	f := setupOn(t, redistest.New(t), tasks)
	claimedEntry(t, f)
	const body = `{"outcome":"converted","note":"Signed","value":1200}`

	tasksSrv.Stop()
	r := f.call(t, "POST", "/v1/reps/r1/queue/p1/outcome", adminKey, "application/json", body)
	if r.status != 503 || r.header.Get("Retry-After") == "" || errorCode(t, r) != "unavailable" {
		t.Fatalf("outcome with the task queue away: %d %s, want 503 with Retry-After", r.status, r.body)
	}
	e, err := f.queue.Get(context.Background(), "p1")
	if err != nil || e.State != repqueue.StateClosed || e.Outcome != repqueue.OutcomeConverted {
		t.Fatalf("entry after the 503: %+v, %v; want the outcome recorded", e, err)
	}

	if err := tasksSrv.Start(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // the client's retry, and one more
		if r := f.call(t, "POST", "/v1/reps/r1/queue/p1/outcome", adminKey, "application/json", body); r.status != 200 {
			t.Fatalf("retry %d: %d %s", i, r.status, r.body)
		}
	}
	deals, hooks := f.followUps(t)
	if len(deals) != 1 || deals[0].Type != event.DealWon || deals[0].Value != 1200 || deals[0].PartnerID != "p1" {
		t.Errorf("deal events queued: %+v, want one deal.won of 1200 for p1", deals)
	}
	if len(hooks) != 1 {
		t.Errorf("outcome webhooks queued: %v, want one", hooks)
	}
}

// TestOutcomeRefusedRunsNoFollowUp: an outcome the queue refuses records
// nothing and queues nothing.
func TestOutcomeRefusedRunsNoFollowUp(t *testing.T) {
	t.Parallel()
	f := setup(t)
	claimedEntry(t, f)
	r := f.call(t, "POST", "/v1/reps/r1/queue/p1/outcome", adminKey, "application/json", `{"outcome":"converted","value":-5}`)
	if r.status != 400 || errorCode(t, r) != "invalid" {
		t.Fatalf("bad outcome: %d %s, want 400", r.status, r.body)
	}
	if deals, hooks := f.followUps(t); len(deals)+len(hooks) != 0 {
		t.Errorf("a refused outcome queued %v %v", deals, hooks)
	}
}
