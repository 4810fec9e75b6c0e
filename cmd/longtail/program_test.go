package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/redistest"
	programstore "github.com/longtailhq/longtail/program/store"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
)

// TestProgramCommands seeds three partners on a real Redis and checks
// what `longtail program tiers|at-risk|kpis` print at an injected now,
// against figures computed by hand.
func TestProgramCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Sunday 6 December 2026, noon UTC: the 12 months start after
	// 2025-12-06 12:00; the last full quarter is 2026-Q3.
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return at }
	opt := redistest.Options(t)
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	dir, err := directory.New(rdb, directory.Config{Clock: now})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := scoring.NewEngine(rdb, scoring.Config{}, now)
	if err != nil {
		t.Fatal(err)
	}
	reps, err := repqueue.New(rdb, dir, engine, repqueue.Config{}, now)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := programstore.New(rdb, programstore.Deps{Directory: dir, Scores: engine, Outcomes: reps})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []directory.Partner{
		{ID: "star", Name: "Star", Tier: "registered", JoinedAt: "2025-01-15"},
		{ID: "ghost", Name: "Ghost", JoinedAt: "2025-06-01"},
		{ID: "fresh", Name: "Fresh", JoinedAt: "2026-06-01"},
	} {
		if _, _, err := dir.PutPartner(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	d := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	results := []programstore.Result{
		{PartnerID: "star", EventID: "d1", Type: event.DealRegistered, At: d("2026-02-10"), Value: 10000, Origin: "partner"},
		{PartnerID: "star", EventID: "d2", Type: event.DealRegistered, At: d("2026-05-05"), Value: 15000, Origin: "vendor"},
		{PartnerID: "star", EventID: "d3", Type: event.DealRegistered, At: d("2026-08-10"), Value: 17000, Origin: "partner"},
		{PartnerID: "star", EventID: "p1", Type: event.Purchase, At: d("2026-09-01"), Value: 30000},
		{PartnerID: "star", EventID: "p2", Type: event.Purchase, At: d("2026-10-01"), Value: 12000},
	}
	var engaged []programstore.Engagement
	for m := d("2025-12-15"); m.Before(d("2026-12-01")); m = m.AddDate(0, 1, 0) {
		engaged = append(engaged, programstore.Engagement{PartnerID: "star", At: m})
	}
	if err := ps.Record(ctx, results, engaged); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Apply(ctx, scoring.Target{PartnerID: "star", ContactID: "jane"}, []event.Event{
		{ID: "w1", Type: event.WebinarAttended, ContactID: "jane", PartnerID: "star", OccurredAt: at, Source: "test"},
	}); err != nil {
		t.Fatal(err)
	}
	env := []string{"LONGTAIL_REDIS_URL=" + redistest.OptionsURL(opt), "LONGTAIL_LOG_LEVEL=warn"}
	cli := func(args ...string) string {
		t.Helper()
		var out, errOut syncBuffer
		if err := runAt(ctx, now, args, env, &out, &errOut); err != nil {
			t.Fatalf("longtail %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return out.String()
	}

	tiers := strings.Split(strings.TrimSpace(cli("program", "tiers", "--csv")), "\n")
	if len(tiers) != 4 {
		t.Fatalf("tiers: %d lines, want a header and 3 partners:\n%s", len(tiers), strings.Join(tiers, "\n"))
	}
	wantStar := `star,growing,registered,silver,up,3,42000,10,12,12,,"3 registered deals and €42k in 12 months, engaged every month: registered → silver"`
	if tiers[0] != "partner_id,stage,current,suggested,move,deals_12m,revenue_12m,score,engaged_months,counted_months,score_short_of,reason" || tiers[1] != wantStar {
		t.Errorf("tiers:\n%s\nwant the header, then\n%s", strings.Join(tiers[:2], "\n"), wantStar)
	}
	if !strings.HasPrefix(tiers[2], "fresh,onboarding,,registered,set,0,0,0,") || !strings.HasPrefix(tiers[3], "ghost,churned,,registered,set,0,0,0,") {
		t.Errorf("tiers, the partners that get their first tier by id:\n%s", strings.Join(tiers[2:], "\n"))
	}
	if got := cli("program", "tiers"); !strings.Contains(got, "€42k") || !strings.Contains(got, "REASON") {
		t.Errorf("tiers table:\n%s", got)
	}

	if got, want := cli("program", "at-risk", "--csv"), "partner_id,rule,stage,since,action,quarters,state\nghost,no_deal,churned,2026-06-01T00:00:00Z,reengage,,recommended\n"; got != want {
		t.Errorf("at-risk --csv:\n%s\nwant\n%s", got, want)
	}

	// star: first result 391 days after joining, productive from the
	// 13th month; 22 months lived through by all (2025-01-15 + 22 months
	// is 2026-11-15). ghost: 18 months, fresh: 6, never productive.
	zeros := func(n int) string { return strings.TrimSuffix(strings.Repeat("0;", n), ";") }
	wantKPIs := "cohort,partners,productive,productive_share,median_days_to_productive,churned,churn_rate,revenue,revenue_per_partner,productive_by_month\n" +
		"2025-Q1,1,1,1,391,0,0,42000,42000," + zeros(12) + ";" + strings.TrimSuffix(strings.Repeat("1;", 10), ";") + "\n" +
		"2025-Q2,1,0,0,,1,1,0,0," + zeros(18) + "\n" +
		"2026-Q2,1,0,0,,0,0,0,0," + zeros(6) + "\n"
	if got := cli("program", "kpis", "--csv"); got != wantKPIs {
		t.Errorf("kpis --csv:\n%s\nwant\n%s", got, wantKPIs)
	}
	if got := cli("program", "kpis"); !strings.Contains(got, "partners 3 (and 0 without a join date), productive 1, churned 1: churn rate 33.3%") ||
		!strings.Contains(got, "deals in 12 months: partner-sourced 2 (€27k), vendor-sourced 1 (€15k), origin unknown 0 (€0); partner share 66.7%") {
		t.Errorf("kpis:\n%s", got)
	}

	var errOut syncBuffer
	if err := runAt(ctx, now, []string{"program", "churn"}, env, &syncBuffer{}, &errOut); exitCode(err, &errOut) != 2 {
		t.Errorf("an unknown subcommand: %v, want exit status 2", err)
	}
}
