package scoring

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/scoring/internal/store"
)

// contactEvents is a realistic handful for one contact: a delivered
// message opened and clicked, a page visit and a webinar. key makes their
// ids and message id unique.
func contactEvents(key string, at time.Time) []event.Event {
	return fillContactEvents(make([]event.Event, 5), key, at)
}

// fillContactEvents writes contactEvents into evs (5 long), so benchmarks
// can reuse their batches: what they measure is the engine's allocations,
// not their own. The strings are slices of one.
func fillContactEvents(evs []event.Event, key string, at time.Time) []event.Event {
	all := "msg-" + key + "sg:" + key + ":dsg:" + key + ":osg:" + key + ":cweb:" + key + ":1zoom:" + key + ":w"
	cut := func(n int) string {
		s := all[:n]
		all = all[n:]
		return s
	}
	k := len(key)
	msg := cut(4 + k)
	evs[0] = event.Event{ID: cut(5 + k), Type: event.EmailDelivered, MessageID: msg, OccurredAt: at.Add(-time.Hour), Source: "sendgrid"}
	evs[1] = event.Event{ID: cut(5 + k), Type: event.EmailOpen, MessageID: msg, OccurredAt: at.Add(-50 * time.Minute), Source: "sendgrid",
		Title: "Register deals in two clicks"}
	evs[2] = event.Event{ID: cut(5 + k), Type: event.EmailClick, MessageID: msg, OccurredAt: at.Add(-49 * time.Minute), Source: "sendgrid",
		Topic: "deal-registration", URL: "https://vendor.example/deals", Title: "Register deals in two clicks"}
	evs[3] = event.Event{ID: cut(6 + k), Type: event.WebVisit, OccurredAt: at.Add(-48 * time.Minute), Source: "web",
		Topic: "security", URL: "https://vendor.example/security/zero-trust"}
	evs[4] = event.Event{ID: all, Type: event.WebinarAttended, OccurredAt: at.Add(-24 * time.Hour), Source: "zoom",
		Topic: "security", Title: "Zero trust for MSPs"}
	return evs
}

// BenchmarkApply measures events/s through Apply with 5-event batches, one
// contact per batch, from parallel workers as the ingest job runs them.
func BenchmarkApply(b *testing.B) {
	bd := setup(b, Config{})
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			cid := "c" + strconv.FormatInt(i, 10)
			tg := Target{PartnerID: "p" + strconv.FormatInt(i%2000, 10), ContactID: cid, Persona: "technical", PartnerType: "MSP"}
			if _, err := bd.eng.Apply(bd.ctx, tg, contactEvents(cid, t0)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(5*b.N)/b.Elapsed().Seconds(), "events/s")
}

func TestMemoryPerContact(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("memory measurement in -short mode")
	}
	perContact := measureMemory(t, 10000, 2000)
	t.Logf("%.0f bytes per contact at 10k contacts (excluding timelines)", perContact)
	if perContact > 1200 {
		t.Errorf("%.0f bytes per contact, budget 1200", perContact)
	}
}

// BenchmarkMemory100k reports the per-contact memory at 100k contacts in
// 20k partners; run with -bench=Memory100k -benchtime=1x.
func BenchmarkMemory100k(b *testing.B) {
	for range b.N {
		b.ReportMetric(measureMemory(b, 100000, 20000), "B/contact")
	}
}

