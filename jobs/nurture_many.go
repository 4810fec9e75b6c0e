package jobs

import (
	"context"
	"fmt"
	"sync"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/nurture"
)

// enqueueWorkers is how many step tasks EnqueueNurtureMany queues at once.
// asynq has no batched enqueue (each task is one script call that checks
// its TaskID), so overlapping the calls on the client's connection pool is
// what hides their round trips.
const enqueueWorkers = 16

// EnqueueNurtureMany is EnqueueNurture for the steps of a batch of
// enrollments (nurture.Engine.EnrollMany): the same tasks under the same
// ids, queued concurrently. It returns the first error after trying every
// step; queueing a step again is a no-op, so the caller may retry the batch.
func EnqueueNurtureMany(ctx context.Context, c *asynq.Client, next []nurture.Next) error {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	work := make(chan nurture.Next)
	for range min(len(next), enqueueWorkers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				if err := enqueue(ctx, c, NewNurtureStepTask(n)); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("queue nurture step %s: %w", n.ID(), err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, n := range next {
		work <- n
	}
	close(work)
	wg.Wait()
	return first
}
