package jobs_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/ingest"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/scoring"
)

// TestHandoffPartnerQueuesWhatTheRepWants runs the hand-off task (twice,
// as a retry would) for a rep who wants an email per hand-off and one who
// wants a digest, and checks what it queued: the email task once for the
// first only, with the message in the rep's locale, and the webhook once
// for each.
func TestHandoffPartnerQueuesWhatTheRepWants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newNotifySetup(t)
	client := asynq.NewClientFromRedisClient(s.rdb)
	t.Cleanup(func() { client.Close() })
	n := s.notifier(t, nil, nil, zerolog.InfoLevel)
	proc, err := ingest.NewProcessor(ingest.Config{}, s.dir, s.engine)
	if err != nil {
		t.Fatal(err)
	}
	mux := asynq.NewServeMux()
	jobs.Register(mux, jobs.Deps{
		Events: proc, RFM: nopRFM{}, Sweeper: s.queue, Tasks: client,
		Handoff: jobs.HandoffDeps{Queue: s.queue, Messages: n, Webhooks: 1},
		Notify:  jobs.NotifyDeps{Reps: n},
	})
	for _, r := range []directory.Rep{
		{ID: "emailer", Name: "Eli", Email: "eli@vendor.example", DailyCapacity: 5, Active: true, Attrs: map[string]string{"locale": "fr"}},
		{ID: "digester", Name: "Dana", Email: "dana@vendor.example", DailyCapacity: 5, Active: true, Attrs: map[string]string{"notify": "digest"}},
	} {
		if _, _, err := s.dir.PutRep(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, pid := range []string{"emailer", "digester"} {
		if _, _, err := s.dir.PutPartner(ctx, directory.Partner{ID: "p-" + pid, Name: "Partner of " + pid, OwnerRepID: pid}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.dir.PutContact(ctx, directory.Contact{ID: "c-" + pid, PartnerID: "p-" + pid, Email: "jane@" + pid + ".example"}); err != nil {
			t.Fatal(err)
		}
		res, err := s.engine.Apply(ctx, scoring.Target{PartnerID: "p-" + pid, ContactID: "c-" + pid}, []event.Event{
			{ID: "w-" + pid, Type: event.WebinarAttended, OccurredAt: s.clock.Now(), Title: "Securing SMB storage", Source: "test"},
		})
		if err != nil || res.Crossing == nil {
			t.Fatalf("no crossing for %s: %v", pid, err)
		}
		for range 2 {
			if err := mux.ProcessTask(ctx, jobs.NewHandoffPartnerTask(*res.Crossing)); err != nil {
				t.Fatalf("hand-off of %s: %v", pid, err)
			}
		}
	}
	tasks, err := asynq.NewInspectorFromRedisClient(s.rdb).ListPendingTasks(jobs.QueueHandoff)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, ti := range tasks {
		got[ti.Type+" "+ti.ID]++
		if ti.Type != jobs.TypeNotifyRep {
			continue
		}
		var p jobs.NotifyRepPayload
		if err := json.Unmarshal(ti.Payload, &p); err != nil {
			t.Fatal(err)
		}
		h := p.Handoff
		if h.RepID != "emailer" || h.RepEmail != "eli@vendor.example" || h.Locale != "fr" || h.PartnerName != "Partner of emailer" ||
			h.PageURL != "http://longtail.test/ui/queue" || len(h.Reasons) == 0 {
			t.Errorf("notification message %+v", h)
		}
	}
	var hooks int
	for k, c := range got {
		if c != 1 {
			t.Errorf("%s queued %d times", k, c)
		}
		if strings.HasPrefix(k, jobs.TypeNotifyWebhook+" ") {
			hooks++
		}
	}
	if got[jobs.TypeNotifyRep+" notify:rep:p-emailer:1"] != 1 || got[jobs.TypeNotifyRep+" notify:rep:p-digester:1"] != 0 || hooks != 2 || len(tasks) != 3 {
		t.Errorf("queued %v, want the email of p-emailer's hand-off and one webhook per hand-off", got)
	}
}
