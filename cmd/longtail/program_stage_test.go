package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/smtptest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/program"
	"github.com/longtailhq/longtail/redisconn"
)

// programConfig writes a serve configuration with a real SMTP server,
// the flows given and the e2e template, sending at any hour.
func programConfig(t *testing.T, smtp *smtptest.Server, flows map[string]string, tmpls map[string]string) string {
	t.Helper()
	dir, flowsDir, tmplsDir := nurtureFiles(t, flows)
	for name, body := range tmpls {
		if err := os.WriteFile(filepath.Join(tmplsDir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfgPath := filepath.Join(dir, "longtail.yaml")
	cfg := fmt.Sprintf(`
smtp:
  url: %q
  from: "Vendor Partners <partners@vendor.example>"
tracking:
  secret: %q
nurture:
  flows_dir: %q
  templates_dir: %q
  frequency_cap: {count: 10, per: 7d}
  window: {days: [mon, tue, wed, thu, fri, sat, sun], hours: "00:00-24:00"}
`, smtp.URL, strings.Repeat("k", 32), flowsDir, tmplsDir)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath
}

// putAll PUTs each path's body as the admin, in order.
func putAll(t *testing.T, s *service, puts [][2]string) {
	t.Helper()
	for _, put := range puts {
		if code := doAs(t, s, testAPIKey, "PUT", put[0], put[1], nil); code != 200 {
			t.Fatalf("PUT %s = %d", put[0], code)
		}
	}
}

const dormantFlow = `id: dormant
name: Dormant partners
triggers: [{stage: dormant}]
window: always
steps:
  - {id: hello, send: hello}
`

// A partner that goes dormant with time alone: the nightly run and a fact
// change (an old event, which does not wake it) both recompute its stage
// at the same moment; its timeline records the change once, and its
// contact gets the {stage: dormant} flow's email once.
func TestStageDormantRecordedAndTriggeredOnce(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	cfgPath := programConfig(t, smtp, map[string]string{"dormant.yaml": dormantFlow}, nil)
	// A past date: the service's asynq schedules on the wall clock, so
	// steps dated by this clock are due at once.
	start := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	clock := testclock.New(start)
	redisURL := redistest.URL(t)
	s := startOn(t, clock.Now, "all", "LONGTAIL_CONFIG="+cfgPath, "LONGTAIL_REDIS_URL="+redisURL)
	putAll(t, s, [][2]string{
		{"/v1/reps/rep-a", `{"name":"Anne Martin","email":"anne@vendor.example","daily_capacity":5,"active":true}`},
		{"/v1/partners/acme", `{"name":"Acme Networks","type":"MSP","owner_rep_id":"rep-a","joined_at":"2025-01-10"}`},
		{"/v1/contacts/jane", `{"partner_id":"acme","email":"jane@acme.example","first_name":"Jane","consent":"granted"}`},
	})
	// The partner's creation queued its baseline stage: let it land
	// before the purchase, whose own stage task would otherwise race it.
	s.settle(t, jobs.QueueProgram)
	purchase := fmt.Sprintf(`[{"id":"crm:p1","type":"purchase","contact_id":"jane","occurred_at":%q,"value":5000,"source":"crm"}]`,
		start.Add(-time.Hour).Format(time.RFC3339))
	if code := doAs(t, s, testAPIKey, "POST", "/v1/events", purchase, nil); code/100 != 2 {
		t.Fatalf("POST purchase = %d", code)
	}
	s.settle(t, jobs.QueueIngest)
	s.settle(t, jobs.QueueProgram) // program:stage: productive
	stages := func() []program.StageChange {
		var card program.Card
		if code := doAs(t, s, testAPIKey, "GET", "/v1/partners/acme/scorecard", "", &card); code != 200 {
			t.Fatalf("GET scorecard = %d", code)
		}
		return card.StageChanges
	}
	if got := stages(); len(got) != 2 || got[0].From != program.Onboarding || got[0].To != program.Productive || got[1].From != "" || got[1].To != program.Onboarding {
		t.Fatalf("stage changes after the purchase: %+v, want onboarding → productive after the onboarding baseline", got)
	}

	// 181 days later, nothing happened since: dormant (dormant_after 180d).
	clock.Advance(181 * 24 * time.Hour)
	rdb, _, err := redisconn.Open(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	tasks := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { _ = tasks.Close() })
	old := fmt.Sprintf(`[{"id":"sg:o1","type":"email.open","contact_id":"jane","occurred_at":%q,"source":"sendgrid"}]`,
		start.Add(-2*time.Hour).Format(time.RFC3339))
	if code := doAs(t, s, testAPIKey, "POST", "/v1/events", old, nil); code/100 != 2 {
		t.Fatalf("POST old open = %d", code)
	}
	if _, err := tasks.Enqueue(jobs.NewProgramStagesTask()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error {
		if got := recipients(smtp); !slices.Equal(got, []string{"jane@acme.example"}) {
			return errorf("mail to %v, want jane once", got)
		}
		return nil
	})
	// The nightly run once more, later: nothing new to record or send.
	if _, err := tasks.Enqueue(jobs.NewProgramStagesTask()); err != nil {
		t.Fatal(err)
	}
	s.settle(t, jobs.QueueIngest)
	s.settle(t, jobs.QueueProgram)
	s.settle(t, jobs.QueuePeriodic)
	s.settle(t, jobs.QueueNurture)
	got := stages()
	if len(got) != 3 || got[0].From != program.Productive || got[0].To != program.Dormant || !got[0].At.Equal(clock.Now()) {
		t.Errorf("stage changes: %+v, want dormant once (newest first) at %v, then productive and the baseline", got, clock.Now())
	}
	if n := len(smtp.Messages()); n != 1 {
		t.Errorf("%d messages, want the dormant flow's one", n)
	}
}
