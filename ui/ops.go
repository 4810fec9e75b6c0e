package ui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"iter"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/longtailhq/longtail/activity"
	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/opsview"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
)

// OpsScores is what the ops pages read of the scoring engine
// (*scoring.Engine implements it).
type OpsScores interface {
	Leaderboard(ctx context.Context, limit int) ([]scoring.Entry, error)
	Partner(ctx context.Context, partnerID string) (*scoring.PartnerScore, error)
	Contact(ctx context.Context, partnerID, contactID string) (*scoring.ContactScore, error)
	Explain(ctx context.Context, partnerID string, contactIDs []string) (*scoring.Explanation, error)
	RFMs(ctx context.Context, partnerIDs []string) ([]*scoring.RFM, error)
}

// OpsQueue is what the ops pages read of the rep queue (*repqueue.Queue
// implements it).
type OpsQueue interface {
	HandoffsByDay(ctx context.Context, from, to time.Time) ([]repqueue.DayHandoffs, error)
	ListUnrouted(ctx context.Context) ([]repqueue.Entry, error)
	Timeline(ctx context.Context, partnerID string) ([]repqueue.Transition, error)
}

// OpsDirectory is what the ops pages read of the directory
// (*directory.Store implements it).
type OpsDirectory interface {
	GetPartner(ctx context.Context, id string) (directory.Partner, error)
	ContactsOfPartner(ctx context.Context, partnerID string) ([]directory.Contact, error)
	ListReps(ctx context.Context) ([]directory.Rep, error)
	PartnerIDs(ctx context.Context) iter.Seq2[string, error]
	UnassignedPartnerID() string
}

// OpsActivity is the activity series (*activity.Store implements it).
type OpsActivity interface {
	PerMinute(ctx context.Context, n int) ([]int64, error)
	Days(ctx context.Context, n int) ([]activity.Day, error)
}

// OpsFlows is what the ops pages read of nurture (*nurture.Engine
// implements it).
type OpsFlows interface {
	Library() *nurture.Library
	Funnel(ctx context.Context, flowID string) ([]nurture.FunnelStep, error)
	Enrollments(ctx context.Context, c directory.Contact) ([]*nurture.Enrollment, error)
}

// OpsDeps are the stores the ops pages read. Flows may be nil (nurture
// sending is off: the funnels page says so); Program may be nil (no
// /ui/ops/program).
type OpsDeps struct {
	Scores    OpsScores
	Queue     OpsQueue
	Directory OpsDirectory
	Activity  OpsActivity
	Flows     OpsFlows
	Program   *ProgramPages
}

// OpsConfig configures the ops pages.
type OpsConfig struct {
	// Workdays is how many days a week reps take hand-offs: weekly
	// capacity is the active reps' daily capacity times it. If zero, 5
	// (handoff.business_hours.days' default). It must be 1..7.
	Workdays int
	// Currency of the monetary figures (program.currency). If empty, EUR.
	Currency string
}

// OpsPages serves the marketing-ops pages under /ui/ops to an admin
// (signed in with an API key): the overview, flow funnels, the score
// distribution, the RFM map, topic interests over time, the leaderboard,
// a partner's page, the unrouted hand-offs and the partner program. Each
// chart is inline SVG drawn from opsview's geometry with a table
// alternative; labels are in English or French.
type OpsPages struct {
	h     *Handler
	d     OpsDeps
	cfg   OpsConfig
	pages map[string]*template.Template
}

// Ops page templates, each rendered inside layout.html with
// ops_parts.html's navigation and charts.
const (
	pageOpsOverview    = "ops_overview.html"
	pageOpsFunnels     = "ops_funnels.html"
	pageOpsScores      = "ops_scores.html"
	pageOpsRFM         = "ops_rfm.html"
	pageOpsTopics      = "ops_topics.html"
	pageOpsLeaderboard = "ops_leaderboard.html"
	pageOpsPartner     = "ops_partner.html"
	pageOpsUnrouted    = "ops_unrouted.html"
)

