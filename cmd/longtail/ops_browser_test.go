package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/longtailhq/longtail/internal/browsertest"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/opsview"
	"github.com/longtailhq/longtail/outbox"
	"github.com/longtailhq/longtail/redisconn"
)

// opsFlow sends one email, then ends: its funnel does not move while the
// test reads it.
const opsFlow = `id: welcome
name: Welcome
window: always
steps:
  - {id: hello, send: hello}
  - {id: done, exit: true}
`

// opsPartners are the seeded partners; the last five never engage.
var opsPartners = []string{"acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne",
	"wonka", "tyrell", "cyberdyne", "soylent", "nakatomi"}

// opsEvents are the seeded engagement, relative to now: 17 distinct
// events. acme (owned by rep-a) and globex (no owner: unrouted under
// owner-only routing) cross the threshold of 30.
func opsEvents(now time.Time) string {
	var b strings.Builder
	add := func(id, typ, pid, topic string, daysAgo int, value float64) {
		fmt.Fprintf(&b, `{"id":%q,"type":%q,"email":"c@%s.example","occurred_at":%q,"topic":%q,"value":%v,"source":"crm"}`+"\n",
			id, typ, pid, now.Add(-time.Duration(daysAgo)*24*time.Hour-time.Hour).Format(time.RFC3339), topic, value)
	}
	for i := range 3 {
		add(fmt.Sprintf("acme-w%d", i), "webinar.attended", "acme", "security", i, 0)
	}
	add("acme-c", "email.click", "acme", "security", 0, 0)
	for i := range 4 {
		add(fmt.Sprintf("globex-w%d", i), "webinar.attended", "globex", "storage", 1+i%2, 0)
	}
	add("initech-v1", "web.visit", "initech", "cloud", 3, 0)
	add("initech-v2", "web.visit", "initech", "cloud", 4, 0)
	add("initech-o", "email.open", "initech", "", 2, 0)
	add("umbrella-w", "webinar.attended", "umbrella", "cloud", 6, 0)
	add("hooli-c", "email.click", "hooli", "security", 8, 0)
	add("stark-p", "purchase", "stark", "", 5, 5000)
	add("wayne-o1", "email.open", "wayne", "", 1, 0)
	add("wayne-o2", "email.open", "wayne", "", 2, 0)
	add("wayne-u", "email.unsubscribe", "wayne", "", 0, 0)
	return b.String()
}

const opsDistinctEvents = 17

