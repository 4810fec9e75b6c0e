package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/ingest"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/scoring"
)

func TestMain(m *testing.M) { redistest.Main(m) }

type bundle struct {
	dir    *directory.Store
	engine *scoring.Engine
	proc   *ingest.Processor
	ins    *asynq.Inspector
}

func setup(t *testing.T, cfg ingest.Config) *bundle {
	t.Helper()
	rdb := redistest.New(t)
	dir, err := directory.New(rdb, directory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := scoring.NewEngine(rdb, scoring.Config{Threshold: 12}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { client.Close() })
	proc, err := ingest.NewProcessor(cfg, dir, engine, jobs.NewHandoffQueue(client))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := dir.PutPartner(ctx, directory.Partner{ID: "acme", Name: "Acme", Type: "MSP", Tier: "silver"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := dir.PutContact(ctx, directory.Contact{ID: "jane", PartnerID: "acme", Email: "jane@acme.example"}); err != nil {
		t.Fatal(err)
	}
	return &bundle{dir: dir, engine: engine, proc: proc, ins: asynq.NewInspectorFromRedisClient(rdb)}
}

func ev(id string, typ event.Type, email, contactID string) event.Event {
	return event.Event{ID: id, Type: typ, Email: email, ContactID: contactID, OccurredAt: time.Now(), Source: "test"}
}

func TestProcessResolvesContacts(t *testing.T) {
	t.Parallel()
	b := setup(t, ingest.Config{})
	ctx := context.Background()
	err := b.proc.Process(ctx, []event.Event{
		ev("1", event.WebVisit, "", "jane"),                        // by id
		ev("2", event.WebVisit, "JANE@acme.example", ""),           // by email, any case
		ev("3", event.WebVisit, "new@stranger.example", ""),        // unknown: created, unassigned
		ev("4", event.WebVisit, "", "ghost"),                       // unknown id, no email: dropped
		ev("5", event.WebVisit, "jane@acme.example", "no-such-id"), // unknown id: falls back to email
	})
	if err != nil {
		t.Fatal(err)
	}
	jane, err := b.engine.Contact(ctx, "acme", "jane")
	if err != nil {
		t.Fatal(err)
	}
	if len(jane.Timeline) != 3 || jane.Score < 8.99 {
		t.Errorf("jane: %d timeline items, score %.2f; want 3 visits, 9 points", len(jane.Timeline), jane.Score)
	}
	stranger, err := b.dir.ContactByEmail(ctx, "new@stranger.example")
	if err != nil {
		t.Fatalf("unknown email did not become a contact: %v", err)
	}
	if stranger.PartnerID != "unassigned" {
		t.Errorf("new contact under %q", stranger.PartnerID)
	}
	st := b.proc.Stats()
	if st.Applied != 4 || st.Dropped != 1 || st.ContactsCreated != 1 {
		t.Errorf("stats %+v, want 4 applied, 1 dropped, 1 created", st)
	}
	// The unassigned pseudo-partner never rolls up or crosses.
	if p, err := b.engine.Partner(ctx, "unassigned"); err == nil && p.Score != 0 {
		t.Errorf("unassigned partner has score %.2f", p.Score)
	}
}

func TestProcessDropsUnknownWhenConfigured(t *testing.T) {
	t.Parallel()
	b := setup(t, ingest.Config{DropUnknownContacts: true})
	if err := b.proc.Process(context.Background(), []event.Event{ev("1", event.EmailOpen, "who@nowhere.example", "")}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.dir.ContactByEmail(context.Background(), "who@nowhere.example"); err == nil {
		t.Error("contact created although drop_unknown_contacts is set")
	}
	if st := b.proc.Stats(); st.Dropped != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestProcessHandsOffACrossingOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, ingest.Config{})
	ctx := context.Background()
	batch := []event.Event{ev("w1", event.WebinarAttended, "", "jane"), ev("v1", event.WebVisit, "", "jane")} // 13 ≥ 12
	for i := 0; i < 3; i++ {                                                                                  // the task retried: still one hand-off
		if err := b.proc.Process(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	info, err := b.ins.GetQueueInfo(jobs.QueueHandoff)
	if err != nil {
		t.Fatal(err)
	}
	if info.Pending != 1 {
		t.Errorf("%d hand-offs queued, want 1", info.Pending)
	}
	p, err := b.engine.Partner(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if p.ThresholdCrossedAt == nil {
		t.Error("threshold_crossed_at not recorded")
	}
	if st := b.proc.Stats(); st.Crossings != 1 || st.Duplicates != 4 {
		t.Errorf("stats %+v, want 1 crossing and 4 duplicates", st)
	}
}