// Windows of the figures.
const (
	opsMinutes      = 60  // events per minute: the last hour
	opsDays         = 14  // daily bars: two weeks
	opsTopicDays    = 28  // topic series: four weeks
	opsTopics       = 6   // topics drawn
	opsLeaders      = 100 // leaderboard rows
	opsLeaderBars   = 20  // leaderboard bars
	opsHistBins     = 20  // histogram bins (about)
	opsTimelineRows = 100 // partner timeline rows
	opsContacts     = 50  // partner contacts whose timelines are read
)

// NewOpsPages builds the ops pages on the rep pages' sessions and layout.
func NewOpsPages(h *Handler, d OpsDeps, cfg OpsConfig) (*OpsPages, error) {
	if h == nil || d.Scores == nil || d.Queue == nil || d.Directory == nil || d.Activity == nil {
		return nil, errors.New("ui: the ops pages need the rep pages, scores, queue, directory and activity")
	}
	if cfg.Workdays < 0 || cfg.Workdays > 7 {
		return nil, fmt.Errorf("ui: ops Workdays %d is outside 1..7", cfg.Workdays)
	}
	if cfg.Workdays == 0 {
		cfg.Workdays = 5
	}
	if cfg.Currency == "" {
		cfg.Currency = "EUR"
	}
	o := &OpsPages{h: h, d: d, cfg: cfg, pages: map[string]*template.Template{}}
	for _, name := range []string{pageOpsOverview, pageOpsFunnels, pageOpsScores, pageOpsRFM, pageOpsTopics,
		pageOpsLeaderboard, pageOpsPartner, pageOpsUnrouted} {
		t, err := template.New(name).Funcs(funcs).Funcs(programFuncs).Funcs(opsFuncs).
			ParseFS(assets, "templates/layout.html", "templates/ops_parts.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("ui: template %s: %w", name, err)
		}
		o.pages[name] = t
	}
	return o, nil
}

// Register mounts the pages on mux; every one is for admins only.
func (o *OpsPages) Register(mux *http.ServeMux) {
	routes := map[string]func(http.ResponseWriter, *http.Request, *session){
		"GET /ui/ops":               o.overview,
		"GET /ui/ops/{$}":           o.overview,
		"GET /ui/ops/funnels":       o.funnels,
		"GET /ui/ops/scores":        o.scores,
		"GET /ui/ops/rfm":           o.rfm,
		"GET /ui/ops/topics":        o.topics,
		"GET /ui/ops/leaderboard":   o.leaderboard,
		"GET /ui/ops/partner":       o.findPartner,
		"GET /ui/ops/partners/{id}": o.partner,
		"GET /ui/ops/unrouted":      o.unrouted,
	}
	if p := o.d.Program; p != nil {
		routes["GET /ui/ops/program"] = func(w http.ResponseWriter, r *http.Request, s *session) {
			nav := o.opsBase(w, r, s, "program", "program")
			p.showProgramAt(w, r, s, "/ui/ops/program", &nav)
		}
		routes["GET /ui/ops/program/{file}"] = func(w http.ResponseWriter, r *http.Request, s *session) {
			which, ok := map[string]string{"tiers.csv": "tiers", "at-risk.csv": "at-risk", "cohorts.csv": "cohorts"}[r.PathValue("file")]
			if !ok {
				lang := o.lang(w, r)
				o.errorPage(w, s, lang, http.StatusNotFound, opsLabels[lang]["not_found"], layoutLabels[lang]["no_export"])
				return
			}
			p.csv(which)(w, r, s)
		}
	}
	for pattern, fn := range routes {
		mux.Handle(pattern, o.h.secured(o.h.require(roleAdmin, fn)))
	}
}

