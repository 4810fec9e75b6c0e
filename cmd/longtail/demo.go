package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/csvimport"
	"github.com/longtailhq/longtail/demo"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/nurture/flow"
)

// demoSeed is the seed of every demo run: the same partners, contacts,
// history and stream each time, so a README walk-through and a bug
// report name the same partners.
const demoSeed = 1

// demoHistoryBatch is how many history events go in one ingest task:
// the size of a large /v1/events request.
const demoHistoryBatch = 500

// demoHistoryInFlight is how many history tasks may wait in the ingest
// queue at once (see demoRun.history).
const demoHistoryInFlight = 2

// demoTick is how often the live stream posts what it has drawn since
// the last tick, as one /v1/events request would.
const demoTick = 100 * time.Millisecond

// runDemo is `longtail demo`: serve on the embedded default, seeded with
// a synthetic long tail and driven by a synthetic stream of engagement
// through the same paths as real data (see demoRun).
func runDemo(ctx context.Context, now func() time.Time, args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "listen address (overrides http.listen, default :8080)")
	partners := fs.Int("partners", demo.DefaultPartners, fmt.Sprintf("partners to generate (1 to %d); contacts are %.1f a partner", demo.MaxPartners, demo.ContactsPerPartner))
	speed := fs.Float64("speed", 1, fmt.Sprintf("pace of the synthetic engagement: SPEED x %d events a second", demo.BaseRate))
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: demo takes no arguments, got %q", errUsage, fs.Arg(0))
	}
	if *partners < 1 || *partners > demo.MaxPartners {
		return fmt.Errorf("%w: --partners %d is not between 1 and %d", errUsage, *partners, demo.MaxPartners)
	}
	if math.IsNaN(*speed) || *speed <= 0 || *speed > 1000 {
		return fmt.Errorf("%w: --speed %v is not above 0 and at most 1000", errUsage, *speed)
	}
	cfg, err := loadConfig("", environ)
	if err != nil {
		return err
	}
	// Thousands of synthetic partners have no place in a real Redis, and
	// their made-up addresses none in a real mail server.
	if cfg.Redis.URL != "" {
		return errors.New("demo runs on the embedded Redis only: unset redis.url (LONGTAIL_REDIS_URL), or it would write thousands of synthetic partners into that Redis")
	}
	if cfg.SMTP.URL != "" {
		return errors.New("demo sends to the embedded outbox only: unset smtp.url (LONGTAIL_SMTP_URL), or nurture would mail thousands of synthetic addresses through it")
	}
	if *listen != "" {
		cfg.HTTP.Listen = *listen
	}
	// The default window (weekdays, 08:00-18:00 in the contact's zone)
	// would hold every email of a demo started in the evening or at the
	// weekend: the demo's is always open unless one is configured. Flows
	// with a window of their own (the security webinar's) keep it.
	if slices.Equal(cfg.Nurture.Window.Days, nurture.DefaultDays()) && cfg.Nurture.Window.Hours == nurture.DefaultHours {
		cfg.Nurture.Window = flow.WindowSpec{Days: slices.Clone(flow.DayNames), Hours: demoWindowHours}
	}
	run := &demoRun{partners: *partners, speed: *speed, stdout: stdout}
	return serveConfig(ctx, now, cfg, "all", stdout, stderr, run.ready)
}

// demoWindowHours is the whole day: the demo's nurture.window.
const demoWindowHours = "00:00-24:00"

// demoRun seeds a running service and drives its engagement.
type demoRun struct {
	partners int
	speed    float64
	stdout   io.Writer
}

// ready is serve's hook: generate the data set, import it with the CSV
// importer (new contacts fire nurture's contact.created, as an import
// does), print where to look, then post, through the ingest edge (as
// /v1/events does), the history (and queue an RFM ranking once it is
// scored) and the live stream until serve stops.
func (r *demoRun) ready(ctx context.Context, a *app, qs quickStart) error {
	start := time.Now()
	d, err := demo.Generate(demo.Config{Seed: demoSeed, Partners: r.partners, Now: a.clock()})
	if err != nil {
		return err
	}
	if err := importDemo(ctx, a, d); err != nil {
		return err
	}
	signIn, err := demoSignIn(ctx, a, d)
	if err != nil {
		return err
	}
	r.print(qs, d, signIn)
	fmt.Fprintf(r.stdout, "demo: imported %d reps, %d partners and %d contacts in %s\n",
		len(d.Reps), len(d.Partners), len(d.Contacts), time.Since(start).Round(time.Millisecond))

	// The history and the live stream go in together: scoring does not
	// care in which order events arrive (decay is exact for back-dated
	// ones), and a newcomer should not wait for two years of deals to see
	// the first hand-off. RFM ranks once the history is scored.
	fmt.Fprintf(r.stdout, "demo: streaming %g events a second\n", r.speed*demo.BaseRate)
	hctx, stop := context.WithCancel(ctx)
	hist, done := make(chan error, 1), make(chan struct{})
	go func() { defer close(done); hist <- r.history(hctx, a, d.History, start) }()
	err = r.stream(ctx, a, d.Stream(), hist)
	stop()
	<-done
	return err
}

