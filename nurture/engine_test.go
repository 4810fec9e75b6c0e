package nurture_test

import (
	"context"
	"errors"
	"maps"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/smtptest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/mailer"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/nurture/flow"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
	"github.com/longtailhq/longtail/sendonce"
	"github.com/longtailhq/longtail/tracking"
)

// testLinks signs links as serve's adapter does.
type testLinks struct{ s *tracking.Signer }

func (l testLinks) claims(r nurture.MessageRef) tracking.Claims {
	return tracking.Claims{ContactID: r.ContactID, PartnerID: r.PartnerID, Flow: r.Flow, Step: r.Step, MessageID: r.MessageID}
}

func (l testLinks) Unsubscribe(r nurture.MessageRef) (string, error) {
	tok, err := l.s.Sign(tracking.KindUnsubscribe, l.claims(r))
	return "https://lt.vendor.example" + tracking.KindUnsubscribe.Path(tok), err
}

func (l testLinks) Track(r nurture.MessageRef, u, topic string) (string, error) {
	c := l.claims(r)
	c.URL, c.Topic = u, topic
	tok, err := l.s.Sign(tracking.KindClick, c)
	return "https://lt.vendor.example" + tracking.KindClick.Path(tok), err
}

// points keeps the nurture.score events a score step records.
type points struct {
	mu  sync.Mutex
	evs []event.Event
}

func (p *points) Record(_ context.Context, evs []event.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.evs = append(p.evs, evs...)
	return nil
}

func (p *points) all() []event.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.evs)
}

const testTemplate = `{{define "subject"}}Deal registration, {{with .Contact.FirstName}}{{.}}{{else}}quickly{{end}}{{end -}}
Hi {{with .Contact.FirstName}}{{.}}{{else}}there{{end}},

Register here: {{track "https://vendor.example/dealreg" "deal-registration"}}

{{.Rep.Name}}
Stop: {{.UnsubscribeURL}}
`

// testFlow waits seconds, sends twice, waits for a click on the first
// email, and scores, tags and branches when it comes.
const testFlow = `id: test-flow
name: Test flow
triggers:
  - {event: webinar.registered, topic: security}
reentry: never
window: always
steps:
  - {id: welcome, send: hello}
  - {id: pause, wait: 30s}
  - id: clicked
    wait_for: {event: email.click, step: welcome, within: 60s}
    then: bump
    else: nudge
  - {id: nudge, send: hello}
  - {id: stop, exit: true}
  - {id: bump, score: 5}
  - {id: mark, tag: clicked-welcome}
  - id: route
    branch:
      - {if: {tags: [clicked-welcome]}, goto: thanks}
      - {else: stop}
  - {id: thanks, send: hello}
`

type bundle struct {
	ctx    context.Context
	clock  *testclock.Clock
	dir    *directory.Store
	scores *scoring.Engine
	queue  *repqueue.Queue
	store  *nurture.Store
	once   *sendonce.Store
	smtp   *smtptest.Server
	eng    *nurture.Engine
	points *points
	optout *nurture.Optout
	emails *emailCounts
}

type options struct {
	ended  func(ctx context.Context, en *nurture.Enrollment) error
	flow   string
	cap    flow.Cap
	window *flow.WindowSpec
	start  time.Time
}