// TestOpsPagesInChromium seeds a small long tail through the HTTP API
// (reps, partners, contacts, events posted twice, enrolments, an RFM
// run, a rep's claim and outcome) into a real service on a real Redis,
// signs in as an admin in headless Chromium and reads every /ui/ops page:
// each chart's marks must be the data's (and its table alternative the
// same figures), counted once. A PNG of each page goes to the test's
// artifact directory (go test -artifacts keeps them).
func TestOpsPagesInChromium(t *testing.T) {
	t.Parallel()
	// Bounded so a page that never loads fails the test instead of
	// hanging it.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	b := browsertest.Start(t, ctx)
	clock := testclock.New(time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)) // a Wednesday
	_, flows, tmpls := nurtureFiles(t, map[string]string{"welcome.yaml": opsFlow})
	cfgPath := filepath.Join(t.TempDir(), "longtail.yaml")
	if err := os.WriteFile(cfgPath, []byte("handoff:\n  routing: [owner]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	redisURL := redistest.URL(t)
	s := startOn(t, clock.Now, "all", "LONGTAIL_CONFIG="+cfgPath, "LONGTAIL_REDIS_URL="+redisURL,
		"LONGTAIL_TRACKING_SECRET=ops-test-secret-0123456789abcdef", "LONGTAIL_NURTURE_FLOWS_DIR="+flows,
		"LONGTAIL_NURTURE_TEMPLATES_DIR="+tmpls)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("serve's log:\n%s", s.Stderr)
		}
	})
	admin := testAPIKey
	put := func(path, body string) {
		t.Helper()
		if code := doAs(t, s, admin, "PUT", path, body, nil); code != 200 {
			t.Fatalf("PUT %s = %d", path, code)
		}
	}
	put("/v1/reps/rep-a", `{"name":"Anne Martin","email":"anne@vendor.example","daily_capacity":5,"active":true}`)
	put("/v1/reps/rep-b", `{"name":"Bruno Diaz","email":"bruno@vendor.example","daily_capacity":3,"active":true}`)
	for _, pid := range opsPartners {
		owner := ""
		if pid == "acme" {
			owner = "rep-a"
		}
		put("/v1/partners/"+pid, fmt.Sprintf(`{"name":"%s Ltd","type":"MSP","owner_rep_id":%q}`, strings.ToUpper(pid[:1])+pid[1:], owner))
		put("/v1/contacts/"+pid+"-c", fmt.Sprintf(`{"partner_id":%q,"email":"c@%s.example","first_name":"C","consent":"granted"}`, pid, pid))
	}
	events := opsEvents(clock.Now())
	for range 2 { // a redelivery: counted once
		if code := doAs(t, s, admin, "POST", "/v1/events", events, nil); code != 200 {
			t.Fatalf("POST /v1/events = %d", code)
		}
		s.settle(t, jobs.QueueIngest)
	}
	s.settle(t, jobs.QueueHandoff)
	for _, c := range []string{"initech-c", "umbrella-c"} {
		var out any
		if code := doAs(t, s, admin, "POST", "/v1/flows/welcome/enrollments", `{"contact_id":"`+c+`"}`, &out); code != 201 {
			t.Fatalf("enrol %s = %d %v", c, code, out)
		}
	}
	s.settle(t, jobs.QueueNurture)
	if code := doAs(t, s, admin, "POST", "/v1/scoring/rfm", "", nil); code/100 != 2 {
		t.Fatalf("POST /v1/scoring/rfm = %d", code)
	}
	s.settle(t, jobs.QueuePeriodic)
	var tok struct{ Token string }
	if code := doAs(t, s, admin, "POST", "/v1/reps/rep-a/tokens", "", &tok); code != 201 {
		t.Fatalf("issue a token = %d", code)
	}
	if code := doAs(t, s, tok.Token, "POST", "/v1/reps/rep-a/queue/acme/claim", "", nil); code != 200 {
		t.Fatalf("claim = %d", code)
	}
	if code := doAs(t, s, tok.Token, "POST", "/v1/reps/rep-a/queue/acme/outcome", `{"outcome":"not_now","note":"after the quarter"}`, nil); code != 200 {
		t.Fatalf("outcome = %d", code)
	}
	s.settle(t, jobs.QueueIngest)
	s.settle(t, jobs.QueueNurture)
	s.settle(t, jobs.QueueHandoff)
	// The minute the events were scored is over: the overview counts
	// whole minutes.
	clock.Advance(time.Minute)

	var lb struct {
		Items []struct {
			PartnerID string  `json:"partner_id"`
			Score     float64 `json:"score"`
		} `json:"items"`
	}
	if code := doAs(t, s, admin, "GET", "/v1/leaderboard?limit=100", "", &lb); code != 200 {
		t.Fatalf("GET /v1/leaderboard = %d", code)
	}
	mailed := outboxCount(t, redisURL)
	shots := t.ArtifactDir()
	nav := func(path string) {
		t.Helper()
		if err := chromedp.Do(b, chromedp.Navigate(s.URL+path), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
			t.Fatalf("navigate %s: %v", path, err)
		}
	}

	t.Run("sign-in", func(t *testing.T) {
		nav("/ui/ops")
		if p := jsEval[string](t, b, `location.pathname`); p != "/ui/login" {
			t.Fatalf("without a session /ui/ops shows %s, want the sign-in page", p)
		}
		signIn(t, b, tok.Token)
		nav("/ui/ops")
		if h := jsEval[string](t, b, `document.querySelector('h1').textContent`); h != "Admins only" {
			t.Errorf("a rep at /ui/ops sees %q, want the admins-only refusal", h)
		}
		if n := jsEval[int](t, b, `document.querySelectorAll('svg').length`); n != 0 {
			t.Errorf("a rep sees %d charts", n)
		}
		browsertest.Screenshot(t, b, shots, "ops-rep-refused.png")
		if err := chromedp.Do(b, chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("token"))); err != nil {
			t.Fatal(err)
		}
		signIn(t, b, admin)
	})

	t.Run("overview", func(t *testing.T) {
		nav("/ui/ops?lang=en")
		minutes := barChart(t, b, "chart-minutes")
		if len(minutes) != 60 || sum(minutes) != opsDistinctEvents {
			t.Errorf("events per minute: %d bars summing to %v, want 60 summing to %d (each event once)", len(minutes), sum(minutes), opsDistinctEvents)
		}
		days := barChart(t, b, "chart-handoffs")
		if len(days) != 14 || days[13] != 2 || sum(days) != 2 {
			t.Errorf("hand-offs per day %v, want 2 today and none before", days)
		}
		// 2 hand-offs against (5 + 3) a day × 5 working days.
		if got := jsEval[string](t, b, `document.querySelector('#fig-handoffs .figure-n').textContent`); got != "2 / 40" {
			t.Errorf("hand-offs this week %q, want 2 / 40", got)
		}
		sent := barChart(t, b, "chart-emails")
		if sent[13] != float64(mailed) || mailed < 2 {
			t.Errorf("emails sent today %v, the outbox has %d (2 nurture emails and the rep's)", sent[13], mailed)
		}
		want := fmt.Sprintf("%.1f%%", 100/float64(mailed))
		if got := jsEval[string](t, b, `document.querySelector('#fig-suppression .figure-n').textContent`); got != want {
			t.Errorf("suppression rate %q, want %s (one unsubscribe per %d emails)", got, want, mailed)
		}
		browsertest.Screenshot(t, b, shots, "ops-overview.png")
	})

	t.Run("funnels", func(t *testing.T) {
		nav("/ui/ops/funnels")
		entered := barChart(t, b, "chart-funnel-welcome")
		if !slices.Equal(entered, []float64{2, 2}) {
			t.Errorf("funnel of welcome %v, want both contacts through both steps", entered)
		}
		if got := jsEval[string](t, b, `document.querySelector('#funnel-welcome tbody tr td:nth-child(5)').textContent`); got != "2" {
			t.Errorf("sent at hello %q, want 2", got)
		}
		browsertest.Screenshot(t, b, shots, "ops-funnels.png")
	})

	t.Run("scores", func(t *testing.T) {
		nav("/ui/ops/scores")
		score := map[string]float64{}
		for _, e := range lb.Items {
			score[e.PartnerID] = e.Score
		}
		all := make([]float64, len(opsPartners))
		for i, pid := range opsPartners {
			all[i] = score[pid]
		}
		var want []float64
		for _, bin := range opsview.Histogram(all, 20) {
			want = append(want, float64(bin.Count))
		}
		if got := barChart(t, b, "chart-histogram"); !slices.Equal(got, want) || sum(got) != float64(len(opsPartners)) {
			t.Errorf("histogram %v, want %v (every partner once)", got, want)
		}
		browsertest.Screenshot(t, b, shots, "ops-scores.png")
	})

	t.Run("rfm", func(t *testing.T) {
		nav("/ui/ops/rfm")
		marks := jsEval[[]int](t, b, `Array.from(document.querySelectorAll('#chart-rfm rect.rfm-mark')).map(r => +r.dataset.partners)`)
		rows := jsEval[[]int](t, b, `Array.from(document.querySelectorAll('#chart-rfm-table tbody tr td:nth-child(3)')).map(td => +td.textContent)`)
		if total := sumInts(marks); total != len(opsPartners) || !slices.Equal(marks, rows) {
			t.Errorf("RFM marks %v (table %v), want %d partners in all, the table the same", marks, rows, len(opsPartners))
		}
		// Sizes follow counts: the fullest cell has the biggest mark.
		sizes := jsEval[[]int](t, b, `Array.from(document.querySelectorAll('#chart-rfm rect.rfm-mark')).map(r => +r.getAttribute('width'))`)
		if i, j := slices.Index(marks, slices.Max(marks)), slices.Index(sizes, slices.Max(sizes)); marks[j] != marks[i] {
			t.Errorf("mark sizes %v do not follow counts %v", sizes, marks)
		}
		browsertest.Screenshot(t, b, shots, "ops-rfm.png")
	})

	t.Run("topics", func(t *testing.T) {
		nav("/ui/ops/topics")
		topics := jsEval[[]string](t, b, `Array.from(document.querySelectorAll('#chart-topics polyline')).map(p => p.dataset.topic)`)
		slices.Sort(topics)
		if !slices.Equal(topics, []string{"cloud", "security", "storage"}) {
			t.Errorf("topic lines %v, want cloud, security, storage", topics)
		}
		points := jsEval[int](t, b, `document.querySelector('#chart-topics polyline').getAttribute('points').split(' ').length`)
		rows := jsEval[int](t, b, `document.querySelectorAll('#chart-topics-table tbody tr').length`)
		if points != 28 || rows != 3 {
			t.Errorf("a topic line has %d points (want 28 days), the table %d rows (want 3)", points, rows)
		}
		browsertest.Screenshot(t, b, shots, "ops-topics.png")
	})

	t.Run("leaderboard", func(t *testing.T) {
		nav("/ui/ops/leaderboard")
		bars := barChart(t, b, "chart-leaderboard")
		if len(bars) != len(lb.Items) || !slices.IsSortedFunc(bars, func(a, b float64) int { return int(math.Round(10 * (b - a))) }) {
			t.Errorf("leaderboard bars %v, want the %d scored partners, highest first", bars, len(lb.Items))
		}
		first := jsEval[string](t, b, `document.querySelector('#leaderboard tbody tr a').getAttribute('href')`)
		if first != "/ui/ops/partners/"+lb.Items[0].PartnerID {
			t.Errorf("first row links to %s, want %s", first, lb.Items[0].PartnerID)
		}
		browsertest.Screenshot(t, b, shots, "ops-leaderboard.png")
	})

	t.Run("partner", func(t *testing.T) {
		nav("/ui/ops/partners/acme")
		types := jsEval[[]string](t, b, `Array.from(document.querySelectorAll('#chart-explain-table tbody th')).map(th => th.textContent)`)
		pts := barChart(t, b, "chart-explain")
		if !slices.Equal(types, []string{"webinar.attended", "email.click"}) || pts[0] <= pts[1] {
			t.Errorf("explanation bars %v %v, want webinars above the click", types, pts)
		}
		text := jsEval[string](t, b, `document.body.innerText`)
		for _, want := range []string{"Acme Ltd", "queued", "claimed", "outcome", "not_now", "after the quarter", "acme-c"} {
			if !strings.Contains(text, want) {
				t.Errorf("the partner page does not show %q", want)
			}
		}
		if n := jsEval[int](t, b, `document.querySelectorAll('#timeline tbody tr').length`); n != 4 {
			t.Errorf("timeline of %d events, want acme's 4", n)
		}
		browsertest.Screenshot(t, b, shots, "ops-partner.png")
		nav("/ui/ops/partners/initech")
		if got := jsEval[[]string](t, b, `Array.from(document.querySelectorAll('#enrollments tbody th')).map(th => th.textContent)`); !slices.Equal(got, []string{"welcome"}) {
			t.Errorf("initech's enrollments %v, want its contact's in welcome", got)
		}
	})

	t.Run("unrouted", func(t *testing.T) {
		nav("/ui/ops/unrouted")
		if got := barChart(t, b, "chart-unrouted"); got[13] != 1 || sum(got) != 1 {
			t.Errorf("unrouted per day %v, want one today", got)
		}
		if ids := jsEval[[]string](t, b, `Array.from(document.querySelectorAll('#unrouted tbody a')).map(a => a.getAttribute('href'))`); !slices.Equal(ids, []string{"/ui/ops/partners/globex"}) {
			t.Errorf("unrouted list %v, want globex", ids)
		}
		browsertest.Screenshot(t, b, shots, "ops-unrouted.png")
	})

	t.Run("program", func(t *testing.T) {
		nav("/ui/ops/program")
		if n := jsEval[int](t, b, `document.querySelectorAll('#cohort-chart').length`); n != 1 {
			t.Error("the program page has no cohort chart")
		}
		if href := jsEval[string](t, b, `document.getElementById('tiers-csv').getAttribute('href')`); href != "/ui/ops/program/tiers.csv" {
			t.Errorf("tiers CSV at %s", href)
		}
		// The export is the admin's too, and the same as the CLI's.
		csv := jsEval[string](t, b, `(() => { const x = new XMLHttpRequest(); x.open('GET', '/ui/ops/program/tiers.csv', false); x.send();
			return x.status + ' ' + x.getResponseHeader('Content-Type') + '\n' + x.responseText })()`)
		if want := "200 text/csv; charset=utf-8\n" + s.cli(t, "program", "tiers", "--csv"); csv != want {
			t.Errorf("/ui/ops/program/tiers.csv:\n%s\nwant\n%s", csv, want)
		}
		browsertest.Screenshot(t, b, shots, "ops-program.png")
	})

	t.Run("french", func(t *testing.T) {
		nav("/ui/ops/scores?lang=fr")
		nav("/ui/ops") // the choice sticks
		if l := jsEval[string](t, b, `document.documentElement.lang`); l != "fr" {
			t.Errorf("lang %q after choosing French", l)
		}
		if h := jsEval[string](t, b, `document.querySelector('h1').textContent`); h != "Vue d’ensemble" {
			t.Errorf("French overview heading %q", h)
		}
		if sw := jsEval[string](t, b, `document.getElementById('lang-switch').textContent`); sw != "English" {
			t.Errorf("language switch %q", sw)
		}
		// The top bar is French too.
		for id, want := range map[string]string{"nav-ops": "Pilotage", "nav-outbox": "Boîte d’envoi", "logout": "Se déconnecter"} {
			if got := jsEval[string](t, b, `document.getElementById('`+id+`').textContent`); got != want {
				t.Errorf("French top bar #%s %q, want %q", id, got, want)
			}
		}
		// Figures the French way: 5,0 % with a narrow no-break space.
		want := strings.Replace(fmt.Sprintf("%.1f", 100/float64(mailed)), ".", ",", 1) + "\u202f%"
		if got := jsEval[string](t, b, `document.querySelector('#fig-suppression .figure-n').textContent`); got != want {
			t.Errorf("French suppression rate %q, want %q", got, want)
		}
		noEnglish(t, b, "/ui/ops")
		browsertest.Screenshot(t, b, shots, "ops-overview-fr.png")
		nav("/ui/ops/leaderboard")
		if got, want := jsEval[string](t, b, `document.querySelector('#leaderboard tbody td:nth-child(3)').textContent`), opsview.French.Fixed(lb.Items[0].Score, 1); got != want || !strings.Contains(got, ",") {
			t.Errorf("French top score %q, want %q", got, want)
		}
		noEnglish(t, b, "/ui/ops/leaderboard")
		nav("/ui/ops/partners/acme")
		text := jsEval[string](t, b, `document.body.innerText`)
		for _, want := range []string{"pas maintenant", "en file", "prise", "after the quarter", "18/11/2026"} {
			if !strings.Contains(text, want) {
				t.Errorf("the French partner page does not show %q", want)
			}
		}
		noEnglish(t, b, "/ui/ops/partners/acme")
		nav("/ui/ops/program")
		if h := jsEval[string](t, b, `document.querySelector('h1').textContent`); h != "Programme partenaires" {
			t.Errorf("French program heading %q", h)
		}
		noEnglish(t, b, "/ui/ops/program")
		browsertest.Screenshot(t, b, shots, "ops-program-fr.png")
	})
}

