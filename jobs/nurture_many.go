package jobs

import (
	"context"
	"fmt"
	"sync"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/nurture"
)

// enqueueWorkers is how many tasks enqueueMany queues at once. asynq
// has no batched enqueue (each task is one script call that checks its
// TaskID), so overlapping the calls on the client's connection pool is
// what hides their round trips.
const enqueueWorkers = 16

// EnqueueNurtureMany is EnqueueNurture for the steps of a batch of
// enrollments (nurture.Engine.EnrollMany): the same tasks under the same
// ids, queued concurrently. It returns the first error after trying every
// step; queueing a step again is a no-op, so the caller may retry the batch.
func EnqueueNurtureMany(ctx context.Context, c *asynq.Client, next []nurture.Next) error {
	return enqueueMany(ctx, c, len(next), func(i int) (*asynq.Task, string) {
		return NewNurtureStepTask(next[i]), "nurture step " + next[i].ID()
	})
}

// enqueueMany queues the n tasks task(i) gives, enqueueWorkers at a time,
// and returns the first error (naming the task by what task(i) says)
// after trying every one. Each task has its TaskID, so queueing it again
// is a no-op and the caller may retry the whole lot.
func enqueueMany(ctx context.Context, c *asynq.Client, n int, task func(i int) (*asynq.Task, string)) error {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	work := make(chan int)
	for range min(n, enqueueWorkers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				t, name := task(i)
				if err := enqueue(ctx, c, t); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("queue %s: %w", name, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	return first
}
