package httpapi_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hibiken/asynq"

	"net/http/httptest"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/httpapi"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/program"
	"github.com/longtailhq/longtail/program/store"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
)

// programNow is Sunday 6 December 2026, noon UTC: in 2026-Q4, so the last
// full quarter is 2026-Q3 and the one before 2026-Q2; the 12 months start
// after 2025-12-06 12:00, the 90 days after 2026-09-07 12:00.
var programNow = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func fptr(v float64) *float64 { return &v }

// programFixture seeds a program's history: ten partners, each at one
// stage or boundary, with deals, purchases, engaged months and score
// snapshots, on a real Redis and the real directory, scoring engine, rep
// queue and program store, with the clock at programNow.
func programFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	rdb := redistest.New(t)
	clock := testclock.New(programNow)
	dir, err := directory.New(rdb, directory.Config{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := scoring.NewEngine(rdb, scoring.Config{}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	queue, err := repqueue.New(rdb, dir, engine, repqueue.Config{}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.New(rdb, store.Deps{Directory: dir, Scores: engine, Outcomes: queue, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { client.Close() })
	api, err := httpapi.New(httpapi.Config{Keys: []string{adminKey}}, httpapi.Deps{
		Clock: clock.Now, Sink: jobs.NewEventQueue(client, time.Second),
		Ready:     func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		Directory: dir, Program: st,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)

	for _, p := range []directory.Partner{
		{ID: "fresh", Name: "Fresh", JoinedAt: "2026-06-01"},                   // onboarding
		{ID: "edge", Name: "Edge", JoinedAt: "2025-12-06T12:00:00Z"},           // exactly 12 months ago: still onboarding
		{ID: "ghost", Name: "Ghost", JoinedAt: "2025-06-01"},                   // no deal at all: churned, at risk
		{ID: "star", Name: "Star", Tier: "registered", JoinedAt: "2025-01-15"}, // growing, up to silver
		{ID: "faller", Name: "Faller", JoinedAt: "2024-03-01"},                 // fell two quarters in a row
		{ID: "sleeper", Name: "Sleeper", JoinedAt: "2023-05-01"},               // dormant
		{ID: "gone", Name: "Gone", JoinedAt: "2024-02-01", LeftAt: "2026-03-01"},
		{ID: "dealonly", Name: "Deal only", JoinedAt: "2026-03-10"}, // a deal but no purchase
		{ID: "nojoin", Name: "No join date"},
		{ID: "lead", Name: "Lead"}, // recruited
	} {
		if _, _, err := dir.PutPartner(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	res := func(pid, id string, typ event.Type, at time.Time, v float64, origin string) store.Result {
		return store.Result{PartnerID: pid, EventID: id, Type: typ, At: at, Value: v, Origin: origin}
	}
	results := []store.Result{
		res("star", "s-d1", event.DealRegistered, date("2026-02-10"), 10000, "partner"),
		res("star", "s-d2", event.DealRegistered, date("2026-05-05"), 15000, "vendor"),
		res("star", "s-d3", event.DealRegistered, date("2026-08-10"), 17000, "partner"),
		res("star", "s-p1", event.Purchase, date("2026-09-01"), 30000, "partner"),
		res("star", "s-p2", event.DealWon, date("2026-10-01"), 12000, ""),
		res("faller", "f-d1", event.DealRegistered, date("2026-02-01"), 50000, "partner"),
		res("faller", "f-p1", event.Purchase, date("2026-05-01"), 20000, ""),
		res("faller", "f-p2", event.Purchase, date("2026-08-01"), 5000, ""),
		res("sleeper", "z-d1", event.DealRegistered, date("2024-01-10"), 1000, ""),
		res("dealonly", "o-d1", event.DealRegistered, date("2026-04-01"), 8000, "partner"),
		// Exactly a year old: outside the 12 months.
		res("nojoin", "n-d1", event.DealRegistered, programNow.AddDate(-1, 0, 0), 99999, "vendor"),
		res("nojoin", "n-d2", event.DealRegistered, date("2026-11-01"), 5000, "vendor"),
	}
	var engaged []store.Engagement
	for m := date("2025-12-15"); m.Before(programNow.AddDate(0, 0, -6)); m = m.AddDate(0, 1, 0) {
		engaged = append(engaged, store.Engagement{PartnerID: "star", At: m}) // every month, Dec 2025 to Nov 2026
	}
	engaged = append(engaged, store.Engagement{PartnerID: "faller", At: date("2026-11-10")}, store.Engagement{PartnerID: "dealonly", At: date("2026-11-10")})
	if err := st.Record(ctx, results, engaged); err != nil {
		t.Fatal(err)
	}
	// star's score: a webinar now, 10 points, no decay yet; its snapshots
	// 90 and 30 days ago: 20 and 5.
	if _, err := engine.Apply(ctx, scoring.Target{PartnerID: "star", ContactID: "jane"}, []event.Event{
		{ID: "w1", Type: event.WebinarAttended, ContactID: "jane", PartnerID: "star", OccurredAt: programNow, Source: "test"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Snapshot(ctx, programNow.AddDate(0, 0, -90), map[string]float64{"star": 20}); err != nil {
		t.Fatal(err)
	}
	if err := st.Snapshot(ctx, programNow.AddDate(0, 0, -30), map[string]float64{"star": 5}); err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, rdb: rdb, dir: dir, engine: engine, queue: queue}
}

func getJSON[T any](t *testing.T, f *fixture, path string) T {
	t.Helper()
	r := f.call(t, "GET", path, adminKey, "", "")
	if r.status != 200 {
		t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, r.body)
	}
	return v
}

func TestProgramRoutes(t *testing.T) {
	t.Parallel()
	f := programFixture(t)

	t.Run("tier suggestions and stages", func(t *testing.T) {
		got := getJSON[httpapi.TierSuggestions](t, f, "/v1/program/tier-suggestions")
		stages := map[string]program.StageName{}
		for _, r := range got.Items {
			stages[r.PartnerID] = r.Stage
		}
		wantStages := map[string]program.StageName{
			"fresh": program.Onboarding, "edge": program.Onboarding, "ghost": program.Churned,
			"star": program.Growing, "faller": program.Declining, "sleeper": program.Dormant,
			"gone": program.Churned, "dealonly": program.Declining, "nojoin": program.Steady,
			"lead": program.Recruited,
		}
		if diff := cmp.Diff(wantStages, stages); diff != "" {
			t.Errorf("stages (-want, +got):\n%s", diff)
		}
		star := got.Items[0] // the only move up comes first
		want := program.TierRow{PartnerID: "star", Stage: program.Growing, Suggestion: program.Suggestion{
			Current: "registered", Suggested: "silver", Move: program.MoveUp,
			Deals12: 3, Revenue12: 42000, Score: 10, EngagedMonths: 12, CountedMonths: 12,
		}}
		if diff := cmp.Diff(want, star, cmpopts.IgnoreFields(program.Suggestion{}, "Reason")); diff != "" {
			t.Errorf("star (-want, +got):\n%s", diff)
		}
		if got, want := star.Reason["en"], "3 registered deals and €42k in 12 months, engaged every month: registered → silver"; got != want {
			t.Errorf("reason %q, want %q", got, want)
		}
		faller := getJSON[httpapi.TierSuggestions](t, f, "/v1/program/tier-suggestions?move=set").Items
		for _, r := range faller {
			if r.Move != program.MoveSet {
				t.Errorf("?move=set listed %s moving %s", r.PartnerID, r.Move)
			}
			if r.PartnerID == "faller" && (r.Suggested != "registered" || r.ScoreShortOf != "silver" || r.Revenue12 != 25000) {
				t.Errorf("faller: %+v, want registered, held below silver by its score", r)
			}
		}
		if len(faller) != 9 {
			t.Errorf("?move=set: %d partners, want the 9 with no tier", len(faller))
		}
		r := f.call(t, "GET", "/v1/program/tier-suggestions?move=sideways", adminKey, "", "")
		if r.status != 400 || errorCode(t, r) != "invalid" {
			t.Errorf("unknown move: %d %s", r.status, r.body)
		}
	})

	t.Run("at risk", func(t *testing.T) {
		got := getJSON[httpapi.AtRiskList](t, f, "/v1/program/at-risk")
		want := httpapi.AtRiskList{At: programNow, Items: []program.Risk{
			{PartnerID: "ghost", Rule: program.RiskNoDeal, Stage: program.Churned, Since: date("2026-06-01"), Action: program.ActionReengage, State: program.LetGoRecommended},
			{PartnerID: "faller", Rule: program.RiskFalling, Stage: program.Declining, Since: date("2026-10-01"),
				Quarters: []float64{50000, 20000, 5000}, Action: program.ActionReengage, State: program.LetGoRecommended},
		}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("at risk (-want, +got):\n%s", diff)
		}
	})

	t.Run("kpis", func(t *testing.T) {
		got := getJSON[program.KPIReport](t, f, "/v1/program/kpis")
		if got.Partners != 8 || got.Productive != 4 || got.Churned != 2 || got.ChurnRate != 0.25 || got.WithoutCohort != 2 {
			t.Errorf("totals: partners %d productive %d churned %d rate %v without %d; want 8, 4, 2, 0.25, 2",
				got.Partners, got.Productive, got.Churned, got.ChurnRate, got.WithoutCohort)
		}
		wantSourcing := program.Sourcing{
			Deals: program.ByOrigin{Partner: program.Sum{Count: 4, Value: 85000}, Vendor: program.Sum{Count: 2, Value: 20000}, PartnerShare: fptr(4.0 / 6)},
			Purchases: program.ByOrigin{Partner: program.Sum{Count: 1, Value: 30000}, Unknown: program.Sum{Count: 3, Value: 37000},
				PartnerShare: fptr(1)},
		}
		if diff := cmp.Diff(wantSourcing, got.Sourcing, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
			t.Errorf("sourcing (-want, +got):\n%s", diff)
		}
		// Cycles, first in first out: star 2026-02-10 → 09-01 (203 days,
		// partner) and 05-05 → 10-01 (149, vendor); faller 02-01 → 05-01
		// (89, partner).
		wantCycle := program.DealCycle{
			All:     program.CycleStats{Count: 3, MedianDays: fptr(149)},
			Partner: program.CycleStats{Count: 2, MedianDays: fptr(146)},
			Vendor:  program.CycleStats{Count: 1, MedianDays: fptr(149)},
		}
		if diff := cmp.Diff(wantCycle, got.DealCycle); diff != "" {
			t.Errorf("deal cycle (-want, +got):\n%s", diff)
		}
		var q2024 *program.Cohort
		for i := range got.Cohorts {
			if got.Cohorts[i].Quarter == (program.Quarter{Year: 2024, Q: 1}) {
				q2024 = &got.Cohorts[i]
			}
		}
		if q2024 == nil {
			t.Fatalf("no 2024-Q1 cohort in %+v", got.Cohorts)
		}
		// faller and gone: faller productive 702 days after joining
		// (2024-03-01 → 2026-02-01), gone never; gone churned (it left).
		if q2024.Partners != 2 || q2024.Productive != 1 || q2024.Churned != 1 || q2024.Revenue != 25000 ||
			q2024.RevenuePerPartner != 12500 || q2024.MedianDays == nil || *q2024.MedianDays != 702 ||
			q2024.TimeToProductive[4].Count != 1 || len(q2024.ProductiveByMonth) != 24 || q2024.ProductiveByMonth[22] != 0.5 || q2024.ProductiveByMonth[21] != 0 {
			t.Errorf("2024-Q1 cohort: %+v", *q2024)
		}
	})

	t.Run("let go and keep with nurture off", func(t *testing.T) {
		for _, c := range []struct{ method, path string }{
			{"POST", "/v1/program/at-risk/ghost/let-go"},
			{"POST", "/v1/program/at-risk/ghost/keep"},
			{"DELETE", "/v1/program/at-risk/ghost/let-go"},
		} {
			if r := f.call(t, c.method, c.path, adminKey, "", ""); r.status != 503 || errorCode(t, r) != "nurture_off" {
				t.Errorf("%s %s: %d %s, want 503 nurture_off", c.method, c.path, r.status, r.body)
			}
			if r := f.call(t, c.method, c.path, "", "", ""); r.status != 401 {
				t.Errorf("%s %s without a key: %d", c.method, c.path, r.status)
			}
		}
	})

	t.Run("scorecard", func(t *testing.T) {
		got := getJSON[program.Card](t, f, "/v1/partners/star/scorecard")
		if got.Revenue90 != (program.Sum{Count: 1, Value: 12000}) || got.Revenue12 != (program.Sum{Count: 2, Value: 42000}) ||
			got.Deals90 != (program.Sum{}) || got.Deals12 != (program.Sum{Count: 3, Value: 42000}) {
			t.Errorf("results: revenue %v %v, deals %v %v", got.Revenue90, got.Revenue12, got.Deals90, got.Deals12)
		}
		if got.DaysToFirstDeal == nil || *got.DaysToFirstDeal != 391 { // 2025-01-15 → 2026-02-10
			t.Errorf("days to first deal %v, want 391", got.DaysToFirstDeal)
		}
		if diff := cmp.Diff(program.CycleStats{Count: 2, MedianDays: fptr(176)}, got.Cycle); diff != "" {
			t.Errorf("cycle (-want, +got):\n%s", diff)
		}
		wantEng := program.Engagement{Now: 10, Ago30: fptr(5), Ago90: fptr(20), Change30: fptr(5), Change90: fptr(-10), Direction: program.Declining}
		if diff := cmp.Diff(wantEng, got.Engagement); diff != "" {
			t.Errorf("engagement (-want, +got):\n%s", diff)
		}
		if got.Stage != program.Growing || got.Tier.Suggested != "silver" || len(got.Quarters) != 4 ||
			got.Quarters[3].Quarter != (program.Quarter{Year: 2026, Q: 3}) || got.Quarters[3].Purchases.Value != 30000 || got.Quarters[3].Deals.Value != 17000 {
			t.Errorf("stage %s, tier %+v, quarters %+v", got.Stage, got.Tier, got.Quarters)
		}
		// dealonly: a deal but no purchase.
		d := getJSON[program.Card](t, f, "/v1/partners/dealonly/scorecard")
		if d.Cycle.Count != 0 || d.Cycle.MedianDays != nil || d.Revenue12 != (program.Sum{}) || d.DaysToFirstDeal == nil || *d.DaysToFirstDeal != 22 {
			t.Errorf("deal only: cycle %+v, revenue %v, days to first deal %v", d.Cycle, d.Revenue12, d.DaysToFirstDeal)
		}
		for path, status := range map[string]int{"/v1/partners/nope/scorecard": 404, "/v1/partners/a:b/scorecard": 400} {
			if r := f.call(t, "GET", path, adminKey, "", ""); r.status != status {
				t.Errorf("GET %s: %d %s, want %d", path, r.status, r.body, status)
			}
		}
		if r := f.call(t, "GET", "/v1/partners/star/scorecard", "", "", ""); r.status != 401 {
			t.Errorf("scorecard without a key: %d", r.status)
		}
	})
}