// opsEnglish are English labels of the ops pages and their top bar that
// a French page must not show (ui's TestOpsPagesInFrench checks every
// label; this is what a reader sees in a real browser).
var opsEnglish = []string{"Sign out", "Outbox", "Ops", "Overview", "Flow funnels", "Score distribution", "RFM map",
	"Topic interests", "Leaderboard", "Unrouted hand-offs", "Partner program", "Show the figures as a table",
	"Events per minute", "Hand-offs this week", "of capacity", "Emails, last 14 days", "Suppression rate", "Day", "Sent",
	"Rank", "Partner", "Open a partner by id", "Profile", "Tier", "Owner rep", "Joined", "Timeline", "When (UTC)",
	"Hand-off history", "State", "Outcome", "None.", "not_now", "queued", "claimed", "Tier suggestions", "Stage", "Move",
	"Cohorts", "Churned", "days", "recruited", "onboarding", "growing", "declining", "stay", "set", "Signed in as"}

// noEnglish fails the test if the page (its text and its elements'
// titles and labels) shows one of opsEnglish as a word.
func noEnglish(t *testing.T, b context.Context, page string) {
	t.Helper()
	text := jsEval[string](t, b, `document.body.innerText + '\n' + document.title + '\n' +
		Array.from(document.querySelectorAll('[title],[aria-label],title')).map(e => (e.getAttribute('title') || e.getAttribute('aria-label') || e.textContent)).join('\n')`)
	for _, en := range opsEnglish {
		if regexp.MustCompile(`(^|[^\pL_])` + regexp.QuoteMeta(en) + `($|[^\pL_])`).MatchString(text) {
			t.Errorf("French %s shows the English %q", page, en)
		}
	}
}