func setup(t *testing.T, o options) *bundle {
	t.Helper()
	ctx := context.Background()
	if o.flow == "" {
		o.flow = testFlow
	}
	if o.start.IsZero() {
		o.start = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC) // a Monday
	}
	clock := testclock.New(o.start)
	rdb := redistest.New(t)
	dir, err := directory.New(rdb, directory.Config{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	scores, err := scoring.NewEngine(rdb, scoring.Config{}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	q, err := repqueue.New(rdb, dir, scores, repqueue.Config{}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	gate, err := nurture.NewGate(dir, scores, q)
	if err != nil {
		t.Fatal(err)
	}
	store, err := nurture.NewStore(rdb)
	if err != nil {
		t.Fatal(err)
	}
	once, err := sendonce.New(rdb, sendonce.Config{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := smtptest.Start(t)
	m, err := mailer.New(mailer.Config{URL: srv.URL, From: "Vendor Partners <partners@vendor.example>"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	signer, err := tracking.NewSigner([]byte(strings.Repeat("s", 32)))
	if err != nil {
		t.Fatal(err)
	}
	lib, err := nurture.LoadLibrary(
		nurture.Source{FS: fstest.MapFS{"test.yaml": {Data: []byte(o.flow)}}, Name: "flows"},
		nurture.Source{FS: fstest.MapFS{"hello.en.txt": {Data: []byte(testTemplate)}}, Name: "templates"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := nurture.Config{FrequencyCap: o.cap}
	if cfg.FrequencyCap.Count == 0 {
		cfg.FrequencyCap = flow.Cap{Count: 100, Per: time.Hour}
	}
	if o.window != nil {
		cfg.Window = *o.window
	}
	rules, err := cfg.SendRules()
	if err != nil {
		t.Fatal(err)
	}
	pts := &points{}
	emails := &emailCounts{n: map[string]int{}}
	eng, err := nurture.NewEngine(nurture.EngineConfig{
		Library: lib, Rules: rules, Store: store, Dir: dir, Gate: gate, Signals: nurture.ScoreSignals{Scores: scores},
		Mailer: m, Once: once, Links: testLinks{signer}, Points: pts, Emails: emails,
		From: "Vendor Partners <partners@vendor.example>", UnsubscribeMailto: "unsubscribe@vendor.example", Clock: clock.Now,
		Ended: o.ended,
	})
	if err != nil {
		t.Fatal(err)
	}
	optout, err := nurture.NewOptout(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{ctx: ctx, clock: clock, dir: dir, scores: scores, queue: q, store: store, once: once, smtp: srv, eng: eng, points: pts, optout: optout, emails: emails}
	b.seed(t)
	return b
}

func (b *bundle) seed(t *testing.T) {
	t.Helper()
	for _, r := range []directory.Rep{
		{ID: "rep-camille", Name: "Camille Martin", Email: "camille.martin@vendor.example", Active: true, Signature: "Camille", DailyCapacity: 10},
		{ID: "rep-gone", Name: "Gone Rep", Email: "gone@vendor.example", Active: false},
	} {
		if _, _, err := b.dir.PutRep(b.ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []directory.Partner{
		{ID: "acme", Name: "Acme IT", Type: "MSP", Tier: "silver", OwnerRepID: "rep-camille", Timezone: "Europe/Paris"},
		{ID: "orphan", Name: "Orphan Ltd", Type: "VAR", OwnerRepID: "rep-gone"},
	} {
		if _, _, err := b.dir.PutPartner(b.ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []directory.Contact{
		{ID: "jane", PartnerID: "acme", Email: "jane@acme.example", FirstName: "Jane", LastName: "Doe", Persona: "owner-manager"},
		{ID: "omar", PartnerID: "orphan", Email: "omar@orphan.example"},
	} {
		if _, _, err := b.dir.PutContact(b.ctx, c); err != nil {
			t.Fatal(err)
		}
	}
}

// drive runs the scheduled steps in time order, moving the clock to each
// one's time, until none is left or stop says so after a step. It returns
// the steps still scheduled.
func (b *bundle) drive(t *testing.T, pending []nurture.Next, stop func(ran nurture.Task) bool) []nurture.Next {
	t.Helper()
	// Like asynq, a task id queued twice is one task.
	queued := map[string]bool{}
	var dedup []nurture.Next
	add := func(n nurture.Next) {
		if !queued[n.ID()] {
			queued[n.ID()] = true
			dedup = append(dedup, n)
		}
	}
	for _, n := range pending {
		add(n)
	}
	pending = dedup
	for range 100 {
		if len(pending) == 0 {
			return nil
		}
		slices.SortStableFunc(pending, func(x, y nurture.Next) int { return x.At.Compare(y.At) })
		n := pending[0]
		pending = pending[1:]
		delete(queued, n.ID())
		if n.At.After(b.clock.Now()) {
			b.clock.Set(n.At)
		}
		next, err := b.eng.Run(b.ctx, n.Task)
		if err != nil {
			t.Fatalf("run %s: %v", n.ID(), err)
		}
		if next != nil && !queued[next.ID()] {
			queued[next.ID()] = true
			pending = append(pending, *next)
		}
		if stop != nil && stop(n.Task) {
			return pending
		}
	}
	t.Fatal("the enrollment did not settle in 100 steps")
	return nil
}

func (b *bundle) enroll(t *testing.T, flowID, cid string) nurture.Enrolled {
	t.Helper()
	r, err := b.eng.Enroll(b.ctx, flowID, cid)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (b *bundle) enrollment(t *testing.T, id string) *nurture.Enrollment {
	t.Helper()
	en, err := b.store.Get(b.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return en
}

func headers(t *testing.T, m smtptest.Message) mail.Header {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
	if err != nil {
		t.Fatal(err)
	}
	return msg.Header
}

func TestFlowTimesOutAndSendsAsTheRep(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	r := b.enroll(t, "test-flow", "jane")
	if !r.Created || r.Next == nil {
		t.Fatalf("enroll: %+v", r)
	}
	b.drive(t, []nurture.Next{*r.Next}, nil)

	msgs := b.smtp.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want welcome and nudge", len(msgs))
	}
	for i, m := range msgs {
		h := headers(t, m)
		from, err := mail.ParseAddress(h.Get("From"))
		if err != nil || from.Name != "Camille Martin" || from.Address != "camille.martin@vendor.example" {
			t.Errorf("message %d From = %q, want the rep", i, h.Get("From"))
		}
		if rt, err := mail.ParseAddress(h.Get("Reply-To")); err != nil || rt.Address != "camille.martin@vendor.example" {
			t.Errorf("message %d Reply-To = %q, want the rep", i, h.Get("Reply-To"))
		}
		if got := h.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
			t.Errorf("message %d List-Unsubscribe-Post = %q", i, got)
		}
		lu := h.Get("List-Unsubscribe")
		if !strings.Contains(lu, "<https://lt.vendor.example/u/") || !strings.Contains(lu, "<mailto:unsubscribe@vendor.example") {
			t.Errorf("message %d List-Unsubscribe = %q", i, lu)
		}
		wantStep := []string{"welcome", "nudge"}[i]
		if sg := h.Get("X-Smtpapi"); !strings.Contains(sg, `"lt_step":"`+wantStep+`"`) || !strings.Contains(sg, `"lt_contact":"jane"`) {
			t.Errorf("message %d X-SMTPAPI = %q", i, sg)
		}
		if h.Get("X-Mailgun-Variables") == "" || h.Get("X-Pm-Metadata-Lt_flow") == "" && h.Get("X-PM-Metadata-lt_flow") == "" || h.Get("X-Ses-Message-Tags") == "" || h.Get("X-Mc-Metadata") == "" {
			t.Errorf("message %d lacks provider metadata: %v", i, h)
		}
		if h.Get("Message-Id") == "" {
			t.Errorf("message %d has no Message-ID", i)
		}
	}
	en := b.enrollment(t, r.Enrollment.ID)
	if en.Status != nurture.StatusExited || en.Reason != nurture.ReasonExitStep {
		t.Errorf("enrollment %s/%s, want exited at the exit step", en.Status, en.Reason)
	}
	// 10:00 + 30 s pause + 60 s timeout: the nudge went at 10:01:30.
	if want := time.Date(2026, 12, 7, 10, 1, 30, 0, time.UTC); !b.clock.Now().Equal(want) {
		t.Errorf("clock at %s, want %s", b.clock.Now(), want)
	}
	funnel, err := b.eng.Funnel(b.ctx, "test-flow")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, s := range funnel {
		got[s.Step+"."+nurture.CountSent] = s.Counts[nurture.CountSent]
		got[s.Step+"."+nurture.CountEntered] = s.Counts[nurture.CountEntered]
	}
	for k, want := range map[string]int64{"welcome.sent": 1, "nudge.sent": 1, "welcome.entered": 1, "nudge.entered": 1, "thanks.sent": 0} {
		if got[k] != want {
			t.Errorf("funnel %s = %d, want %d", k, got[k], want)
		}
	}
}

func TestClickResumesWaitForOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	r := b.enroll(t, "test-flow", "jane")
	// Run until the enrollment waits for the click: the timeout is pending.
	pending := b.drive(t, []nurture.Next{*r.Next}, func(ran nurture.Task) bool { return ran.Step == "clicked" })
	if len(pending) != 1 || pending[0].Step != "clicked" {
		t.Fatalf("pending %+v, want the timeout of clicked", pending)
	}
	timeout := pending[0]
	click := event.Event{ID: "sendgrid:1", Type: event.EmailClick, ContactID: "jane", PartnerID: "acme",
		OccurredAt: b.clock.Now(), Flow: "test-flow", Step: "welcome", Topic: "deal-registration"}
	in := nurture.ContactEvents{ContactID: "jane", PartnerID: "acme", Events: []event.Event{click}}
	next, err := b.eng.OnEvents(b.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(next) != 1 || next[0].Step != "bump" {
		t.Fatalf("after the click: %+v, want bump", next)
	}
	// The same click again (a redelivery) and the timeout resume nothing.
	again, err := b.eng.OnEvents(b.ctx, in)
	if err != nil || len(again) != 0 {
		t.Fatalf("second click: %+v %v", again, err)
	}
	b.drive(t, append(next, timeout), nil)

	msgs := b.smtp.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want welcome and thanks", len(msgs))
	}
	if sg := headers(t, msgs[1]).Get("X-Smtpapi"); !strings.Contains(sg, `"lt_step":"thanks"`) {
		t.Errorf("second message is not thanks: %s", sg)
	}
	pts := b.points.all()
	if len(pts) != 1 || pts[0].Type != event.NurtureScore || pts[0].Value != 5 || pts[0].ContactID != "jane" {
		t.Errorf("score events %+v, want one nurture.score of 5 for jane", pts)
	}
	if err := pts[0].Validate(); err != nil {
		t.Errorf("score event invalid: %v", err)
	}
	tags, err := b.store.Tags(b.ctx, "acme", "jane")
	if err != nil || !slices.Equal(tags, []string{"clicked-welcome"}) {
		t.Errorf("tags %v %v", tags, err)
	}
	en := b.enrollment(t, r.Enrollment.ID)
	if en.Status != nurture.StatusCompleted {
		t.Errorf("status %s, want completed", en.Status)
	}
	// OnEvents counts what it is given: ingest passes only new events
	// (scoring deduplicates), and this test gave the click twice.
	funnel, _ := b.eng.Funnel(b.ctx, "test-flow")
	if c := funnel[0].Counts[nurture.CountClicked]; c != 2 {
		t.Errorf("welcome clicked %d, want 2", c)
	}
}

func TestUnsubscribeInTheMiddleStopsTheRest(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"one-click", "provider event"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			b := setup(t, options{})
			r := b.enroll(t, "test-flow", "jane")
			pending := b.drive(t, []nurture.Next{*r.Next}, func(ran nurture.Task) bool { return ran.Step == "welcome" })
			switch how {
			case "one-click":
				if err := b.optout.Unsubscribe(b.ctx, "jane"); err != nil {
					t.Fatal(err)
				}
			default:
				ev := event.Event{ID: "sg:u", Type: event.EmailUnsubscribe, ContactID: "jane", PartnerID: "acme", OccurredAt: b.clock.Now()}
				if _, err := b.eng.OnEvents(b.ctx, nurture.ContactEvents{ContactID: "jane", PartnerID: "acme", Events: []event.Event{ev}}); err != nil {
					t.Fatal(err)
				}
			}
			b.drive(t, pending, nil)
			if n := len(b.smtp.Messages()); n != 1 {
				t.Errorf("%d messages, want only the welcome", n)
			}
			en := b.enrollment(t, r.Enrollment.ID)
			if en.Status != nurture.StatusExited {
				t.Errorf("status %s (%s), want exited", en.Status, en.Reason)
			}
			// reentry: never — enrolling again answers the ended enrollment.
			if again := b.enroll(t, "test-flow", "jane"); again.Created || again.Enrollment.Status != nurture.StatusExited {
				t.Errorf("enrolled again: %+v", again)
			}
		})
	}
}

func TestDuplicateTriggerEnrolsOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	reg := event.Event{ID: "zoom:1", Type: event.WebinarRegistered, Topic: "security", ContactID: "jane", PartnerID: "acme", OccurredAt: b.clock.Now()}
	in := nurture.ContactEvents{ContactID: "jane", PartnerID: "acme", Events: []event.Event{reg}}
	var all []nurture.Next
	for range 3 {
		next, err := b.eng.OnEvents(b.ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, next...)
	}
	// Each repeat answers with the same task (queued once by its id).
	if len(all) != 3 || all[0] != all[1] || all[1] != all[2] || all[0].Step != "welcome" {
		t.Fatalf("scheduled %+v, want the same welcome task", all)
	}
	if list, err := b.store.OfPartner(b.ctx, "acme", "jane"); err != nil || len(list) != 1 {
		t.Fatalf("enrollments %+v %v, want one", list, err)
	}
	r := b.enroll(t, "test-flow", "jane")
	if r.Created || r.Enrollment.ID != all[0].Enrollment {
		t.Errorf("API enrol after the trigger: %+v", r)
	}
	// Running the first step's task twice sends once.
	b.drive(t, []nurture.Next{all[0], all[0]}, func(ran nurture.Task) bool { return ran.Step == "pause" })
	if n := len(b.smtp.Messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	// A topic the trigger does not name enrols nobody.
	other := event.Event{ID: "zoom:2", Type: event.WebinarRegistered, Topic: "storage", ContactID: "omar", PartnerID: "orphan", OccurredAt: b.clock.Now()}
	next, err := b.eng.OnEvents(b.ctx, nurture.ContactEvents{ContactID: "omar", PartnerID: "orphan", Events: []event.Event{other}})
	if err != nil || len(next) != 0 {
		t.Errorf("storage webinar enrolled: %+v %v", next, err)
	}
}

func TestWorkerKilledBetweenMarkAndAnswerDoesNotResend(t *testing.T) {
	t.Parallel()
	for _, state := range []string{"killed before the 250", "killed after the 250"} {
		t.Run(state, func(t *testing.T) {
			t.Parallel()
			b := setup(t, options{})
			r := b.enroll(t, "test-flow", "jane")
			// A first attempt marked the send and died.
			id := "nu:" + r.Enrollment.ID + ":welcome:" + "1"
			m, err := b.once.Mark(b.ctx, "{p:acme}", id)
			if err != nil || m.State != sendonce.Acquired {
				t.Fatalf("mark: %v %v", m.State, err)
			}
			if state == "killed after the 250" {
				if err := b.once.Confirm(m); err != nil {
					t.Fatal(err)
				}
			} else {
				// The retry finds it in flight until its marker times out.
				if _, err := b.eng.Run(b.ctx, r.Next.Task); !errors.Is(err, nurture.ErrInFlight) {
					t.Fatalf("retry in flight: %v", err)
				}
				b.clock.Advance(10 * time.Minute)
			}
			next, err := b.eng.Run(b.ctx, r.Next.Task)
			if err != nil || next == nil || next.Step != "pause" {
				t.Fatalf("retry: %+v %v", next, err)
			}
			if n := len(b.smtp.Messages()); n != 0 {
				t.Errorf("%d messages: the step was sent again", n)
			}
			funnel, _ := b.eng.Funnel(b.ctx, "test-flow")
			want := map[string]int64{nurture.CountSent: 1}
			if state == "killed before the 250" {
				want = map[string]int64{nurture.CountUncertain: 1}
			}
			for k, v := range want {
				if funnel[0].Counts[k] != v {
					t.Errorf("welcome %s = %d, want %d", k, funnel[0].Counts[k], v)
				}
			}
		})
	}
}

const twoSends = `id: two-sends
name: Two sends a day apart
window: always
steps:
  - {id: first, send: hello}
  - {id: gap, wait: 1d}
  - {id: second, send: hello}
`

func TestOverTheCapIsDeferredNotLost(t *testing.T) {
	t.Parallel()
	b := setup(t, options{flow: twoSends, cap: flow.Cap{Count: 1, Per: 7 * 24 * time.Hour}})
	r := b.enroll(t, "two-sends", "jane")
	start := b.clock.Now()
	var deferredTo time.Time
	b.drive(t, []nurture.Next{*r.Next}, func(ran nurture.Task) bool {
		if en := b.enrollment(t, r.Enrollment.ID); en.Step == "second" && en.NextAt.After(b.clock.Now()) {
			deferredTo = en.NextAt
		}
		return false
	})
	msgs := b.smtp.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2 (the second deferred, not lost)", len(msgs))
	}
	if want := start.Add(7 * 24 * time.Hour); !deferredTo.Equal(want) {
		t.Errorf("deferred to %s, want %s (a week after the first)", deferredTo, want)
	}
	funnel, _ := b.eng.Funnel(b.ctx, "two-sends")
	if d := funnel[2].Counts[nurture.CountDeferred]; d != 1 {
		t.Errorf("second deferred %d times, want 1", d)
	}
	// What the metrics hear (longtail_emails_total): two sent, one deferred.
	if got := b.emails.get(); got["nurture two-sends sent"] != 2 || got["nurture two-sends deferred"] != 1 || len(got) != 2 {
		t.Errorf("emails observed %v, want 2 sent and 1 deferred of two-sends", got)
	}
}

// emailCounts is an EmailObserver that counts "kind flow result".
type emailCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *emailCounts) ObserveEmail(kind, flow, result string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[kind+" "+flow+" "+result]++
}

func (c *emailCounts) get() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

func TestOutsideTheWindowWaitsForIt(t *testing.T) {
	t.Parallel()
	flowNoWindow := strings.Replace(twoSends, "window: always\n", "", 1)
	// Saturday 10:00 UTC; the contact is in Paris, the window mon-fri 09-17.
	sat := time.Date(2026, 12, 12, 10, 0, 0, 0, time.UTC)
	b := setup(t, options{flow: flowNoWindow, start: sat, window: &flow.WindowSpec{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Hours: "09:00-17:00"}})
	r := b.enroll(t, "two-sends", "jane")
	next, err := b.eng.Run(b.ctx, r.Next.Task)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(b.smtp.Messages()); n != 0 {
		t.Fatalf("%d messages sent on a Saturday", n)
	}
	// Monday 09:00 in Paris is 08:00 UTC.
	if want := time.Date(2026, 12, 14, 8, 0, 0, 0, time.UTC); next == nil || next.Step != "first" || !next.At.Equal(want) {
		t.Fatalf("next %+v, want first at %s", next, want)
	}
	b.clock.Set(next.At)
	if _, err := b.eng.Run(b.ctx, next.Task); err != nil {
		t.Fatal(err)
	}
	if n := len(b.smtp.Messages()); n != 1 {
		t.Errorf("%d messages at the window's opening, want 1", n)
	}
}

func TestInactiveRepIsNeverTheSender(t *testing.T) {
	t.Parallel()
	b := setup(t, options{flow: twoSends})
	r := b.enroll(t, "two-sends", "omar")
	if _, err := b.eng.Run(b.ctx, r.Next.Task); err != nil {
		t.Fatal(err)
	}
	msgs := b.smtp.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	if from := headers(t, msgs[0]).Get("From"); !strings.Contains(from, "partners@vendor.example") {
		t.Errorf("From %q, want smtp.from (the owner is inactive)", from)
	}
}

func TestReloadRemovingAStepExitsCleanly(t *testing.T) {
	t.Parallel()
	b := setup(t, options{flow: twoSends})
	r := b.enroll(t, "two-sends", "jane")
	next, err := b.eng.Run(b.ctx, r.Next.Task) // first sent, gap next
	if err != nil || next == nil {
		t.Fatal(next, err)
	}
	lib, err := nurture.LoadLibrary(
		nurture.Source{FS: fstest.MapFS{"t.yaml": {Data: []byte(strings.Replace(twoSends, "  - {id: gap, wait: 1d}\n", "", 1))}}, Name: "flows"},
		nurture.Source{FS: fstest.MapFS{"hello.en.txt": {Data: []byte(testTemplate)}}, Name: "templates"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.eng.SetLibrary(lib)
	if n, err := b.eng.Run(b.ctx, next.Task); err != nil || n != nil {
		t.Fatalf("run of the removed step: %+v %v", n, err)
	}
	en := b.enrollment(t, r.Enrollment.ID)
	if en.Status != nurture.StatusExited || en.Reason != nurture.ReasonStepRemoved {
		t.Errorf("%s %s, want exited step_removed", en.Status, en.Reason)
	}
	funnel, _ := b.eng.Funnel(b.ctx, "two-sends")
	var removed int64
	for _, s := range funnel {
		removed += s.Counts[nurture.CountRemoved]
	}
	if removed != 0 {
		// the removed step is no longer in the flow's step list
		t.Errorf("removed counted on a listed step: %d", removed)
	}
	raw, _ := b.store.Funnel(b.ctx, "two-sends")
	if raw["gap"][nurture.CountRemoved] != 1 {
		t.Errorf("gap removed = %d, want 1", raw["gap"][nurture.CountRemoved])
	}
}

// A worker that committed a step and died before queueing the next one
// is repaired by the retry of the same task: the engine answers a task it
// has overtaken with the enrollment's current schedule (queued under the
// same task id, so never twice).
func TestRetryOfACommittedStepAnswersTheCurrentSchedule(t *testing.T) {
	t.Parallel()
	b := setup(t, options{flow: twoSends})
	r := b.enroll(t, "two-sends", "jane")
	first, err := b.eng.Run(b.ctx, r.Next.Task)
	if err != nil || first == nil || first.Step != "gap" {
		t.Fatalf("first run: %+v %v", first, err)
	}
	retry, err := b.eng.Run(b.ctx, r.Next.Task)
	if err != nil || retry == nil || *retry != *first {
		t.Fatalf("retry: %+v %v, want %+v", retry, err, first)
	}
	if n := len(b.smtp.Messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func TestPreviewSendsNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	m, err := b.eng.Preview(b.ctx, "test-flow", "welcome", "jane")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m.Text), "Hi Jane,") || m.Subject != "Deal registration, Jane" || !strings.Contains(m.From, "camille.martin@vendor.example") {
		t.Errorf("preview: %q %q %q", m.From, m.Subject, m.Text)
	}
	if n := len(b.smtp.Messages()); n != 0 {
		t.Errorf("%d messages sent by a preview", n)
	}
	for _, tc := range []struct {
		flow, step, contact string
		want                error
	}{
		{"nope", "welcome", "jane", nurture.ErrUnknownFlow},
		{"test-flow", "pause", "jane", nurture.ErrUnknownStep},
		{"test-flow", "welcome", "nobody", nurture.ErrUnknownContact},
	} {
		if _, err := b.eng.Preview(b.ctx, tc.flow, tc.step, tc.contact); !errors.Is(err, tc.want) {
			t.Errorf("%+v: %v, want %v", tc, err, tc.want)
		}
	}
}
