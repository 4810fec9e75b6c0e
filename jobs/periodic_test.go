package jobs

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
)

// This file is in package jobs: the tick logic is driven with an injected
// clock through fireDue and fire, which Run calls on real timers.

const probeQueue = "periodic-probe"

func probeTask() *asynq.Task { return asynq.NewTask("test:probe", nil, asynq.Queue(probeQueue)) }

// tickLog records every scheduler's attempts.
type tickLog struct {
	mu    sync.Mutex
	ticks []Tick
}

func (l *tickLog) on(t Tick) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ticks = append(l.ticks, t)
}

func (l *tickLog) all() []Tick {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Tick(nil), l.ticks...)
}

// startProbeWorker processes the probe queue, sending each task's id on
// the returned channel once its handler ran.
func startProbeWorker(t *testing.T, rdb redis.UniversalClient) <-chan string {
	t.Helper()
	ran := make(chan string, 1000)
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency: 2, Queues: map[string]int{probeQueue: 1}, TaskCheckInterval: 20 * time.Millisecond,
		Logger: Logger(zerolog.Nop()), LogLevel: asynq.FatalLevel,
	})
	mux := asynq.NewServeMux()
	mux.HandleFunc("test:probe", func(ctx context.Context, _ *asynq.Task) error {
		id, _ := asynq.GetTaskID(ctx)
		ran <- id
		return nil
	})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return ran
}

