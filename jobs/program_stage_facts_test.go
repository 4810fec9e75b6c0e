package jobs_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/jobs"
)

// PartnersChanged queues program:stage for the partners whose joined_at
// or left_at moved (created ones included), once per change however often
// it is reported, and for no other change.
func TestProgramStageQueueQueuesDateChangesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.New(t)
	client := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { client.Close() })
	q := jobs.NewProgramStageQueue(client)
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	p := func(id, tier, joined, left string) directory.Partner {
		return directory.Partner{ID: id, Name: id, Tier: tier, JoinedAt: joined, LeftAt: left, UpdatedAt: at}
	}
	changes := []directory.PartnerChange{
		{After: p("new", "", "2025-12-01", "")}, // created
		{Existed: true, Before: p("left", "", "2025-12-01", ""), After: p("left", "", "2025-12-01", "2026-01-05")},
		{Existed: true, Before: p("joined", "", "2025-12-01", ""), After: p("joined", "", "2025-11-01", "")},
		{Existed: true, Before: p("tier", "silver", "2025-12-01", ""), After: p("tier", "gold", "2025-12-01", "")},
		{Existed: true, Before: p("spelling", "", "2025-12-01", ""), After: p("spelling", "", "2025-12-01T00:00:00Z", "")},
	}
	// Reported twice, as a retried import batch would.
	for range 2 {
		if err := q.PartnersChanged(ctx, changes...); err != nil {
			t.Fatal(err)
		}
	}
	tasks, err := asynq.NewInspectorFromRedisClient(rdb).ListPendingTasks(jobs.QueueProgram, asynq.PageSize(100))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ti := range tasks {
		if ti.Type != jobs.TypeProgramStage {
			t.Fatalf("queued %s, want %s", ti.Type, jobs.TypeProgramStage)
		}
		var pl jobs.ProgramStagePayload
		if err := json.Unmarshal(ti.Payload, &pl); err != nil {
			t.Fatal(err)
		}
		got = append(got, pl.PartnerID)
	}
	slices.Sort(got)
	if want := []string{"joined", "left", "new"}; !slices.Equal(got, want) {
		t.Errorf("stage tasks for %v, want %v once each", got, want)
	}
	if err := q.PartnersChanged(ctx); err != nil {
		t.Errorf("no change: %v", err)
	}
}