// opsBase is what every ops page shows besides its own figures.
type opsBase struct {
	base
	L       map[string]string
	Lang    string
	Section string
	// Switch is this page in the other language.
	Switch     string
	SwitchName string
	Program    bool
	// F writes the page's figures and dates in its language.
	F figures
}

// Term writes a store's value (a stage, a hand-off's state…) of group
// in the page's language: see opsTerms.
func (b opsBase) Term(group string, v any) string { return term(b.Lang, group, v) }

func (o *OpsPages) opsBase(w http.ResponseWriter, r *http.Request, s *session, section, titleKey string) opsBase {
	lang := o.lang(w, r)
	L := opsLabels[lang]
	b := opsBase{base: o.h.base(s, L[titleKey]), L: L, Lang: lang, Section: section, Program: o.d.Program != nil,
		F: figures{opsview.LocaleOf(lang)}}
	b.base.Lang = lang
	other := "fr"
	if lang == "fr" {
		other = "en"
	}
	q := r.URL.Query()
	q.Set("lang", other)
	b.Switch = r.URL.Path + "?" + q.Encode()
	b.SwitchName = opsLabels[other]["language_name"]
	return b
}

// langCookie remembers a language chosen with ?lang= for the next pages.
const langCookie = "lt_lang"

// lang picks the page's language: ?lang= (remembered in a cookie), else
// the cookie, else the browser's Accept-Language, else English.
func (o *OpsPages) lang(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); opsLabels[l] != nil {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/ui/", HttpOnly: true,
			Secure: o.h.cfg.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && opsLabels[c.Value] != nil {
		return c.Value
	}
	return acceptLanguage(r.Header.Get("Accept-Language"), func(l string) bool { return opsLabels[l] != nil })
}

func (o *OpsPages) render(w http.ResponseWriter, page string, d any) {
	o.h.renderWith(w, http.StatusOK, o.pages[page], page, d)
}

// errorPage is the rep pages' error page with its top bar in lang.
func (o *OpsPages) errorPage(w http.ResponseWriter, s *session, lang string, status int, heading, msg string) {
	d := errorData{base: o.h.base(s, heading), Status: status, Heading: heading, Message: msg}
	d.Lang = lang
	o.h.render(w, status, pageError, d)
}

// chartData is one chart as ops_parts.html draws it: the SVG and its
// table alternative.
type chartData struct {
	ID, Title string
	// Head names the table's columns: label, value; Summary opens the
	// table.
	Head    [2]string
	Summary string
	Bars    opsview.BarChart
}

// bars draws a bar chart with its values and ticks in the page's
// language.
func (b opsBase) bars(id, title string, head [2]string, labels []string, values []float64) chartData {
	return chartData{ID: id, Title: title, Head: head, Summary: b.L["show_table"], Bars: opsview.Bars(opsview.DefaultFrame, labels, values, b.F.Count)}
}

// --- overview ---

type overviewData struct {
	opsBase
	O        opsview.Overview
	Minutes  chartData
	Days     chartData
	Emails   chartData
	Reps     int
	Workdays int
}