// history posts the history to the ingest edge demoHistoryBatch events
// a task, with at most demoHistoryInFlight of its tasks queued or
// running at a time, so that the live stream's tasks, queued behind them
// in the same queue, wait for a few history tasks and not for all of
// them. Once the workers have run the last one it queues an RFM ranking,
// as the nightly one would.
func (r *demoRun) history(ctx context.Context, a *app, evs []event.Event, start time.Time) error {
	in := asynq.NewInspectorFromRedisClient(a.st.rdb)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	failed, tasks := 0, 0
	// done waits until the task id has run: asynq does not keep an
	// ingest task once done, and archives one whose retries are spent.
	done := func(id string) error {
		for {
			ti, err := in.GetTaskInfo(jobs.QueueIngest, id)
			if errors.Is(err, asynq.ErrTaskNotFound) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("demo: history task %s: %w", id, err)
			}
			if ti.State == asynq.TaskStateArchived {
				failed++ // the worker logged why
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
		}
	}
	var inflight []string
	for batch := range slices.Chunk(evs, demoHistoryBatch) {
		if len(inflight) == demoHistoryInFlight {
			if err := done(inflight[0]); err != nil {
				return quiet(ctx, err)
			}
			inflight = inflight[1:]
		}
		b := slices.Clone(batch)
		if err := a.edge.Record(ctx, b); err != nil {
			return quiet(ctx, fmt.Errorf("demo: history: %w", err))
		}
		inflight = append(inflight, jobs.IngestTaskID(b))
		tasks++
	}
	for _, id := range inflight {
		if err := done(id); err != nil {
			return quiet(ctx, err)
		}
	}
	if err := jobs.EnqueueRFM(ctx, a.tasks, a.clock()); err != nil {
		return quiet(ctx, fmt.Errorf("demo: %w", err))
	}
	if failed > 0 {
		fmt.Fprintf(r.stdout, "demo: %d of %d history tasks failed (see the log)\n", failed, tasks)
	}
	fmt.Fprintf(r.stdout, "demo: %d history events (two years of deals and purchases, recent engagement) scored %s after start; RFM ranking queued\n",
		len(evs), time.Since(start).Round(time.Millisecond))
	return nil
}

// quiet is nil once ctx has ended (serve is stopping: not a failure),
// else err.
func quiet(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// stream posts the live stream, one batch a tick, until ctx ends or the
// history waiter fails (its nil answer only stops the select waiting for
// it). The fraction of an event a tick's pace leaves over is carried to
// the next, so any speed keeps its average.
func (r *demoRun) stream(ctx context.Context, a *app, s *demo.Stream, hist chan error) error {
	perTick := r.speed * demo.BaseRate * demoTick.Seconds()
	tick := time.NewTicker(demoTick)
	defer tick.Stop()
	owed := 0.0
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-hist:
			hist = nil
			if err != nil {
				return err
			}
			continue
		case <-tick.C:
		}
		owed += perTick
		n := int(owed)
		owed -= float64(n)
		if n == 0 {
			continue
		}
		at := a.clock()
		evs := make([]event.Event, n)
		for i := range evs {
			evs[i] = s.Next(at)
		}
		if err := a.edge.Record(ctx, evs); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("demo: live stream: %w", err)
		}
	}
}

