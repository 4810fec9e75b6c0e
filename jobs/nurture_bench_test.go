package jobs_test

import (
	"context"
	"fmt"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jordan-wright/email"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
	"github.com/longtailhq/longtail/sendonce"
)

type noMail struct{}

func (noMail) Send(context.Context, *email.Email) error {
	return fmt.Errorf("the benchmark sends nothing")
}

type noLinks struct{}

func (noLinks) Unsubscribe(nurture.MessageRef) (string, error) { return "https://x.example/u/t", nil }
func (noLinks) Track(_ nurture.MessageRef, u, _ string) (string, error) {
	return u, nil
}

type noPoints struct{}

func (noPoints) Record(context.Context, []event.Event) error { return nil }

// BenchmarkScheduleEnrollments compares enrolling contacts and queueing
// their first step (what a trigger or POST /v1/flows/{id}/enrollments
// does: the gate, the enrollment's commit, the funnel count, the step
// task) with queueing trivial asynq tasks on the same Redis, in the same
// run. The target is a ratio of at least 0.3.
//
//	go test -run '^$' -bench ScheduleEnrollments -benchtime 20000x ./jobs/
func BenchmarkScheduleEnrollments(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.New(b)
	dir, err := directory.New(rdb, directory.Config{})
	if err != nil {
		b.Fatal(err)
	}
	scores, err := scoring.NewEngine(rdb, scoring.Config{}, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	q, err := repqueue.New(rdb, dir, scores, repqueue.Config{}, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	gate, err := nurture.NewGate(dir, scores, q)
	if err != nil {
		b.Fatal(err)
	}
	store, err := nurture.NewStore(rdb)
	if err != nil {
		b.Fatal(err)
	}
	once, err := sendonce.New(rdb, sendonce.Config{})
	if err != nil {
		b.Fatal(err)
	}
	lib, err := nurture.LoadLibrary(
		nurture.Source{FS: fstest.MapFS{
			"b.yaml":  {Data: []byte("id: bench\nname: Bench\nwindow: always\nsteps:\n  - {id: hello, send: hello}\n")},
			"b2.yaml": {Data: []byte("id: bench-batch\nname: Bench batch\nwindow: always\nsteps:\n  - {id: hello, send: hello}\n")},
		}, Name: "flows"},
		nurture.Source{FS: fstest.MapFS{"hello.en.txt": {Data: []byte(`{{define "subject"}}Hi{{end}}Hello {{.Rep.Name}}`)}}, Name: "templates"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	rules, err := nurture.Config{}.SendRules()
	if err != nil {
		b.Fatal(err)
	}
	eng, err := nurture.NewEngine(nurture.EngineConfig{
		Library: lib, Rules: rules, Store: store, Dir: dir, Gate: gate, Signals: nurture.ScoreSignals{Scores: scores},
		Mailer: noMail{}, Once: once, Links: noLinks{}, Points: noPoints{}, From: "V <v@vendor.example>",
	})
	if err != nil {
		b.Fatal(err)
	}
	n := b.N
	batch := dir.NewBatch()
	var parts []directory.PartnerPut
	for i := range 100 {
		id := fmt.Sprintf("p%03d", i)
		parts = append(parts, directory.PartnerPut{ID: id, Merge: func(directory.Partner, bool) (directory.Partner, error) {
			return directory.Partner{ID: id, Name: "P"}, nil
		}})
	}
	if _, err := batch.PutPartners(ctx, parts); err != nil {
		b.Fatal(err)
	}
	var contacts []directory.ContactPut
	for i := range n {
		contacts = append(contacts, directory.ContactPut{ID: fmt.Sprintf("c%07d", i), PartnerID: fmt.Sprintf("p%03d", i%100), Email: fmt.Sprintf("c%07d@p.example", i),
			Merge: func(c directory.Contact, _ bool) directory.Contact { return c }})
	}
	for len(contacts) > 0 {
		k := min(len(contacts), 1000)
		if _, err := batch.PutContacts(ctx, contacts[:k]); err != nil {
			b.Fatal(err)
		}
		contacts = contacts[k:]
	}
	client := asynq.NewClientFromRedisClient(rdb)
	defer client.Close()

	at := time.Now().Add(time.Hour) // scheduled, so no worker would run them
	start := time.Now()
	for i := range n {
		if _, err := client.Enqueue(asynq.NewTask("bench:trivial", nil), asynq.TaskID(fmt.Sprintf("t%07d", i)), asynq.ProcessAt(at), asynq.Queue("bench")); err != nil {
			b.Fatal(err)
		}
	}
	trivial := time.Since(start)

	b.ResetTimer()
	start = time.Now()
	for i := range n {
		r, err := eng.Enroll(ctx, "bench", fmt.Sprintf("c%07d", i))
		if err != nil {
			b.Fatal(err)
		}
		r.Next.At = at
		if err := jobs.EnqueueNurture(ctx, client, *r.Next); err != nil {
			b.Fatal(err)
		}
	}
	enrol := time.Since(start)

	// The batch path, as a segment trigger enrols: EnrollMany and
	// EnqueueNurtureMany, 1,000 contacts at a time, into another flow.
	start = time.Now()
	for lo := 0; lo < n; lo += enrollBatch {
		ids := make([]string, 0, enrollBatch)
		for i := lo; i < min(n, lo+enrollBatch); i++ {
			ids = append(ids, fmt.Sprintf("c%07d", i))
		}
		res, err := eng.EnrollMany(ctx, "bench-batch", ids)
		if err != nil {
			b.Fatal(err)
		}
		next := make([]nurture.Next, 0, len(res))
		for _, r := range res {
			if r.Err != nil || !r.Created {
				b.Fatalf("EnrollMany: created %v, %v", r.Created, r.Err)
			}
			r.Next.At = at
			next = append(next, *r.Next)
		}
		if err := jobs.EnqueueNurtureMany(ctx, client, next); err != nil {
			b.Fatal(err)
		}
	}
	batched := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(n)/enrol.Seconds(), "enrollments/s")
	b.ReportMetric(float64(n)/batched.Seconds(), "batched-enrollments/s")
	b.ReportMetric(float64(n)/trivial.Seconds(), "trivial-tasks/s")
	b.ReportMetric(trivial.Seconds()/enrol.Seconds(), "ratio")
	b.ReportMetric(trivial.Seconds()/batched.Seconds(), "batched-ratio")
	// Every step task of both paths is queued, once.
	info, err := asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo(jobs.QueueNurture)
	if err != nil {
		b.Fatal(err)
	}
	if info.Scheduled != 2*n {
		b.Fatalf("%d nurture steps scheduled; want %d", info.Scheduled, 2*n)
	}
}

// enrollBatch is how many contacts one EnrollMany call of the benchmark enrols.
const enrollBatch = 1000

// BenchmarkContactsCreated compares queueing an import batch's
// contact.created triggers (ContactsCreated: a thousand tasks queued
// concurrently) with queueing as many tasks one after the other, as it
// did before, on the same Redis in the same run: the speedup metric is
// the sequential time over the concurrent one.
//
//	go test -run '^$' -bench ContactsCreated -benchtime 10x ./jobs/
func BenchmarkContactsCreated(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.New(b)
	c := asynq.NewClientFromRedisClient(rdb)
	defer c.Close()
	q := jobs.NewNurtureTriggerQueue(c)
	const batch = 1000
	var concurrent, sequential time.Duration
	for i := 0; b.Loop(); i++ {
		ids := make([]string, batch)
		for k := range ids {
			ids[k] = fmt.Sprintf("c%d-%d", i, k)
		}
		start := time.Now()
		if err := q.ContactsCreated(ctx, ids...); err != nil {
			b.Fatal(err)
		}
		concurrent += time.Since(start)
		start = time.Now()
		for _, id := range ids {
			t := asynq.NewTask("bench:sequential", []byte(`{"kind":"contact.created","contact_id":"`+id+`"}`))
			if _, err := c.EnqueueContext(ctx, t, asynq.TaskID("bench:"+id), asynq.Queue(jobs.QueueNurture)); err != nil {
				b.Fatal(err)
			}
		}
		sequential += time.Since(start)
	}
	b.ReportMetric(sequential.Seconds()/concurrent.Seconds(), "speedup")
}