func (o *OpsPages) overview(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	now := o.h.now().UTC()
	per, err := o.d.Activity.PerMinute(ctx, opsMinutes)
	if err != nil {
		o.h.unavailable(w, r, err)
		return
	}
	days, err := o.d.Activity.Days(ctx, opsDays)
	if err != nil {
		o.h.unavailable(w, r, err)
		return
	}
	hand, err := o.d.Queue.HandoffsByDay(ctx, now.AddDate(0, 0, 1-opsDays), now)
	if err != nil {
		o.h.unavailable(w, r, err)
		return
	}
	reps, err := o.d.Directory.ListReps(ctx)
	if err != nil {
		o.h.unavailable(w, r, err)
		return
	}
	figs := make([]opsview.DayFigures, len(days))
	for i, d := range days {
		figs[i] = opsview.DayFigures{Day: d.Date, Types: d.Types, Emails: d.Emails}
		if i < len(hand) && hand[i].Day == d.Date {
			figs[i].Handoffs, figs[i].Unrouted = hand[i].Handoffs, hand[i].Unrouted
		}
	}
	caps := make([]opsview.RepCapacity, len(reps))
	for i, rp := range reps {
		away := rp.OutOfOfficeUntil != nil && rp.OutOfOfficeUntil.After(now)
		caps[i] = opsview.RepCapacity{Daily: rp.DailyCapacity, Active: rp.Active && !away}
	}
	active := 0
	for _, c := range caps {
		if c.Active {
			active++
		}
	}
	d := overviewData{opsBase: o.opsBase(w, r, s, "overview", "overview"), Reps: active, Workdays: o.cfg.Workdays}
	d.O = opsview.BuildOverview(now, per, figs, caps, o.cfg.Workdays)
	L := d.L
	mins := make([]string, len(per))
	vals := make([]float64, len(per))
	for i, n := range per {
		mins[i] = d.F.Clock(now.Truncate(time.Minute).Add(time.Duration(i-len(per)) * time.Minute))
		vals[i] = float64(n)
	}
	d.Minutes = d.bars("chart-minutes", L["events_per_minute_chart"], [2]string{L["minute_utc"], L["events"]}, mins, vals)
	labels := make([]string, len(figs))
	hv := make([]float64, len(figs))
	ev := make([]float64, len(figs))
	for i, f := range figs {
		labels[i] = d.F.Day(f.Day)
		hv[i] = float64(f.Handoffs)
		ev[i] = float64(f.Emails["sent"])
	}
	d.Days = d.bars("chart-handoffs", L["handoffs_per_day"], [2]string{L["day"], L["handoffs"]}, labels, hv)
	d.Emails = d.bars("chart-emails", L["emails_sent_per_day"], [2]string{L["day"], L["sent"]}, labels, ev)
	o.render(w, pageOpsOverview, d)
}

// --- funnels ---

type funnelView struct {
	ID, Name string
	Rows     []opsview.FunnelRow
	Chart    chartData
}

type funnelsData struct {
	opsBase
	Off   bool
	Flows []funnelView
}

func (o *OpsPages) funnels(w http.ResponseWriter, r *http.Request, s *session) {
	d := funnelsData{opsBase: o.opsBase(w, r, s, "funnels", "funnels")}
	if o.d.Flows == nil {
		d.Off = true
		o.render(w, pageOpsFunnels, d)
		return
	}
	for _, f := range o.d.Flows.Library().Flows.Flows() {
		steps, err := o.d.Flows.Funnel(r.Context(), f.ID)
		if err != nil {
			o.h.unavailable(w, r, err)
			return
		}
		in := make([]opsview.FunnelStep, len(steps))
		labels := make([]string, len(steps))
		vals := make([]float64, len(steps))
		for i, st := range steps {
			in[i] = opsview.FunnelStep{Step: st.Step, Kind: st.Kind, Counts: st.Counts}
			labels[i] = st.Step
			vals[i] = float64(st.Counts[nurture.CountEntered])
		}
		fv := funnelView{ID: f.ID, Name: cmp.Or(f.Name, f.ID), Rows: opsview.Funnel(in)}
		fv.Chart = d.bars("chart-funnel-"+f.ID, fmt.Sprintf(d.L["funnel_of"], fv.Name), [2]string{d.L["step"], d.L["entered"]}, labels, vals)
		d.Flows = append(d.Flows, fv)
	}
	o.render(w, pageOpsFunnels, d)
}

// --- score distribution ---

type scoresData struct {
	opsBase
	Partners int
	Zero     int
	Bins     []opsview.Bin
	Chart    chartData
}

