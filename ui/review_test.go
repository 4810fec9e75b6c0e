package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/program"
	programstore "github.com/longtailhq/longtail/program/store"
	"github.com/longtailhq/longtail/repqueue"
)

// reviewFixture is the rep pages plus the review page, with acme's
// program history seeded: joined 2025-01-15; deals on 2026-02-10 (€10k),
// 05-05 (€15k) and 08-10 (€17k); purchases on 09-01 (€30k) and 10-01
// (€12k); handed off to rep1, who recorded not_now. The clock is Monday
// 16 November 2026, 10:00 UTC.
func reviewFixture(t *testing.T) (*fixture, string) {
	t.Helper()
	f := setup(t, Config{})
	tok := f.rep(t, "rep1", nil)
	f.hot(t, "acme", "Acme IT", "rep1", 1)
	if _, _, err := f.dir.PutPartner(f.ctx, directory.Partner{ID: "acme", Name: "Acme IT", OwnerRepID: "rep1",
		Timezone: "Europe/Paris", JoinedAt: "2025-01-15"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.q.Claim(f.ctx, "rep1", "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.outcomes.Record(f.ctx, "rep1", "acme", repqueue.Outcome{Kind: repqueue.OutcomeNotNow}); err != nil {
		t.Fatal(err)
	}
	ps, err := programstore.New(f.rdb, programstore.Deps{Directory: f.dir, Scores: f.eng, Outcomes: f.q, Clock: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	d := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	if err := ps.Record(f.ctx, []programstore.Result{
		{PartnerID: "acme", EventID: "d1", Type: event.DealRegistered, At: d("2026-02-10"), Value: 10000},
		{PartnerID: "acme", EventID: "d2", Type: event.DealRegistered, At: d("2026-05-05"), Value: 15000},
		{PartnerID: "acme", EventID: "d3", Type: event.DealRegistered, At: d("2026-08-10"), Value: 17000},
		{PartnerID: "acme", EventID: "p1", Type: event.Purchase, At: d("2026-09-01"), Value: 30000},
		{PartnerID: "acme", EventID: "p2", Type: event.Purchase, At: d("2026-10-01"), Value: 12000},
	}, nil); err != nil {
		t.Fatal(err)
	}
	// Its stage recorded twice: a baseline in August, then now.
	for _, at := range []time.Time{d("2026-08-20"), f.clock.Now()} {
		facts, err := ps.Facts(f.ctx, "acme", at)
		if err != nil {
			t.Fatal(err)
		}
		c := program.StageChange{At: at, From: facts.LastStage, To: program.Productive}
		if facts.LastStage == program.Productive {
			c.To = program.Growing
		}
		if ok, err := ps.RecordStage(f.ctx, facts, c); err != nil || !ok {
			t.Fatalf("record stage: %v %v", ok, err)
		}
	}
	h, err := New(Config{Clock: f.clock.Now}, f.q, f.outcomes, f.tok, f.dir, f.rdb, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	if err != nil {
		t.Fatal(err)
	}
	rv, err := NewProgramPages(h, ps, f.dir, program.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	rv.Register(mux)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f, tok
}

func TestReviewPage(t *testing.T) {
	t.Parallel()
	f, tok := reviewFixture(t)
	c := f.client(t)
	if r := c.get("/ui/partners/acme/review"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/ui/login") {
		t.Fatalf("signed out: %d to %q, want the sign-in page", r.status, r.location())
	}
	c.signIn(tok)
	r := c.get("/ui/partners/acme/review")
	if r.status != http.StatusOK {
		t.Fatalf("review: %d\n%s", r.status, r.body)
	}
	// By hand at 2026-11-16 10:00: the 90 days start after 08-18 10:00,
	// the 12 months after 2025-11-16 10:00; the last full quarter is
	// 2026-Q3 (€17k of deals, €30k of revenue) against Q2's €15k:
	// growing. First deal 391 days after joining; the purchases close the
	// deals of 02-10 (203 days) and 05-05 (149): median 176.
	for _, want := range []string{
		`<td id="revenue-90d">€42k</td><td id="revenue-12m">€42k</td>`,
		`<td id="deals-90d">0 · €0</td><td id="deals-12m">3 · €42k</td>`,
		`<th scope="row">2025-Q4</th><td>0</td><td>€0</td><td>€0</td>`,
		`<th scope="row">2026-Q2</th><td>1</td><td>€15k</td><td>€0</td>`,
		`<th scope="row">2026-Q3</th><td>1</td><td>€17k</td><td>€30k</td>`,
		`<dd id="first-deal">391 days after joining</dd>`,
		`<dd id="cycle">176 days (median of 2)</dd>`,
		`<strong id="review-stage">growing</strong>`,
		`no tier → silver</strong> (set)`,
		"3 registered deals and €42k in 12 months",
		"<li>not_now: 1</li>",
		"16 November 2026",
		`<li>2026-11-16: productive → growing</li>`,
		`<li>2026-08-20: productive</li>`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("review page lacks %s", want)
		}
	}
	// Results come first: before the tier, the hand-offs and engagement.
	if i, j := strings.Index(r.body, `id="results"`), strings.Index(r.body, `id="engagement"`); i < 0 || j < i {
		t.Error("results do not come before engagement")
	}
	if r := c.get("/ui/partners/nope/review"); r.status != http.StatusNotFound || !strings.Contains(r.body, "Partner not found") {
		t.Errorf("unknown partner: %d", r.status)
	}
}

// TestReviewPageInChromium renders the review page in a real browser and
// checks it is one printable page: the top bar goes, the results show.
func TestReviewPageInChromium(t *testing.T) {
	f, tok := reviewFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := browser(t, ctx)
	if err := chromedp.Do(b,
		chromedp.Navigate(f.srv.URL+"/ui/login"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), tok),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("queue")),
		chromedp.Navigate(f.srv.URL+"/ui/partners/acme/review"),
		chromedp.WaitVisible(chromedp.ID("review")),
	); err != nil {
		t.Fatalf("open the review: %v", err)
	}
	if got := text(t, b, "#revenue-12m"); got != "€42k" {
		t.Errorf("revenue in 12 months %q", got)
	}
	if got := text(t, b, "#review-stage"); got != "growing" {
		t.Errorf("stage %q", got)
	}
	if rows := eval[int](t, b, `document.querySelectorAll('#quarters tbody tr').length`); rows != 4 {
		t.Errorf("%d quarters shown, want 4", rows)
	}
	// The stylesheet applied under the CSP.
	if bd := eval[string](t, b, `getComputedStyle(document.querySelector('.review-table th')).textAlign`); bd != "left" {
		t.Errorf("review table header aligned %q: the stylesheet did not apply", bd)
	}
	screenshot(t, b, "review.png")
	// Printed: no top bar, and it fits on one A4 page (1123 CSS pixels
	// high at 96 dpi, less the default margins).
	if _, err := chromedp.Call(b, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatalf("print media: %v", err)
	}
	if shown := eval[string](t, b, `getComputedStyle(document.querySelector('.topbar')).display`); shown != "none" {
		t.Errorf("the top bar prints (display %q)", shown)
	}
	if h := eval[float64](t, b, `document.documentElement.scrollHeight`); h > 1123 {
		t.Errorf("printed page is %vpx high: more than one A4 page", h)
	}
}

func TestProgramPages(t *testing.T) {
	t.Parallel()
	f, tok := reviewFixture(t)
	if _, _, err := f.dir.PutPartner(f.ctx, directory.Partner{ID: "ghost", Name: "Ghost", JoinedAt: "2025-06-01"}); err != nil {
		t.Fatal(err)
	}
	c := f.client(t)
	if r := c.get("/ui/program/tiers.csv"); r.status != http.StatusSeeOther {
		t.Fatalf("signed out: %d, want the sign-in page", r.status)
	}
	c.signIn(tok)
	// By hand at 2026-11-16 10:00: acme (joined 2025-01-15) was
	// productive from its 13th month (first deal 2026-02-10) and has
	// lived through 22 months; ghost (joined 2025-06-01, no deal) has
	// lived through 17 and is past the 365 days: churned, at risk since
	// 2026-06-01.
	ones := strings.TrimSuffix(strings.Repeat("1;", 10), ";")
	zeros := func(n int) string { return strings.TrimSuffix(strings.Repeat("0;", n), ";") }
	for path, want := range map[string]string{
		"/ui/program/at-risk.csv": "partner_id,rule,stage,since,action,quarters,state\nghost,no_deal,churned,2026-06-01T00:00:00Z,reengage,,recommended\n",
		"/ui/program/cohorts.csv": "cohort,partners,productive,productive_share,median_days_to_productive,churned,churn_rate,revenue,revenue_per_partner,productive_by_month\n" +
			"2025-Q1,1,1,1,391,0,0,42000,42000," + zeros(12) + ";" + ones + "\n" +
			"2025-Q2,1,0,0,,1,1,0,0," + zeros(17) + "\n",
	} {
		r := c.get(path)
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "text/csv; charset=utf-8" ||
			!strings.HasPrefix(r.header.Get("Content-Disposition"), `attachment; filename="program-`) {
			t.Errorf("GET %s: %d %v", path, r.status, r.header)
		}
		if r.body != want {
			t.Errorf("GET %s:\n%s\nwant\n%s", path, r.body, want)
		}
	}
	tiers := strings.Split(strings.TrimSpace(c.get("/ui/program/tiers.csv").body), "\n")
	if len(tiers) != 3 || !strings.HasPrefix(tiers[1], "acme,growing,,silver,set,3,42000,") || !strings.HasPrefix(tiers[2], "ghost,churned,,registered,set,0,0,0,") {
		t.Errorf("tiers.csv:\n%s", strings.Join(tiers, "\n"))
	}
	r := c.get("/ui/program")
	if r.status != http.StatusOK {
		t.Fatalf("GET /ui/program: %d", r.status)
	}
	for _, want := range []string{
		`<a href="/ui/partners/acme/review">acme</a>`,
		`<td>no_deal</td><td>churned</td><td>2026-06-01</td><td>reengage</td><td>recommended</td>`,
		// acme's line ends at month 22 (x = 48 + 21·640/23) at 100% (y = 16).
		` 632,16"><title>2025-Q1: 100% productive</title>`,
		`<title>2025-Q2: 0% productive</title>`,
		`href="/ui/program/cohorts.csv"`,
		`<td>391 days</td>`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("/ui/program lacks %s", want)
		}
	}
}

// TestCohortChartInChromium draws the program page in a real browser:
// the chart's lines are there and styled under the CSP.
func TestCohortChartInChromium(t *testing.T) {
	f, tok := reviewFixture(t)
	if _, _, err := f.dir.PutPartner(f.ctx, directory.Partner{ID: "ghost", Name: "Ghost", JoinedAt: "2025-06-01"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := browser(t, ctx)
	if err := chromedp.Do(b,
		chromedp.Navigate(f.srv.URL+"/ui/login"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), tok),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("queue")),
		chromedp.Navigate(f.srv.URL+"/ui/program"),
		chromedp.WaitVisible(chromedp.ID("cohort-chart")),
	); err != nil {
		t.Fatalf("open the program page: %v", err)
	}
	if n := eval[int](t, b, `document.querySelectorAll('#cohort-chart polyline').length`); n != 2 {
		t.Errorf("%d cohort lines drawn, want 2", n)
	}
	if stroke := eval[string](t, b, `getComputedStyle(document.querySelector('#cohort-chart polyline')).stroke`); stroke != "rgb(37, 99, 235)" {
		t.Errorf("first line stroke %q: the stylesheet did not apply", stroke)
	}
	if w := eval[float64](t, b, `document.getElementById('cohort-chart').getBoundingClientRect().width`); w < 300 {
		t.Errorf("chart is %vpx wide", w)
	}
	screenshot(t, b, "program.png")
}
