package ingest_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/longtailhq/longtail/activity"
	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/ingest"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/scoring"
)

func TestMain(m *testing.M) { redistest.Main(m) }

type bundle struct {
	dir    *directory.Store
	engine *scoring.Engine
	proc   *ingest.Processor
}

func setup(t *testing.T, cfg ingest.Config) *bundle {
	t.Helper()
	rdb := redistest.New(t)
	dir, err := directory.New(rdb, directory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := scoring.NewEngine(rdb, scoring.Config{Threshold: 12}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	proc, err := ingest.NewProcessor(cfg, dir, engine)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := dir.PutPartner(ctx, directory.Partner{ID: "acme", Name: "Acme", Type: "MSP", Tier: "silver"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := dir.PutContact(ctx, directory.Contact{ID: "jane", PartnerID: "acme", Email: "jane@acme.example"}); err != nil {
		t.Fatal(err)
	}
	return &bundle{dir: dir, engine: engine, proc: proc}
}

func ev(id string, typ event.Type, email, contactID string) event.Event {
	return event.Event{ID: id, Type: typ, Email: email, ContactID: contactID, OccurredAt: time.Now(), Source: "test"}
}

func TestProcessResolvesContacts(t *testing.T) {
	t.Parallel()
	b := setup(t, ingest.Config{})
	ctx := context.Background()
	res, err := b.proc.Process(ctx, []event.Event{
		ev("1", event.WebVisit, "", "jane"),                        // by id
		ev("2", event.WebVisit, "JANE@acme.example", ""),           // by email, any case
		ev("3", event.WebVisit, "new@stranger.example", ""),        // unknown: created, unassigned
		ev("4", event.WebVisit, "", "ghost"),                       // unknown id, no email: dropped
		ev("5", event.WebVisit, "jane@acme.example", "no-such-id"), // unknown id: falls back to email
		ev("6", event.WebVisit, "jane@acme.example", "not an id"),  // an id we could never have issued: same
		ev("7", event.WebVisit, "", "{p:x}"),                       // ...and without an email: dropped
	})
	if err != nil {
		t.Fatal(err)
	}
	jane, err := b.engine.Contact(ctx, "acme", "jane")
	if err != nil {
		t.Fatal(err)
	}
	if len(jane.Timeline) != 4 || jane.Score < 11.99 {
		t.Errorf("jane: %d timeline items, score %.2f; want 4 visits, 12 points", len(jane.Timeline), jane.Score)
	}
	stranger, err := b.dir.ContactByEmail(ctx, "new@stranger.example")
	if err != nil {
		t.Fatalf("unknown email did not become a contact: %v", err)
	}
	if stranger.PartnerID != "unassigned" {
		t.Errorf("new contact under %q", stranger.PartnerID)
	}
	st := b.proc.Stats()
	if st.Applied != 5 || st.Dropped != 2 || st.ContactsCreated != 1 {
		t.Errorf("stats %+v, want 5 applied, 2 dropped, 1 created", st)
	}
	// What happened, per contact, in order of first appearance.
	if res.Dropped != 2 || len(res.Contacts) != 2 {
		t.Fatalf("result: %d dropped, %d contacts; want 2 and 2 (jane, the stranger)", res.Dropped, len(res.Contacts))
	}
	want := []struct {
		contact, partner string
		ids              []string
	}{
		{"jane", "acme", []string{"1", "2", "5", "6"}},
		{stranger.ID, "unassigned", []string{"3"}},
	}
	for i, w := range want {
		c := res.Contacts[i]
		if c.ContactID != w.contact || c.PartnerID != w.partner || len(c.Events) != len(w.ids) || c.Scored == nil || len(c.Scored.Events) != len(w.ids) {
			t.Errorf("contact %d: %s/%s with %d events (%v judged), want %s/%s with %v", i, c.PartnerID, c.ContactID, len(c.Events), c.Scored, w.partner, w.contact, w.ids)
			continue
		}
		judged := map[string]scoring.EventResult{}
		for _, r := range c.Scored.Events {
			judged[r.ID] = r
		}
		for j, e := range c.Events {
			if e.ID != w.ids[j] || e.ContactID != w.contact || e.PartnerID != w.partner || e.Email == "" {
				t.Errorf("contact %s event %d: %+v, want id %s resolved to %s/%s with an email", w.contact, j, e, w.ids[j], w.partner, w.contact)
			}
			if r, ok := judged[e.ID]; !ok || r.Duplicate || r.Points != 3 {
				t.Errorf("contact %s event %s judged %+v (found %v), want 3 points", w.contact, e.ID, r, ok)
			}
		}
	}
	// The unassigned pseudo-partner never rolls up or crosses.
	if p, err := b.engine.Partner(ctx, "unassigned"); err == nil && p.Score != 0 {
		t.Errorf("unassigned partner has score %.2f", p.Score)
	}
}

func TestProcessDropsUnknownWhenConfigured(t *testing.T) {
	t.Parallel()
	b := setup(t, ingest.Config{DropUnknownContacts: true})
	res, err := b.proc.Process(context.Background(), []event.Event{ev("1", event.EmailOpen, "who@nowhere.example", "")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Dropped != 1 || len(res.Contacts) != 0 {
		t.Errorf("result %+v, want the event dropped", res)
	}
	if _, err := b.dir.ContactByEmail(context.Background(), "who@nowhere.example"); err == nil {
		t.Error("contact created although drop_unknown_contacts is set")
	}
	if st := b.proc.Stats(); st.Dropped != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestProcessReportsACrossingUntilAcked: the crossing is reported (once
// per Process, however many of the partner's contacts the batch reaches)
// until the caller acknowledges its hand-off; retries count it once.
func TestProcessReportsACrossingUntilAcked(t *testing.T) {
	t.Parallel()
	b := setup(t, ingest.Config{})
	ctx := context.Background()
	if _, _, err := b.dir.PutContact(ctx, directory.Contact{ID: "joe", PartnerID: "acme", Email: "joe@acme.example"}); err != nil {
		t.Fatal(err)
	}
	batch := []event.Event{ev("w1", event.WebinarAttended, "", "jane"), ev("v1", event.WebVisit, "", "jane"), ev("v2", event.WebVisit, "", "joe")} // 16 ≥ 12
	var first scoring.Crossing
	for i := 0; i < 3; i++ { // the task retried before the hand-off was acknowledged
		res, err := b.proc.Process(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Crossings) != 1 || res.Crossings[0].PartnerID != "acme" {
			t.Fatalf("run %d: crossings %+v, want acme's, once", i, res.Crossings)
		}
		if i == 0 {
			first = res.Crossings[0]
		} else if res.Crossings[0].HandoffID() != first.HandoffID() {
			t.Errorf("run %d: crossing %s, want the same as the first, %s", i, res.Crossings[0].HandoffID(), first.HandoffID())
		}
	}
	p, err := b.engine.Partner(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if p.ThresholdCrossedAt == nil {
		t.Error("threshold_crossed_at not recorded")
	}
	if st := b.proc.Stats(); st.Crossings != 1 || st.Duplicates != 6 {
		t.Errorf("stats %+v, want 1 crossing and 6 duplicates", st)
	}
	if err := b.proc.AckCrossing(ctx, first); err != nil {
		t.Fatal(err)
	}
	res, err := b.proc.Process(ctx, []event.Event{ev("v3", event.WebVisit, "", "jane")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Crossings) != 0 {
		t.Errorf("crossings after the ack: %+v, want none", res.Crossings)
	}
}

// observed records what an ingest.Observer hears.
type observed struct {
	mu      sync.Mutex
	scored  []string // "id" or "id dup"
	dropped []string
}

func (o *observed) EventScored(ev event.Event, r scoring.EventResult) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := ev.ID
	if r.Duplicate {
		s += " dup"
	}
	o.scored = append(o.scored, s)
}

func (o *observed) EventDropped(ev event.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dropped = append(o.dropped, ev.ID)
}

// The observer hears each event with its own result, in batch order per
// contact: a redelivered event as a duplicate, an unknown contact's as
// dropped.
func TestProcessTellsTheObserver(t *testing.T) {
	t.Parallel()
	o := &observed{}
	b := setup(t, ingest.Config{DropUnknownContacts: true, Observer: o})
	ctx := context.Background()
	batch := []event.Event{ev("1", event.WebVisit, "", "jane"), ev("2", event.EmailClick, "", "jane"), ev("3", event.EmailOpen, "who@nowhere.example", "")}
	for range 2 {
		if _, err := b.proc.Process(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := strings.Join(o.scored, ","), "1,2,1 dup,2 dup"; got != want {
		t.Errorf("scored %q, want %q", got, want)
	}
	if got, want := strings.Join(o.dropped, ","), "3,3"; got != want {
		t.Errorf("dropped %q, want %q", got, want)
	}
}

// The activity series count each scored event once: a redelivered batch
// adds nothing, a dropped event nothing.
func TestProcessRecordsActivityOnce(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t)
	clock := testclock.New(time.Now().UTC())
	act, err := activity.New(rdb, activity.Config{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, ingest.Config{DropUnknownContacts: true, Activity: act})
	ctx := context.Background()
	click := ev("2", event.EmailClick, "", "jane")
	click.Topic = "security"
	batch := []event.Event{ev("1", event.WebVisit, "", "jane"), click, ev("3", event.EmailOpen, "who@nowhere.example", "")}
	for range 2 {
		if _, err := b.proc.Process(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(time.Minute)
	mins, err := act.PerMinute(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	days, err := act.Days(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if mins[0] != 2 {
		t.Errorf("events in the minute %d, want 2", mins[0])
	}
	d := days[0]
	if d.Types["web.visit"] != 1 || d.Types["email.click"] != 1 || len(d.Types) != 2 || d.Topics["security"] <= 0 {
		t.Errorf("day %+v, want one visit, one click and the click's points under security", d)
	}
}
