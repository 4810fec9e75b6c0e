package nurture_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
)

func TestMain(m *testing.M) { redistest.Main(m) }

func TestGate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.New(t)
	dir, err := directory.New(rdb, directory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := scoring.NewEngine(rdb, scoring.Config{Threshold: 9}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	q, err := repqueue.New(rdb, dir, engine, repqueue.Config{}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	gate, err := nurture.NewGate(dir, engine, q)
	if err != nil {
		t.Fatal(err)
	}
	must := func(_ any, _ bool, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(dir.PutRep(ctx, directory.Rep{ID: "r1", Name: "Rita", Email: "rita@vendor.example", DailyCapacity: 5, Active: true}))
	for _, p := range []string{"calm", "hot", "bounced"} {
		must(dir.PutPartner(ctx, directory.Partner{ID: p, Name: p, OwnerRepID: "r1"}))
	}
	must(dir.PutContact(ctx, directory.Contact{ID: "ok", PartnerID: "calm", Email: "ok@calm.example"}))
	must(dir.PutContact(ctx, directory.Contact{ID: "nope", PartnerID: "calm", Email: "nope@calm.example", Consent: directory.ConsentWithdrawn}))
	must(dir.PutContact(ctx, directory.Contact{ID: "hb", PartnerID: "bounced", Email: "hb@bounced.example"}))
	must(dir.PutContact(ctx, directory.Contact{ID: "caller", PartnerID: "hot", Email: "caller@hot.example"}))
	must(dir.PutContact(ctx, directory.Contact{ID: "colleague", PartnerID: "hot", Email: "colleague@hot.example"}))

	now := time.Now()
	if _, err := engine.Apply(ctx, scoring.Target{PartnerID: "bounced", ContactID: "hb"}, []event.Event{
		{ID: "b1", Type: event.EmailBounce, Bounce: event.BounceHard, OccurredAt: now},
	}); err != nil {
		t.Fatal(err)
	}
	res, err := engine.Apply(ctx, scoring.Target{PartnerID: "hot", ContactID: "caller"}, []event.Event{
		{ID: "w1", Type: event.WebinarAttended, OccurredAt: now, Title: "Zero trust"},
	})
	if err != nil || res.Crossing == nil {
		t.Fatalf("no crossing: %v %+v", err, res)
	}
	if _, _, err := q.Handoff(ctx, "hot", res.Crossing.Seq, res.Crossing.CrossedAt); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		contact string
		allowed bool
		reason  string
	}{
		{"ok", true, ""},
		{"nope", false, nurture.ReasonConsentWithdrawn},
		{"hb", false, "suppressed: hard_bounce"},
		{"caller", false, "in_call_queue"},
		{"colleague", false, "in_call_queue"}, // the whole partner pauses
		{"ghost", false, nurture.ReasonUnknownContact},
	}
	for _, tc := range tests {
		d, err := gate.MayMail(ctx, tc.contact)
		if err != nil {
			t.Fatalf("%s: %v", tc.contact, err)
		}
		if d.Allowed != tc.allowed || !strings.HasPrefix(d.Reason, tc.reason) {
			t.Errorf("%s: %+v, want allowed=%v reason %q", tc.contact, d, tc.allowed, tc.reason)
		}
	}

	// Recycling (not_now) keeps the pause as a cooldown; the contact is
	// mailable again only after it.
	if _, err := q.Claim(ctx, "r1", "hot"); err != nil {
		t.Fatal(err)
	}
	if _, err := q.RecordOutcome(ctx, "r1", "hot", repqueue.Outcome{Kind: repqueue.OutcomeWrongContact}); err != nil {
		t.Fatal(err)
	}
	if d, _ := gate.MayMail(ctx, "caller"); !d.Allowed {
		t.Errorf("after a wrong_contact recycle: %+v, want mailable again", d)
	}
}
