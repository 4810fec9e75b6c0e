package jobs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/nurture"
)

// TestEnqueueNurtureManyQueuesEachStepOnce queues a batch twice: every
// step is scheduled, under its step id, once.
func TestEnqueueNurtureManyQueuesEachStepOnce(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t)
	client := asynq.NewClientFromRedisClient(rdb)
	at := time.Now().Add(time.Hour)
	var next []nurture.Next
	for i := range 50 {
		next = append(next, nurture.Next{Task: nurture.Task{Enrollment: fmt.Sprintf("acme:flow:c%02d", i), Step: "welcome", Seq: 1}, At: at})
	}
	for range 2 {
		if err := jobs.EnqueueNurtureMany(context.Background(), client, next); err != nil {
			t.Fatal(err)
		}
	}
	tasks, err := asynq.NewInspectorFromRedisClient(rdb).ListScheduledTasks(jobs.QueueNurture, asynq.PageSize(100))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, ti := range tasks {
		ids[ti.ID] = true
	}
	if len(tasks) != len(next) || len(ids) != len(next) {
		t.Fatalf("%d tasks scheduled (%d ids); want %d", len(tasks), len(ids), len(next))
	}
	for _, n := range next {
		if !ids[jobs.TypeNurtureStep+":"+n.ID()] {
			t.Errorf("step %s not scheduled", n.ID())
		}
	}
}