func measureMemory(t testing.TB, contacts, partners int) float64 {
	srv := redistest.StartServer(t)
	rdb := redis.NewClient(srv.Options())
	defer rdb.Close()
	ctx := context.Background()
	c := testclock.New(t0)
	eng, err := NewEngine(rdb, Config{}, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.ApplyScript.Load(ctx, rdb).Err(); err != nil {
		t.Fatal(err)
	}
	if err := store.LeaderboardScript.Load(ctx, rdb).Err(); err != nil {
		t.Fatal(err)
	}
	before := usedMemory(t, rdb)
	var wg sync.WaitGroup
	work := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				cid := fmt.Sprintf("c%06d", i)
				tg := Target{PartnerID: fmt.Sprintf("p%05d", i%partners), ContactID: cid}
				if _, err := eng.Apply(ctx, tg, contactEvents(cid, t0)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for i := range contacts {
		work <- i
	}
	close(work)
	wg.Wait()
	after := usedMemory(t, rdb)
	var timelines int64
	for start := 0; start < contacts; start += 1000 {
		pipe := rdb.Pipeline()
		var cmds []*redis.IntCmd
		for i := start; i < min(start+1000, contacts); i++ {
			cid := fmt.Sprintf("c%06d", i)
			cmds = append(cmds, pipe.MemoryUsage(ctx, contactTimelineKey(fmt.Sprintf("p%05d", i%partners), cid)))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		for _, c := range cmds {
			timelines += c.Val()
		}
	}
	return float64(after-before-timelines) / float64(contacts)
}

func usedMemory(t testing.TB, rdb *redis.Client) int64 {
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no used_memory in INFO memory")
	return 0
}

// batchWorkers is the number of ApplyBatch callers per core in the
// benchmarks: the worker runs 10 tasks at once by default
// (worker.concurrency), and an ApplyBatch waits on three round trips (read,
// scripts, leaderboard), so with few callers the client leaves Redis idle
// between them (as redis-benchmark's 50 connections do not).
const batchWorkers = 10

// BenchmarkApplyBatch measures events/s through ApplyBatch: 40 contacts of
// 5 events per call, as a webhook batch grouped by contact, from
// batchWorkers workers per core.
func BenchmarkApplyBatch(b *testing.B) {
	bd := setup(b, Config{})
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(batchWorkers)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		batches := make([]Batch, 40)
		for j := range batches {
			batches[j].Events = make([]event.Event, 5)
		}
		for pb.Next() {
			for j := range batches {
				i := n.Add(1)
				cid := "c" + strconv.FormatInt(i, 10)
				batches[j].Target = Target{PartnerID: "p" + strconv.FormatInt(i%2000, 10), ContactID: cid}
				fillContactEvents(batches[j].Events, cid, t0)
			}
			if _, err := bd.eng.ApplyBatch(bd.ctx, batches); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(5*n.Load())/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkApplyBatchReturning measures events/s through ApplyBatch in the
// steady state: contacts already scored (20,000 of them, 10 per partner),
// each batch a new message delivered, opened and clicked, a visit and a
// webinar for one of them, 40 batches per call from batchWorkers workers
// per core (as BenchmarkApplyBatch), two days passing per round of the
// population, so that a run of a few seconds spans the compactions of the
// steady state (about weekly for a contact seeing a batch a day). Unlike
// BenchmarkApplyBatch, no batch creates keys: each is judged against what
// its contact has stored.
func BenchmarkApplyBatchReturning(b *testing.B) {
	const population, perPartner, perCall = 20000, 10, 40
	bd := setup(b, Config{})
	var n atomic.Int64
	eng, err := NewEngine(bd.rdb, Config{}, func() time.Time {
		return t0.Add(time.Duration(n.Load()/population) * 2 * Day)
	})
	if err != nil {
		b.Fatal(err)
	}
	target := func(k int64) Target {
		c := k % population
		return Target{PartnerID: "p" + strconv.FormatInt(c/perPartner, 10), ContactID: "c" + strconv.FormatInt(c, 10)}
	}
	events := func(evs []event.Event, k int64) []event.Event {
		c, round := k%population, k/population
		key := "c" + strconv.FormatInt(c, 10) + "." + strconv.FormatInt(round, 10)
		return fillContactEvents(evs, key, t0.Add(time.Duration(round)*2*Day))
	}
	for start := int64(0); start < population; start += perCall {
		batches := make([]Batch, perCall)
		for j := range batches {
			k := start + int64(j)
			batches[j] = Batch{Target: target(k), Events: events(make([]event.Event, 5), k)}
		}
		if _, err := eng.ApplyBatch(bd.ctx, batches); err != nil {
			b.Fatal(err)
		}
	}
	n.Store(population)
	var done atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(batchWorkers)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		batches := make([]Batch, perCall)
		for j := range batches {
			batches[j].Events = make([]event.Event, 5)
		}
		for pb.Next() {
			for j := range batches {
				k := n.Add(1) - 1
				batches[j].Target, batches[j].Events = target(k), events(batches[j].Events, k)
			}
			res, err := eng.ApplyBatch(bd.ctx, batches)
			if err != nil {
				b.Error(err)
				return
			}
			for _, r := range res {
				if r.Events[0].Duplicate {
					b.Error("a new event came back as a duplicate")
					return
				}
			}
			done.Add(perCall)
		}
	})
	b.ReportMetric(float64(5*done.Load())/b.Elapsed().Seconds(), "events/s")
}
