package jobs_test

import (
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/jobs"
)

func TestRetryLostLeaseSoon(t *testing.T) {
	t.Parallel()
	f := jobs.RetryLostLeaseSoon(func(int, error, *asynq.Task) time.Duration { return time.Hour })
	task := asynq.NewTask(jobs.TypeIngestEvents, nil)
	tests := []struct {
		err  error
		want time.Duration
	}{
		{asynq.ErrLeaseExpired, time.Second},
		{errors.New("redis: connection refused"), time.Hour},
	}
	for _, tt := range tests {
		if got := f(3, tt.err, task); got != tt.want {
			t.Errorf("delay after %v = %s, want %s", tt.err, got, tt.want)
		}
	}
}
