package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/httpapi"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/outcome"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/reptoken"
	"github.com/longtailhq/longtail/scoring"
)

// A converted outcome records a deal.won event and says so in its answer,
// with the points the rubric gives it: 0 by default (issue 13: it used to
// be a deal.registered adding 15 points without a word), whatever
// scoring.points.deal.won and the rules make it otherwise. Other outcomes
// record nothing.
func TestConvertedOutcomeSaysWhatItRecords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		scoring scoring.Config
		outcome string
		want    string // recorded_event, "" for none
	}{
		{"default rubric", scoring.Config{}, `{"outcome":"converted","value":12000}`,
			`{"id":"handoff:p1:1:converted","type":"deal.won","value":12000,"points":0}`},
		{"points and a rule for the partner", scoring.Config{
			Points: map[event.Type]float64{event.DealWon: 5},
			Rules:  []scoring.Rule{{Name: "msp-deals", EventType: event.DealWon, PartnerType: "MSP", Multiplier: 2}},
		}, `{"outcome":"converted","value":800}`,
			`{"id":"handoff:p1:1:converted","type":"deal.won","value":800,"points":10}`},
		{"not now", scoring.Config{}, `{"outcome":"not_now"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, ins, _ := outcomeSetup(t, tt.scoring)
			call := func(path, body string) response {
				f := &fixture{srv: srv}
				return f.call(t, "POST", path, adminKey, "application/json", body)
			}
			if r := call("/v1/reps/r1/queue/p1/claim", ""); r.status != 200 {
				t.Fatalf("claim: %d %s", r.status, r.body)
			}
			r := call("/v1/reps/r1/queue/p1/outcome", tt.outcome)
			if r.status != 200 {
				t.Fatalf("outcome: %d %s", r.status, r.body)
			}
			var got struct {
				State         string          `json:"state"`
				RecordedEvent json.RawMessage `json:"recorded_event"`
			}
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			if got.State != "closed" || string(got.RecordedEvent) != tt.want {
				t.Errorf("answer %s\nwant state closed and recorded_event %s", r.body, tt.want)
			}
			// What the answer names is what went to scoring, once.
			tasks, err := ins.ListPendingTasks(jobs.QueueIngest)
			if err != nil && tt.want != "" {
				t.Fatal(err)
			}
			var queued []string
			for _, task := range tasks {
				var p jobs.IngestEventsPayload
				if err := json.Unmarshal(task.Payload, &p); err != nil {
					t.Fatal(err)
				}
				for _, ev := range p.Events {
					queued = append(queued, fmt.Sprintf("%s %s %v", ev.ID, ev.Type, ev.Value))
				}
			}
			var want []string
			if tt.want != "" {
				var rec struct {
					ID    string
					Type  string
					Value float64
				}
				_ = json.Unmarshal([]byte(tt.want), &rec)
				want = []string{fmt.Sprintf("%s %s %v", rec.ID, rec.Type, rec.Value)}
			}
			if diff := cmp.Diff(want, queued); diff != "" {
				t.Errorf("events queued for scoring (-want, +got):\n%s", diff)
			}
		})
	}
}

// outcomeSetup serves the API over a queue where partner p1 (an MSP) has
// crossed the threshold and sits in rep r1's queue.
func outcomeSetup(t *testing.T, sc scoring.Config) (*httptest.Server, *asynq.Inspector, *scoring.Engine) {
	t.Helper()
	ctx := context.Background()
	rdb := redistest.New(t)
	dir, err := directory.New(rdb, directory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := scoring.NewEngine(rdb, sc, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	queue, err := repqueue.New(rdb, dir, engine, repqueue.Config{}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := dir.PutRep(ctx, directory.Rep{ID: "r1", Name: "Rep One", Email: "r1@vendor.example", DailyCapacity: 5, Active: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := dir.PutPartner(ctx, directory.Partner{ID: "p1", Name: "Acme", Type: "MSP", OwnerRepID: "r1"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := dir.PutContact(ctx, directory.Contact{ID: "c1", PartnerID: "p1", Email: "jane@acme.example", Persona: "technical"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var evs []event.Event
	for i := range 4 {
		evs = append(evs, event.Event{ID: fmt.Sprint("w", i), Type: event.WebinarAttended, OccurredAt: now})
	}
	res, err := engine.Apply(ctx, scoring.Target{PartnerID: "p1", ContactID: "c1", PartnerType: "MSP", Persona: "technical"}, evs)
	if err != nil || res.Crossing == nil {
		t.Fatalf("no crossing: %+v, %v", res, err)
	}
	if _, _, err := queue.Handoff(ctx, "p1", res.Crossing.Seq, res.Crossing.CrossedAt); err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { client.Close() })
	tokens, err := reptoken.New(rdb, dir, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	sink := jobs.NewEventQueue(client, time.Second)
	outcomes, err := outcome.New(outcome.Deps{Queue: queue, Events: sink, Webhooks: jobs.NewWebhookQueue(client, 1)})
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Keys: []string{adminKey}}, httpapi.Deps{
		Queue:     queue,
		Tokens:    tokens,
		Outcomes:  outcomes,
		Ready:     func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		Sink:      sink,
		Directory: dir,
		Scores:    engine,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return srv, asynq.NewInspectorFromRedisClient(rdb), engine
}

// GET /v1/leaderboard never lists the unassigned pseudo-partner, even
// when a roll-up reached it and it has the top score (issue 13).
func TestLeaderboardLeavesOutUnassigned(t *testing.T) {
	t.Parallel()
	srv, _, engine := outcomeSetup(t, scoring.Config{})
	var evs []event.Event
	for i := range 6 {
		evs = append(evs, event.Event{ID: fmt.Sprint("u", i), Type: event.WebinarAttended, OccurredAt: time.Now()})
	}
	if _, err := engine.Apply(context.Background(), scoring.Target{PartnerID: directory.DefaultUnassignedPartnerID, ContactID: "stranger"}, evs); err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: srv}
	r := f.call(t, "GET", "/v1/leaderboard?limit=1", adminKey, "", "")
	var got struct {
		Items []struct {
			PartnerID string `json:"partner_id"`
		}
	}
	if err := json.Unmarshal(r.body, &got); err != nil || r.status != 200 {
		t.Fatalf("leaderboard: %d %s", r.status, r.body)
	}
	if len(got.Items) != 1 || got.Items[0].PartnerID != "p1" {
		t.Errorf("leaderboard %s, want only p1", r.body)
	}
}
