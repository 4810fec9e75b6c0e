package jobs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/maintenance"
	"github.com/longtailhq/longtail/nurture"
)

type fakeRetention struct {
	runs int
	err  error
}

func (f *fakeRetention) Run(context.Context) (maintenance.RetentionResult, error) {
	f.runs++
	return maintenance.RetentionResult{Partners: 1}, f.err
}

// fakeCleanup reports ended enrollments as the real cleanup would.
type fakeCleanup struct{ ended []nurture.Ended }

func (f fakeCleanup) Run(ctx context.Context, ended func(context.Context, nurture.Ended) error) (maintenance.CleanupResult, error) {
	res := maintenance.CleanupResult{Ended: map[string]int{}}
	for _, e := range f.ended {
		res.Ended[e.Reason]++
		if err := ended(ctx, e); err != nil {
			return res, err
		}
	}
	return res, nil
}

// The cleanup task removes the pending step of each enrollment it ended
// from the nurture queue, and only those; a step no longer queued is no
// error.
func TestNurtureCleanupRemovesThePendingSteps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.New(t)
	client := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { _ = client.Close() })
	insp := asynq.NewInspectorFromRedisClient(rdb)
	later := time.Now().Add(time.Hour)
	stale := nurture.Next{Task: nurture.Task{Enrollment: "acme:f:jane", Step: "s1", Seq: 3}, At: later}
	live := nurture.Next{Task: nurture.Task{Enrollment: "acme:f:ravi", Step: "s1", Seq: 2}, At: later}
	gone := nurture.Next{Task: nurture.Task{Enrollment: "acme:f:lea", Step: "s2", Seq: 5}, At: later} // never queued
	if err := jobs.EnqueueNurture(ctx, client, stale, live); err != nil {
		t.Fatal(err)
	}
	mux := asynq.NewServeMux()
	ret := &fakeRetention{}
	jobs.RegisterMaintenance(mux, jobs.MaintenanceDeps{
		Retention: ret, Tasks: insp,
		Cleanup: fakeCleanup{ended: []nurture.Ended{
			{Enrollment: stale.Enrollment, Reason: nurture.ReasonStale, Pending: &stale},
			{Enrollment: gone.Enrollment, Reason: nurture.ReasonFlowRemoved, Pending: &gone},
			{Enrollment: "acme:f:omar", Reason: nurture.ReasonContactGone},
		}},
	})
	for range 2 { // a retried task
		if err := mux.ProcessTask(ctx, jobs.NewScheduledNurtureCleanupTask()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := insp.GetTaskInfo(jobs.QueueNurture, jobs.NurtureStepTaskID(stale.Task)); !errors.Is(err, asynq.ErrTaskNotFound) {
		t.Errorf("the ended enrollment's step: %v, want it removed", err)
	}
	if ti, err := insp.GetTaskInfo(jobs.QueueNurture, jobs.NurtureStepTaskID(live.Task)); err != nil || ti.State != asynq.TaskStateScheduled {
		t.Errorf("another enrollment's step: %+v %v, want it still scheduled", ti, err)
	}
	if err := mux.ProcessTask(ctx, jobs.NewScheduledRetentionTask()); err != nil || ret.runs != 1 {
		t.Errorf("retention task: %v, %d runs", err, ret.runs)
	}
	// A failed pass is retried (its walk resumes where it stopped).
	ret.err = errors.New("redis went away")
	if err := mux.ProcessTask(ctx, jobs.NewScheduledRetentionTask()); err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Errorf("failed retention: %v, want a retryable error", err)
	}
}

// With nurture off in the worker, a queued cleanup task is done: nothing
// to clean.
func TestNurtureCleanupWithNurtureOff(t *testing.T) {
	t.Parallel()
	mux := asynq.NewServeMux()
	jobs.RegisterMaintenance(mux, jobs.MaintenanceDeps{Retention: &fakeRetention{}})
	if err := mux.ProcessTask(context.Background(), jobs.NewScheduledNurtureCleanupTask()); err != nil {
		t.Fatal(err)
	}
}