// importDemo loads the reps, partners and contacts as `longtail import`
// does, from the CSV files the data set writes. A rejected row is a bug
// of the generator: the demo stops and names it.
func importDemo(ctx context.Context, a *app, d *demo.Dataset) error {
	triggers := jobs.NewNurtureTriggerQueue(a.tasks)
	created := func(ctx context.Context, ids []string) error { return triggers.ContactsCreated(ctx, ids...) }
	for _, f := range []struct {
		kind  csvimport.Kind
		write func(io.Writer) error
	}{
		{csvimport.KindReps, d.WriteRepsCSV},
		{csvimport.KindPartners, d.WritePartnersCSV},
		{csvimport.KindContacts, d.WriteContactsCSV},
	} {
		var b bytes.Buffer
		if err := f.write(&b); err != nil {
			return err
		}
		name := "demo " + string(f.kind) + ".csv"
		rep, err := csvimport.Import(ctx, a.dir, f.kind, &b, csvimport.Options{Name: name, Created: created})
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		if len(rep.Errors) > 0 {
			return fmt.Errorf("demo: %s: line %d: %s (and %d more rejected)", name, rep.Errors[0].Line, rep.Errors[0].Reason, rep.Rejected-1)
		}
	}
	return nil
}

// demoSignIn issues a token for the rep who gets the first hand-off (the
// owner of the hottest partner, else the first rep of its region) and
// names them.
func demoSignIn(ctx context.Context, a *app, d *demo.Dataset) (repSignIn, error) {
	hot := d.Hottest(1)[0]
	repID := hot.OwnerRepID
	for _, rp := range d.Reps {
		if repID == "" && slices.Contains(rp.Regions, hot.Region) {
			repID = rp.ID
		}
	}
	rep, err := a.dir.GetRep(ctx, repID)
	if err != nil {
		return repSignIn{}, fmt.Errorf("demo: %w", err)
	}
	tok, err := a.tokens.Issue(ctx, rep.ID)
	if err != nil {
		return repSignIn{}, fmt.Errorf("demo: rep token: %w", err)
	}
	link, err := a.tokens.IssueLink(ctx, tok, demoLinkTTL)
	if err != nil {
		return repSignIn{}, fmt.Errorf("demo: rep sign-in link: %w", err)
	}
	return repSignIn{RepID: rep.ID, Name: rep.Name, Token: tok, LinkCode: link}, nil
}

// demoLinkTTL is how long the printed sign-in link works (once): a day,
// longer than anyone keeps a demo running.
const demoLinkTTL = 24 * time.Hour

// repSignIn is a rep's token, issued for this run, and a one-time
// sign-in link made from it.
type repSignIn struct{ RepID, Name, Token, LinkCode string }

// print is serve's quick-start block for the demo: where to look, the
// Redis the other commands use, the admin key and a rep's sign-in.
func (r *demoRun) print(qs quickStart, d *demo.Dataset, in repSignIn) {
	w, base := r.stdout, qs.BaseURL
	fmt.Fprintln(w)
	fmt.Fprintf(w, "longtail demo: %d partners, %d contacts and %d reps (synthetic, seed %d) on the embedded Redis; nothing is persisted.\n",
		len(d.Partners), len(d.Contacts), len(d.Reps), demoSeed)
	fmt.Fprintln(w, "Within a minute: scores rise, hand-offs reach the reps' queues, nurture emails reach the outbox.")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  leaderboard   %s/v1/leaderboard?limit=20   (API, bearer KEY)\n", base)
	fmt.Fprintf(w, "  rep queue     %s/v1/reps/%s/queue   (API, bearer KEY)\n", base, in.RepID)
	fmt.Fprintf(w, "  outbox        %s/ui/outbox   (sign in at /ui/login with KEY)\n", base)
	fmt.Fprintf(w, "  ops pages     %s/ui/ops\n", base)
	fmt.Fprintf(w, "  program       %s/v1/program/kpis   (API) and %s/ui/program\n", base, base)
	fmt.Fprintf(w, "  task queues   %s/ops/queues/\n", base)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "export LONGTAIL_REDIS_URL=%s\n", qs.RedisURL)
	key := "$KEY"
	if qs.AdminKey != "" {
		fmt.Fprintf(w, "KEY=%s\n", qs.AdminKey)
		key = qs.AdminKey
	} else {
		fmt.Fprintln(w, "KEY is one of your api.keys (LONGTAIL_API_KEYS).")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Rep sign-in: open this link to see %s's call queue (rep %s; it works once, for a day):\n", in.Name, in.RepID)
	fmt.Fprintf(w, "  %s/ui/login/link?code=%s\n", base, in.LinkCode)
	fmt.Fprintf(w, "or enter %s's token, issued for this run, at %s/ui/login:\n", in.Name, base)
	fmt.Fprintf(w, "  %s\n", in.Token)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' '%s/v1/leaderboard?limit=5'\n", key, base)
	fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' %s/v1/reps/%s/queue\n", key, base, in.RepID)
	fmt.Fprintf(w, "  go run ./cmd/longtail program kpis   (with the export line above)\n")
	fmt.Fprintln(w)
}