// partnerIDs lists the directory's partners but the unassigned one.
func (o *OpsPages) partnerIDs(ctx context.Context) ([]string, error) {
	var ids []string
	for id, err := range o.d.Directory.PartnerIDs(ctx) {
		if err != nil {
			return nil, err
		}
		if id != o.d.Directory.UnassignedPartnerID() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

func (o *OpsPages) scores(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	ids, err := o.partnerIDs(ctx)
	if err != nil {
		o.h.unavailable(w, r, err)
		return
	}
	// Every partner of the directory, a partner never scored at 0: the
	// long tail is most of the picture.
	lb, err := o.d.Scores.Leaderboard(ctx, len(ids)+1)
	if err != nil {
		o.h.unavailable(w, r, err)
		return
	}
	score := make(map[string]float64, len(lb))
	for _, e := range lb {
		score[e.PartnerID] = e.Score
	}
	vals := make([]float64, len(ids))
	d := scoresData{opsBase: o.opsBase(w, r, s, "scores", "scores"), Partners: len(ids)}
	for i, id := range ids {
		vals[i] = score[id]
		if vals[i] < 0.05 {
			d.Zero++
		}
	}
	d.Bins = opsview.Histogram(vals, opsHistBins)
	labels := make([]string, len(d.Bins))
	counts := make([]float64, len(d.Bins))
	for i, b := range d.Bins {
		labels[i] = d.F.Count(b.Lo) + "–" + d.F.Count(b.Hi)
		counts[i] = float64(b.Count)
	}
	d.Chart = d.bars("chart-histogram", d.L["score_histogram"], [2]string{d.L["score"], d.L["partners"]}, labels, counts)
	o.render(w, pageOpsScores, d)
}

// --- RFM map ---

type rfmData struct {
	opsBase
	Map      opsview.RFMMap
	Currency string
	Fills    []string
}

func (o *OpsPages) rfm(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	ids, err := o.partnerIDs(ctx)
	if err != nil {
		o.h.unavailable(w, r, err)
		return
	}
	rfms, err := o.d.Scores.RFMs(ctx, ids)
	if err != nil {
		o.h.unavailable(w, r, err)
		return
	}
	pts := make([]opsview.RFMPoint, 0, len(rfms))
	unranked := 0
	for _, x := range rfms {
		if x == nil {
			unranked++
			continue
		}
		pts = append(pts, opsview.RFMPoint{R: x.R, F: x.F, M: x.M, Monetary: x.Monetary})
	}
	d := rfmData{opsBase: o.opsBase(w, r, s, "rfm", "rfm"), Map: opsview.BuildRFMMap(pts, unranked), Currency: o.cfg.Currency}
	for m := 1; m <= 5; m++ {
		d.Fills = append(d.Fills, opsview.MonetaryFill(float64(m)))
	}
	o.render(w, pageOpsRFM, d)
}

// --- topics over time ---

type topicsData struct {
	opsBase
	Series opsview.TopicSeries
	Chart  opsview.LineChart
	Title  string
}

func (o *OpsPages) topics(w http.ResponseWriter, r *http.Request, s *session) {
	days, err := o.d.Activity.Days(r.Context(), opsTopicDays)
	if err != nil {
		o.h.unavailable(w, r, err)
		return
	}
	d := topicsData{opsBase: o.opsBase(w, r, s, "topics", "topics")}
	labels := make([]string, len(days))
	per := make([]map[string]float64, len(days))
	for i, day := range days {
		labels[i], per[i] = d.F.Day(day.Date), day.Topics
	}
	d.Series = opsview.TopTopics(labels, per, opsTopics)
	d.Chart = opsview.Lines(opsview.DefaultFrame, labels, d.Series.Topics, d.Series.Points, d.F.Count)
	d.Title = d.L["topics_chart"]
	o.render(w, pageOpsTopics, d)
}

// --- leaderboard ---

type leaderRow struct {
	Rank      int
	PartnerID string
	Name      string
	Score     float64
}

type leaderboardData struct {
	opsBase
	Rows  []leaderRow
	Chart chartData
}

func (o *OpsPages) leaderboard(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	lb, err := o.d.Scores.Leaderboard(ctx, opsLeaders)
	if err != nil {
		o.h.unavailable(w, r, err)
		return
	}
	d := leaderboardData{opsBase: o.opsBase(w, r, s, "leaderboard", "leaderboard")}
	var labels []string
	var vals []float64
	for i, e := range lb {
		row := leaderRow{Rank: i + 1, PartnerID: e.PartnerID, Name: e.PartnerID, Score: e.Score}
		if p, err := o.d.Directory.GetPartner(ctx, e.PartnerID); err == nil && p.Name != "" {
			row.Name = p.Name
		} else if err != nil && !errors.Is(err, directory.ErrNotFound) {
			o.h.unavailable(w, r, err)
			return
		}
		d.Rows = append(d.Rows, row)
		if i < opsLeaderBars {
			labels = append(labels, row.Name)
			vals = append(vals, round1(e.Score))
		}
	}
	d.Chart = d.bars("chart-leaderboard", d.L["leaderboard_chart"], [2]string{d.L["partner"], d.L["score"]}, labels, vals)
	o.render(w, pageOpsLeaderboard, d)
}

// round1 rounds to one decimal, half away from zero on both sides:
// points by type can be negative (an unsubscribe).
func round1(v float64) float64 { return math.Round(v*10) / 10 }

// findPartner sends the partner search form to the partner's page.
func (o *OpsPages) findPartner(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.URL.Query().Get("id")
	if id == "" {
		http.Redirect(w, r, "/ui/ops/leaderboard", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/ui/ops/partners/"+url.PathEscape(id), http.StatusSeeOther)
}

// --- partner ---

type timelineRow struct {
	At        time.Time
	ContactID string
	scoring.TimelineItem
}

type partnerData struct {
	opsBase
	P           directory.Partner
	Score       *scoring.PartnerScore
	Explain     *scoring.Explanation
	Interests   []topicPoints
	Chart       chartData
	Timeline    []timelineRow
	Enrollments []*nurture.Enrollment
	FlowsOff    bool
	Handoffs    []repqueue.Transition
	// MoreContacts were left out of the timeline and enrollments.
	MoreContacts int
}

type topicPoints struct {
	Topic  string
	Points float64
}

func (o *OpsPages) partner(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	id := r.PathValue("id")
	p, err := o.d.Directory.GetPartner(ctx, id)
	if errors.Is(err, directory.ErrNotFound) || errors.Is(err, directory.ErrInvalid) {
		lang := o.lang(w, r)
		L := opsLabels[lang]
		o.errorPage(w, s, lang, http.StatusNotFound, L["not_found"], fmt.Sprintf(L["no_partner"], id))
		return
	}
	if err != nil {
		o.h.unavailable(w, r, err)
		return
	}
	d := partnerData{opsBase: o.opsBase(w, r, s, "partner", "partner"), P: p}
	d.Title = cmp.Or(p.Name, p.ID)
	if d.Score, err = o.d.Scores.Partner(ctx, id); err != nil {
		o.h.unavailable(w, r, err)
		return
	}
	for t, v := range d.Score.Interests {
		d.Interests = append(d.Interests, topicPoints{t, v})
	}
	sort.Slice(d.Interests, func(i, j int) bool {
		return d.Interests[i].Points > d.Interests[j].Points || d.Interests[i].Points == d.Interests[j].Points && d.Interests[i].Topic < d.Interests[j].Topic
	})
	if d.Explain, err = o.d.Scores.Explain(ctx, id, nil); err != nil {
		o.h.unavailable(w, r, err)
		return
	}
	// The chart: decayed points by event type, over the contacts.
	byType := map[string]float64{}
	for _, c := range d.Explain.Contacts {
		for _, it := range c.Items {
			byType[string(it.Type)] += it.Decayed
		}
	}
	types := make([]string, 0, len(byType))
	for t := range byType {
		types = append(types, t)
	}
	sort.Slice(types, func(i, j int) bool {
		return byType[types[i]] > byType[types[j]] || byType[types[i]] == byType[types[j]] && types[i] < types[j]
	})
	vals := make([]float64, len(types))
	for i, t := range types {
		vals[i] = round1(byType[t])
	}
	d.Chart = d.bars("chart-explain", d.L["points_by_type"], [2]string{d.L["event_type"], d.L["points_now"]}, types, vals)
	contacts, err := o.d.Directory.ContactsOfPartner(ctx, id)
	if err != nil {
		o.h.unavailable(w, r, err)
		return
	}
	// The timeline and enrollments of the opsContacts most engaged
	// contacts (the explanation's order, then by id): a partner such as
	// the unassigned one may have thousands.
	rank := make(map[string]int, len(d.Explain.Contacts))
	for i, c := range d.Explain.Contacts {
		rank[c.ContactID] = i + 1
	}
	slices.SortStableFunc(contacts, func(a, b directory.Contact) int {
		ra, rb := rank[a.ID], rank[b.ID]
		switch {
		case ra == rb:
			return 0
		case ra == 0:
			return 1
		case rb == 0:
			return -1
		}
		return ra - rb
	})
	d.MoreContacts = max(0, len(contacts)-opsContacts)
	for _, c := range contacts[:min(len(contacts), opsContacts)] {
		cs, err := o.d.Scores.Contact(ctx, id, c.ID)
		if err != nil {
			o.h.unavailable(w, r, err)
			return
		}
		for _, it := range cs.Timeline {
			d.Timeline = append(d.Timeline, timelineRow{At: it.OccurredAt, ContactID: c.ID, TimelineItem: it})
		}
		if o.d.Flows != nil {
			ens, err := o.d.Flows.Enrollments(ctx, c)
			if err != nil {
				o.h.unavailable(w, r, err)
				return
			}
			d.Enrollments = append(d.Enrollments, ens...)
		}
	}
	d.FlowsOff = o.d.Flows == nil
	sort.SliceStable(d.Timeline, func(i, j int) bool { return d.Timeline[i].At.After(d.Timeline[j].At) })
	d.Timeline = d.Timeline[:min(len(d.Timeline), opsTimelineRows)]
	if d.Handoffs, err = o.d.Queue.Timeline(ctx, id); err != nil {
		o.h.unavailable(w, r, err)
		return
	}
	o.render(w, pageOpsPartner, d)
}

// --- unrouted ---

type unroutedData struct {
	opsBase
	Entries []repqueue.Entry
	Chart   chartData
}

func (o *OpsPages) unrouted(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	now := o.h.now().UTC()
	list, err := o.d.Queue.ListUnrouted(ctx)
	if err != nil {
		o.h.unavailable(w, r, err)
		return
	}
	hand, err := o.d.Queue.HandoffsByDay(ctx, now.AddDate(0, 0, 1-opsDays), now)
	if err != nil {
		o.h.unavailable(w, r, err)
		return
	}
	d := unroutedData{opsBase: o.opsBase(w, r, s, "unrouted", "unrouted"), Entries: list}
	labels := make([]string, len(hand))
	vals := make([]float64, len(hand))
	for i, h := range hand {
		labels[i], vals[i] = d.F.Day(h.Day), float64(h.Unrouted)
	}
	d.Chart = d.bars("chart-unrouted", d.L["unrouted_per_day"], [2]string{d.L["day"], d.L["unrouted"]}, labels, vals)
	o.render(w, pageOpsUnrouted, d)
}

// opsFuncs are the ops templates' functions; figures are written by
// the page's opsBase.F.
var opsFuncs = template.FuncMap{
	"half": func(v int) int { return v / 2 },
	"sub":  func(a, b int) int { return a - b },
}
