package main

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/jobs"
)

// TestTwoSchedulersQueueEachTickOnce runs two `serve --role scheduler`
// processes and a worker on one Redis, every periodic job on a one-second
// schedule: each tick of each job is queued by one scheduler, refused to
// the other, and run once. (asynq's own Scheduler would queue every tick
// twice, under random task ids.)
func TestTwoSchedulersQueueEachTickOnce(t *testing.T) {
	t.Parallel()
	opt := redistest.Options(t)
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	env := []string{
		"LONGTAIL_REDIS_URL=" + redistest.OptionsURL(opt), "LONGTAIL_LOG_LEVEL=debug",
		"LONGTAIL_SCHEDULES_RFM=@every 1s", "LONGTAIL_HANDOFF_SWEEP_SCHEDULE=@every 1s",
		"LONGTAIL_HANDOFF_DIGEST_SCHEDULE=@every 1s",
		"LONGTAIL_SCHEDULES_RETENTION=@every 1s", "LONGTAIL_SCHEDULES_ENROLLMENT_CLEANUP=@every 1s",
		// The health listener's "listening on" line tells the harness the
		// process is up.
		"LONGTAIL_HTTP_HEALTH_LISTEN=127.0.0.1:0",
	}
	startRole(t, "worker", env...)
	scheds := []*service{startRole(t, "scheduler", env...), startRole(t, "scheduler", env...)}
	// Ticks after this both schedulers attempt (one starts before the other).
	bothUp := time.Now().Add(time.Second)
	after := func(id string) bool {
		_, ts, _ := strings.Cut(strings.TrimPrefix(id, "periodic:"), ":")
		at, err := time.Parse(time.RFC3339, ts)
		return err == nil && at.After(bothUp)
	}
	queueOf := map[string]string{
		"rfm": jobs.QueuePeriodic, "handoff-sweep": jobs.QueueHandoff, "notify-digest": jobs.QueuePeriodic,
		"retention": jobs.QueuePeriodic, "enrollment-cleanup": jobs.QueuePeriodic,
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)

	// ran lists the ticks each job ran (completed tasks), by TaskID.
	ran := func() (map[string][]string, error) {
		out := map[string][]string{}
		for _, q := range []string{jobs.QueuePeriodic, jobs.QueueHandoff} {
			tasks, err := insp.ListCompletedTasks(q, asynq.PageSize(1000))
			if err != nil && !strings.Contains(err.Error(), "not found") {
				return nil, err
			}
			for _, ti := range tasks {
				name, _, _ := strings.Cut(strings.TrimPrefix(ti.ID, "periodic:"), ":")
				out[name] = append(out[name], ti.ID)
			}
		}
		return out, nil
	}
	eventually(t, 30*time.Second, func() error {
		r, err := ran()
		if err != nil {
			return err
		}
		for name := range queueOf {
			n := 0
			for _, id := range r[name] {
				if after(id) {
					n++
				}
			}
			if n < 4 {
				return errorf("%s ran %d ticks since both schedulers run", name, n)
			}
		}
		return nil
	})
	for _, s := range scheds {
		s.Stop(t)
	}
	// Let the worker finish what the schedulers queued last.
	eventually(t, 10*time.Second, func() error {
		for _, q := range []string{jobs.QueuePeriodic, jobs.QueueHandoff} {
			qi, err := insp.GetQueueInfo(q)
			if err != nil {
				return err
			}
			if qi.Pending+qi.Active+qi.Retry+qi.Archived+qi.Scheduled > 0 {
				return errorf("queue %s: %+v", q, qi)
			}
		}
		return nil
	})

	// What each scheduler said it did, per tick.
	type attempt struct{ enqueued, duplicate int }
	attempts := map[string]*attempt{}
	for _, s := range scheds {
		sc := bufio.NewScanner(strings.NewReader(s.Stderr.String()))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l struct {
				Message string `json:"message"`
				TaskID  string `json:"task_id"`
				Outcome string `json:"outcome"`
			}
			if json.Unmarshal(sc.Bytes(), &l) != nil || l.Message != "periodic tick" {
				continue
			}
			a := attempts[l.TaskID]
			if a == nil {
				a = &attempt{}
				attempts[l.TaskID] = a
			}
			switch jobs.TickOutcome(l.Outcome) {
			case jobs.TickEnqueued:
				a.enqueued++
			case jobs.TickDuplicate:
				a.duplicate++
			default:
				t.Errorf("tick %s: outcome %q", l.TaskID, l.Outcome)
			}
		}
	}
	r, err := ran()
	if err != nil {
		t.Fatal(err)
	}
	raced := 0
	for name, ids := range r {
		if _, ok := queueOf[name]; !ok {
			t.Errorf("unexpected task ids %v", ids)
			continue
		}
		var ticks []time.Time
		for _, id := range ids {
			at, err := time.Parse(time.RFC3339, strings.TrimPrefix(id, "periodic:"+name+":"))
			if err != nil {
				t.Errorf("task id %q is not periodic:%s:<tick>", id, name)
				continue
			}
			ticks = append(ticks, at)
			a := attempts[id]
			if a == nil || a.enqueued != 1 {
				t.Errorf("tick %s: scheduler attempts %+v, want exactly one enqueued", id, a)
			} else if a.duplicate == 1 && after(id) {
				raced++
			}
		}
		// One task per tick and no tick lost between the first and last.
		first, last := ticks[0], ticks[0]
		for _, at := range ticks {
			if at.Before(first) {
				first = at
			}
			if at.After(last) {
				last = at
			}
		}
		if n := int(last.Sub(first)/time.Second) + 1; n != len(ticks) {
			t.Errorf("%s: %d tasks for the %d ticks from %s to %s", name, len(ticks), n, first, last)
		}
	}
	enqueued := 0
	for _, a := range attempts {
		enqueued += a.enqueued
	}
	total := 0
	for name := range queueOf {
		total += len(r[name])
	}
	if enqueued != total {
		t.Errorf("schedulers enqueued %d ticks, %d ran", enqueued, total)
	}
	// The two schedulers really raced for the ticks (all but perhaps the
	// last of each job, which one may have missed as it stopped).
	if raced < 3*len(queueOf) {
		t.Errorf("only %d ticks were refused to a second scheduler", raced)
	}
}
