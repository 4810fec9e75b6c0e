package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/smtptest"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/scoring"
	"github.com/longtailhq/longtail/sendonce"
)

func TestDigestOncePerRepPerDay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newNotifySetup(t)
	smtp := smtptest.Start(t)
	dir, engine, q := s.dir, s.engine, s.queue
	reps := []directory.Rep{
		{ID: "digester", Name: "Dana", Email: "dana@vendor.example", DailyCapacity: 5, Active: true, Attrs: map[string]string{"notify": "digest", "locale": "fr"}},
		{ID: "emailer", Name: "Eli", Email: "eli@vendor.example", DailyCapacity: 5, Active: true},
	}
	for _, r := range reps {
		if _, _, err := dir.PutRep(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for i, owner := range []string{"digester", "digester", "emailer"} {
		pid, cid := "p"+string(rune('a'+i)), "c"+string(rune('a'+i))
		if _, _, err := dir.PutPartner(ctx, directory.Partner{ID: pid, Name: "Partner " + pid, OwnerRepID: owner}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := dir.PutContact(ctx, directory.Contact{ID: cid, PartnerID: pid, Email: cid + "@" + pid + ".example"}); err != nil {
			t.Fatal(err)
		}
		res, err := engine.Apply(ctx, scoring.Target{PartnerID: pid, ContactID: cid}, []event.Event{
			{ID: "w" + pid, Type: event.WebinarAttended, OccurredAt: s.clock.Now(), Title: "Webinar " + pid},
		})
		if err != nil || res.Crossing == nil {
			t.Fatalf("no crossing for %s: %v", pid, err)
		}
		if _, _, err := q.Handoff(ctx, pid, res.Crossing.Seq, res.Crossing.CrossedAt); err != nil {
			t.Fatal(err)
		}
	}
	mux := s.muxWith(t, s.notifier(t, newTestMailer(t, smtp.URL, 5*time.Second), s.once(t, sendonce.AbandonedIsUncertain), zerolog.InfoLevel), nil)
	for i := 0; i < 2; i++ { // the run retried, or scheduled twice: one digest
		if err := mux.ProcessTask(ctx, jobs.NewNotifyDigestTask()); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	msgs := smtp.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d emails, want one digest (only dana prefers a digest)", len(msgs))
	}
	body := string(msgs[0].Data)
	if msgs[0].To[0] != "dana@vendor.example" || !strings.Contains(body, "Partner pa") || !strings.Contains(body, "Partner pb") || strings.Contains(body, "Partner pc") {
		t.Errorf("digest to %v does not list exactly dana's two partners:\n%s", msgs[0].To, body)
	}
}