// TestSchedulersSideBySideOncePerTick runs two schedulers on one Redis
// with a one-second schedule, on real timers, as two scheduler processes
// would: every tick is attempted by both, queued by one, run once.
func TestSchedulersSideBySideOncePerTick(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t)
	ran := startProbeWorker(t, rdb)
	var log tickLog
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		client := asynq.NewClientFromRedisClient(rdb)
		s, err := NewScheduler(PeriodicConfig{Client: client, OnTick: log.on},
			[]Periodic{{Name: "probe", Key: "test.probe", Spec: "@every 1s", Task: probeTask()}})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
	}

	// Wait for the handler to have run for the fourth tick, then stop
	// both schedulers and let the worker drain what they queued.
	runs := map[string]int{}
	timeout := time.After(20 * time.Second)
	for len(runs) < 4 {
		select {
		case id := <-ran:
			runs[id]++
		case <-timeout:
			t.Fatalf("after 20s, ran %v", runs)
		}
	}
	cancel()
	wg.Wait()
	ticks := log.all()
	enqueued := map[string]int{}
	attempts := map[string]map[TickOutcome]int{}
	for _, tk := range ticks {
		if tk.Outcome != TickEnqueued && tk.Outcome != TickDuplicate {
			t.Errorf("tick %s: outcome %s (%v)", tk.TaskID, tk.Outcome, tk.Err)
		}
		if !tk.At.Equal(tk.At.Truncate(time.Second)) {
			t.Errorf("tick %s is not on a whole second", tk.At)
		}
		if tk.Outcome == TickEnqueued {
			enqueued[tk.TaskID]++
		}
		if attempts[tk.TaskID] == nil {
			attempts[tk.TaskID] = map[TickOutcome]int{}
		}
		attempts[tk.TaskID][tk.Outcome]++
	}
	for sum(runs) < len(enqueued) {
		select {
		case id := <-ran:
			runs[id]++
		case <-timeout:
			t.Fatalf("queued %v, ran only %v", enqueued, runs)
		}
	}

	both := 0
	for id, a := range attempts {
		if enqueued[id] != 1 {
			t.Errorf("tick %s queued %d times, want 1 (attempts %v)", id, enqueued[id], a)
		}
		if runs[id] != 1 {
			t.Errorf("tick %s ran %d times, want 1", id, runs[id])
		}
		if a[TickEnqueued]+a[TickDuplicate] == 2 {
			both++
		}
	}
	for id := range runs {
		if attempts[id] == nil {
			t.Errorf("ran %s, which no scheduler queued", id)
		}
	}
	// Both schedulers raced for (nearly) every tick; the test proves
	// nothing unless they did.
	if both < 3 {
		t.Errorf("only %d ticks were attempted by both schedulers: %v", both, attempts)
	}
	// The ticks are consecutive seconds: none lost between the first and last.
	var first, last time.Time
	for _, tk := range ticks {
		if first.IsZero() || tk.At.Before(first) {
			first = tk.At
		}
		if tk.At.After(last) {
			last = tk.At
		}
	}
	if n := int(last.Sub(first)/time.Second) + 1; n != len(attempts) {
		t.Errorf("%d distinct ticks from %s to %s, want %d", len(attempts), first, last, n)
	}
	// What ran is kept as completed, under the tick's TaskID, for a late twin to find.
	insp := asynq.NewInspectorFromRedisClient(rdb)
	for id := range enqueued {
		info, err := waitState(insp, id, asynq.TaskStateCompleted)
		if err != nil {
			t.Errorf("tick %s: %v", id, err)
			continue
		}
		if info.Retention != 15*time.Minute {
			t.Errorf("tick %s: retention %s, want the 15m default", id, info.Retention)
		}
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// waitState waits for the task to reach state (asynq records completion
// just after the handler returns).
func waitState(insp *asynq.Inspector, id string, state asynq.TaskState) (*asynq.TaskInfo, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := insp.GetTaskInfo(probeQueue, id)
		if err == nil && info.State == state {
			return info, nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("state " + info.State.String() + ", want " + state.String())
			}
			return nil, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLateTwinIsRefused: a second scheduler reaching a tick after the
// first one's task already ran (clock skew, a slow machine) finds it
// retained and does not queue it again; one later than MaxLateness does
// not try.
func TestLateTwinIsRefused(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t)
	ran := startProbeWorker(t, rdb)
	tick := time.Date(2026, 12, 7, 2, 15, 0, 0, time.UTC)
	job := Periodic{Name: "probe", Key: "test.probe", Spec: "CRON_TZ=UTC 15 2 * * *", Task: probeTask()}
	newSched := func(clock *testclock.Clock, log *tickLog) *Scheduler {
		s, err := NewScheduler(PeriodicConfig{Client: asynq.NewClientFromRedisClient(rdb), Clock: clock.Now, OnTick: log.on}, []Periodic{job})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	var logA, logB tickLog
	clockA, clockB := testclock.New(tick.Add(20*time.Millisecond)), testclock.New(tick)
	a, b := newSched(clockA, &logA), newSched(clockB, &logB)
	ctx := context.Background()

	if got := a.fire(ctx, job, tick); got.Outcome != TickEnqueued {
		t.Fatalf("first scheduler: %+v", got)
	}
	id := TickTaskID("probe", tick)
	if got := <-ran; got != id {
		t.Fatalf("ran %q, want %q", got, id)
	}
	if _, err := waitState(asynq.NewInspectorFromRedisClient(rdb), id, asynq.TaskStateCompleted); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		late time.Duration
		want TickOutcome
	}{
		{0, TickDuplicate},
		{50 * time.Second, TickDuplicate},
		{time.Minute + time.Second, TickSkipped},
	}
	for _, tt := range tests {
		clockB.Set(tick.Add(tt.late))
		if got := b.fire(ctx, job, tick); got.Outcome != tt.want || got.TaskID != id {
			t.Errorf("twin %s late: %+v, want %s for %s", tt.late, got, tt.want, id)
		}
	}
	select {
	case again := <-ran:
		t.Errorf("%s ran a second time", again)
	default:
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	q, err := insp.GetQueueInfo(probeQueue)
	if err != nil {
		t.Fatal(err)
	}
	if q.Size != 1 || q.Completed != 1 {
		t.Errorf("queue holds %d tasks (%d completed), want the one completed tick", q.Size, q.Completed)
	}
}

// TestFireDueSkipsMissedTicks: a scheduler that slept through ticks runs
// only the latest, then waits for the next.
func TestFireDueSkipsMissedTicks(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t)
	start := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	clock := testclock.New(start)
	var log tickLog
	s, err := NewScheduler(PeriodicConfig{Client: asynq.NewClientFromRedisClient(rdb), Clock: clock.Now, OnTick: log.on},
		[]Periodic{{Name: "sweep", Key: "handoff.sweep_schedule", Spec: "@every 1m", Task: probeTask()}})
	if err != nil {
		t.Fatal(err)
	}
	e := s.entries[0]
	e.next = e.sched.Next(start)
	ctx := context.Background()

	s.fireDue(ctx, start.Add(30*time.Second)) // nothing due yet
	now := start.Add(3*time.Minute + 10*time.Second)
	clock.Set(now)
	s.fireDue(ctx, now)

	var got []string
	for _, tk := range log.all() {
		got = append(got, tk.At.Format("15:04")+" "+string(tk.Outcome))
	}
	want := []string{"09:01 skipped", "09:02 skipped", "09:03 enqueued"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("ticks (-want +got):\n- %v\n+ %v", want, got)
	}
	if wantNext := start.Add(4 * time.Minute); !e.next.Equal(wantNext) {
		t.Errorf("next tick %s, want %s", e.next, wantNext)
	}
	info, err := asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo(probeQueue)
	if err != nil {
		t.Fatal(err)
	}
	if info.Pending != 1 {
		t.Errorf("pending %d, want 1", info.Pending)
	}
}

// TestFireGivesUpAtMaxLateness: with Redis away, a tick is retried only
// while it is younger than MaxLateness, then reported failed.
func TestFireGivesUpAtMaxLateness(t *testing.T) {
	t.Parallel()
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { _ = dead.Close() })
	tick := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	clock := testclock.New(tick.Add(time.Minute - 100*time.Millisecond))
	var log tickLog
	job := Periodic{Name: "sweep", Key: "handoff.sweep_schedule", Spec: "@every 1m", Task: probeTask()}
	s, err := NewScheduler(PeriodicConfig{Client: asynq.NewClientFromRedisClient(dead), Clock: clock.Now, OnTick: log.on}, []Periodic{job})
	if err != nil {
		t.Fatal(err)
	}
	got := s.fire(context.Background(), job, tick)
	if got.Outcome != TickFailed || got.Err == nil {
		t.Errorf("fire with Redis down: %+v, want failed with the error", got)
	}
	if n := len(log.all()); n != 1 {
		t.Errorf("%d reports, want 1", n)
	}
}