// signIn signs in on /ui/login with token.
func signIn(t *testing.T, b context.Context, token string) {
	t.Helper()
	if err := chromedp.Do(b,
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.ID("sign-in")),
		// Signed in: the browser has left the sign-in form.
		chromedp.WaitNotPresent(chromedp.ID("token")),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
}

func jsEval[T any](t *testing.T, b context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(b, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// barChart reads a bar chart's values and checks it is drawn from them:
// an SVG labelled by its title, each bar's height proportional to its
// value on the chart's axis, and the table alternative listing the same
// values in the same order.
func barChart(t *testing.T, b context.Context, id string) []float64 {
	t.Helper()
	sel := "#" + id
	label := jsEval[string](t, b, fmt.Sprintf(`(s => s ? s.getAttribute('role') + ' ' + document.getElementById(s.getAttribute('aria-labelledby')).textContent : '')(document.querySelector(%q))`, sel))
	if !strings.HasPrefix(label, "img ") || len(label) < 8 {
		t.Fatalf("chart %s: not an svg role=img labelled by its title (%q)", id, label)
	}
	values := jsEval[[]float64](t, b, fmt.Sprintf(`Array.from(document.querySelectorAll('%s rect.bar')).map(r => +r.dataset.value)`, sel))
	heights := jsEval[[]float64](t, b, fmt.Sprintf(`Array.from(document.querySelectorAll('%s rect.bar')).map(r => +r.getAttribute('height'))`, sel))
	cells := jsEval[[]string](t, b, fmt.Sprintf(`Array.from(document.querySelectorAll('%s-table tbody td')).map(td => td.textContent)`, sel))
	axis := opsview.NiceCeil(slices.Max(append([]float64{0}, values...)))
	for i, v := range values {
		want := math.Round(v / axis * float64(opsview.DefaultFrame.PlotH))
		if v > 0 && want < 1 {
			want = 1
		}
		if heights[i] != want {
			t.Errorf("chart %s bar %d: height %v for value %v, want %v", id, i, heights[i], v, want)
		}
		if i >= len(cells) || cells[i] != opsview.Count(v) {
			t.Errorf("chart %s: the table does not list bar %d's value %v (cells %v)", id, i, v, cells)
		}
	}
	if len(cells) != len(values) {
		t.Errorf("chart %s: %d bars, %d table rows", id, len(values), len(cells))
	}
	return values
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

func sumInts(v []int) int {
	s := 0
	for _, x := range v {
		s += x
	}
	return s
}

// outboxCount is how many emails the embedded SMTP server captured.
func outboxCount(t *testing.T, redisURL string) int {
	t.Helper()
	rdb, _, err := redisconn.Open(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	box, err := outbox.NewStore(rdb, outbox.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := box.List(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}
