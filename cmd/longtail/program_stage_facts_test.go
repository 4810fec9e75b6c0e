package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/smtptest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/program"
)

const churnedFlow = `id: churned
name: Churned partners
triggers: [{stage: churned}]
window: always
steps:
  - {id: hello, send: hello}
`

// stageChanges reads a partner's timeline of stages from its scorecard,
// newest first.
func stageChanges(t *testing.T, s *service, pid string) []program.StageChange {
	t.Helper()
	var card program.Card
	if code := doAs(t, s, testAPIKey, "GET", "/v1/partners/"+pid+"/scorecard", "", &card); code != 200 {
		t.Fatalf("GET scorecard of %s = %d", pid, code)
	}
	return card.StageChanges
}

// A PUT /v1/partners/{id} that sets left_at churns the partner at once:
// one stage change recorded, the {stage: churned} flow's email sent once.
// PUTs that move neither joined_at nor left_at (the same body again, a
// new tier) queue no recomputation.
func TestStagePutPartnerLeftAtChurnsOnce(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	cfgPath := programConfig(t, smtp, map[string]string{"churned.yaml": churnedFlow}, nil)
	// A past date: the service's asynq schedules on the wall clock, so
	// steps dated by this clock are due at once.
	clock := testclock.New(time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC))
	s := startOn(t, clock.Now, "all", "LONGTAIL_CONFIG="+cfgPath, "LONGTAIL_REDIS_URL="+redistest.URL(t))
	const acme = `{"name":"Acme Networks","type":"MSP","tier":"registered","owner_rep_id":"rep-a","joined_at":"2025-12-01"`
	putAll(t, s, [][2]string{
		{"/v1/reps/rep-a", `{"name":"Anne Martin","email":"anne@vendor.example","daily_capacity":5,"active":true}`},
		{"/v1/partners/acme", acme + `}`},
		{"/v1/contacts/jane", `{"partner_id":"acme","email":"jane@acme.example","first_name":"Jane","consent":"granted"}`},
	})
	// The created partner's stage is recorded at once, as a baseline.
	s.waitTasks(t, jobs.QueueProgram, 1)
	if got := stageChanges(t, s, "acme"); len(got) != 1 || got[0].From != "" || got[0].To != program.Onboarding {
		t.Fatalf("stage changes after the creation: %+v, want the onboarding baseline", got)
	}

	clock.Advance(time.Hour)
	putAll(t, s, [][2]string{{"/v1/partners/acme", acme + `,"left_at":"2026-01-05"}`}})
	s.waitTasks(t, jobs.QueueProgram, 2)
	eventually(t, 20*time.Second, func() error {
		if got := recipients(smtp); !slices.Equal(got, []string{"jane@acme.example"}) {
			return errorf("mail to %v, want jane once", got)
		}
		return nil
	})
	got := stageChanges(t, s, "acme")
	if len(got) != 2 || got[0].From != program.Onboarding || got[0].To != program.Churned || !got[0].At.Equal(clock.Now()) {
		t.Fatalf("stage changes: %+v, want onboarding → churned at %v (newest first), then the baseline", got, clock.Now())
	}

	// The same PUT again, then a tier change: nothing the stage reads.
	clock.Advance(time.Hour)
	putAll(t, s, [][2]string{
		{"/v1/partners/acme", acme + `,"left_at":"2026-01-05"}`},
		{"/v1/partners/acme", `{"name":"Acme Networks","type":"MSP","tier":"gold","owner_rep_id":"rep-a","joined_at":"2025-12-01","left_at":"2026-01-05T00:00:00Z"}`},
	})
	s.waitTasks(t, jobs.QueueProgram, 2)
	s.settle(t, jobs.QueueNurture)
	if got := stageChanges(t, s, "acme"); len(got) != 2 {
		t.Errorf("stage changes after PUTs that move no date: %+v, want the same two", got)
	}
	if n := len(smtp.Messages()); n != 1 {
		t.Errorf("%d messages, want the churned flow's one", n)
	}
}

// A partners CSV imported again unchanged queues no recomputation and
// records nothing; one that changes joined_at recomputes the stage.
func TestStageImportPartnersRecomputesOnJoinedAt(t *testing.T) {
	t.Parallel()
	clock := testclock.New(time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC))
	s := startOn(t, clock.Now, "all", "LONGTAIL_REDIS_URL="+redistest.URL(t))
	csv := filepath.Join(t.TempDir(), "partners.csv")
	write := func(rows string) {
		t.Helper()
		if err := os.WriteFile(csv, []byte("id,name,type,tier,joined_at,left_at\n"+rows), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// acme joins in the future (recruited), globex has joined (onboarding).
	write("acme,Acme Networks,MSP,registered,2026-03-01,\nglobex,Globex,VAR,silver,2025-11-02,\n")
	s.cli(t, "import", "partners", csv)
	s.waitTasks(t, jobs.QueueProgram, 2)
	for pid, want := range map[string]program.StageName{"acme": program.Recruited, "globex": program.Onboarding} {
		if got := stageChanges(t, s, pid); len(got) != 1 || got[0].From != "" || got[0].To != want {
			t.Fatalf("%s: stage changes after the first import: %+v, want the %s baseline", pid, got, want)
		}
	}

	clock.Advance(time.Hour)
	s.cli(t, "import", "partners", csv)
	// Only a tier: no date moved.
	write("acme,Acme Networks,MSP,gold,2026-03-01,\nglobex,Globex,VAR,silver,2025-11-02,\n")
	s.cli(t, "import", "partners", csv)
	s.waitTasks(t, jobs.QueueProgram, 2)

	clock.Advance(time.Hour)
	write("acme,Acme Networks,MSP,gold,2025-12-15,\nglobex,Globex,VAR,silver,2025-11-02,\n")
	s.cli(t, "import", "partners", csv)
	s.waitTasks(t, jobs.QueueProgram, 3)
	got := stageChanges(t, s, "acme")
	if len(got) != 2 || got[0].From != program.Recruited || got[0].To != program.Onboarding || !got[0].At.Equal(clock.Now()) {
		t.Errorf("acme: stage changes: %+v, want recruited → onboarding at %v, then the baseline", got, clock.Now())
	}
	if got := stageChanges(t, s, "globex"); len(got) != 1 {
		t.Errorf("globex: stage changes: %+v, want the baseline alone", got)
	}
}