func TestNewSchedulerNamesTheKey(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled: construction only
	t.Cleanup(func() { _ = rdb.Close() })
	client := asynq.NewClientFromRedisClient(rdb)
	job := func(name, key, spec string) Periodic {
		return Periodic{Name: name, Key: key, Spec: spec, Task: probeTask()}
	}
	tests := []struct {
		name    string
		cfg     PeriodicConfig
		jobs    []Periodic
		wantErr []string
	}{
		{"good", PeriodicConfig{Client: client}, []Periodic{job("rfm", "schedules.rfm", "CRON_TZ=Europe/Paris 15 2 * * *"), job("sweep", "handoff.sweep_schedule", "@every 1m")}, nil},
		{"panicking TZ", PeriodicConfig{Client: client}, []Periodic{job("rfm", "schedules.rfm", "CRON_TZ=Europe/Paris")}, []string{"schedules.rfm", "CRON_TZ=Europe/Paris"}},
		{"every bad spec named", PeriodicConfig{Client: client}, []Periodic{
			job("rfm", "schedules.rfm", "every tuesday"), job("digest", "handoff.digest_schedule", "0 7 * * 8"),
		}, []string{"schedules.rfm", "every tuesday", "handoff.digest_schedule", "0 7 * * 8"}},
		{"duplicate name", PeriodicConfig{Client: client}, []Periodic{job("rfm", "a", "@daily"), job("rfm", "b", "@daily")}, []string{"used twice"}},
		{"no client", PeriodicConfig{}, nil, []string{"Client is required"}},
		{"retention too short", PeriodicConfig{Client: client, Retention: time.Minute}, nil, []string{"Retention (1m0s) must exceed MaxLateness (1m0s)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewScheduler(tt.cfg, tt.jobs)
			if (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr != nil)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}
