package scoring_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/scoring"
	"github.com/redis/go-redis/v9"
)

// The ingest job scores one contact's events and hands off a crossing
// exactly once. It needs a Redis (LONGTAIL_REDIS_URL), so it has no Output
// and is compiled, not run, by go test.
func ExampleEngine_Apply() {
	opt, err := redis.ParseURL(os.Getenv("LONGTAIL_REDIS_URL"))
	if err != nil {
		log.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	eng, err := scoring.NewEngine(rdb, scoring.Config{Threshold: 15}, time.Now)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	res, err := eng.Apply(ctx, scoring.Target{PartnerID: "acme", ContactID: "jane", Persona: "technical"},
		[]event.Event{
			{ID: "sg:1", Type: event.EmailOpen, MessageID: "m1", OccurredAt: now},
			{ID: "sg:2", Type: event.EmailClick, MessageID: "m1", OccurredAt: now, Topic: "security"},
			{ID: "zoom:9", Type: event.WebinarAttended, OccurredAt: now, Topic: "security"},
		})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("partner score %.0f\n", res.PartnerScore)
	if c := res.Crossing; c != nil {
		// Enqueue the handoff task with c.HandoffID() as its task id, then:
		if _, err := eng.AckCrossing(ctx, c.PartnerID, c.Seq); err != nil {
			log.Fatal(err)
		}
	}
}

// A simulator replays events against the rules without Redis.
func ExampleModel() {
	m, err := scoring.NewModel(scoring.Config{Threshold: 15})
	if err != nil {
		log.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	t := scoring.Target{PartnerID: "acme", ContactID: "jane"}
	for i, typ := range []event.Type{event.EmailOpen, event.WebVisit, event.EmailClick, event.WebinarAttended} {
		res := m.Apply(t, []event.Event{{ID: fmt.Sprint(i), Type: typ, OccurredAt: now}}, now)
		if res.Crossing != nil && res.Crossing.New {
			fmt.Printf("handoff after %s at %.0f points\n", typ, res.PartnerScore)
		}
	}
	fmt.Printf("a month later: %.1f\n", m.PartnerScore("acme", now.Add(30*24*time.Hour)))
	// Output:
	// handoff after webinar.attended at 19 points
	// a month later: 9.5
}
