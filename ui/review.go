package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/program"
)

// ProgramFacts gathers the partners' program facts (*store.Store of
// package program/store implements it).
type ProgramFacts interface {
	Facts(ctx context.Context, partnerID string, now time.Time) (program.Facts, error)
	AllFacts(ctx context.Context, now time.Time) ([]program.Facts, error)
}

// Partners reads a partner's record (*directory.Store implements it).
type Partners interface {
	GetPartner(ctx context.Context, id string) (directory.Partner, error)
}

// ProgramPages serves the partner-program pages to a signed-in rep:
//
//   - GET /ui/partners/{id}/review, a partner's printable quarterly-review
//     page: one page, results first (revenue, deals, quarters, cycle),
//     then what the program makes of them (stage, suggested tier), then
//     engagement — what a rep brings to a quarterly business review
//     instead of a count of calls;
//   - GET /ui/program, the tier-suggestion table, the at-risk list and the
//     cohort chart (productive share by months since joining), each
//     exportable as CSV: /ui/program/tiers.csv, /ui/program/at-risk.csv,
//     /ui/program/cohorts.csv.
type ProgramPages struct {
	h        *Handler
	facts    ProgramFacts
	partners Partners
	cfg      program.Config
	page     *template.Template
	overview *template.Template
}

const (
	pageReview  = "review.html"
	pageProgram = "program.html"
)

// NewProgramPages builds the review page on the rep pages' sessions and layout.
// cfg is the program configuration (zero fields: its defaults).
func NewProgramPages(h *Handler, facts ProgramFacts, partners Partners, cfg program.Config) (*ProgramPages, error) {
	if h == nil || facts == nil || partners == nil {
		return nil, errors.New("ui: review needs the rep pages, program facts and partners")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t, err := template.New(pageReview).Funcs(funcs).Funcs(programFuncs).ParseFS(assets, "templates/layout.html", "templates/"+pageReview)
	if err != nil {
		return nil, fmt.Errorf("ui: template %s: %w", pageReview, err)
	}
	o, err := template.New(pageProgram).Funcs(funcs).Funcs(programFuncs).Funcs(opsFuncs).
		ParseFS(assets, "templates/layout.html", "templates/ops_parts.html", "templates/"+pageProgram)
	if err != nil {
		return nil, fmt.Errorf("ui: template %s: %w", pageProgram, err)
	}
	return &ProgramPages{h: h, facts: facts, partners: partners, cfg: cfg.WithDefaults(), page: t, overview: o}, nil
}

// Register mounts the pages on mux.
func (rv *ProgramPages) Register(mux *http.ServeMux) {
	for pattern, fn := range map[string]func(http.ResponseWriter, *http.Request, *session){
		"GET /ui/partners/{id}/review": rv.show,
		"GET /ui/program":              rv.showProgram,
		"GET /ui/program/tiers.csv":    rv.csv("tiers"),
		"GET /ui/program/at-risk.csv":  rv.csv("at-risk"),
		"GET /ui/program/cohorts.csv":  rv.csv("cohorts"),
	} {
		mux.Handle(pattern, rv.h.secured(rv.h.signedIn(fn)))
	}
}

type reviewData struct {
	base
	Partner                    directory.Partner
	Date                       string
	Stage                      program.StageName
	Revenue90                  string
	Revenue12                  string
	Purchases12                int
	Deals90                    program.Sum
	Deals12                    program.Sum
	DealsValue90, DealsValue12 string
	Quarters                   []reviewQuarter
	FirstDeal                  string
	Cycle                      string
	Tier                       program.Suggestion
	Reason                     string
	Outcomes                   []reviewOutcome
	Score                      string
	Ago30                      string
	Ago90                      string
	Direction                  program.StageName
	Segment                    string
	// StageChanges is the partner's timeline of stages, newest first.
	StageChanges []program.StageChange
}

type reviewQuarter struct {
	Name      string
	Deals     int
	DealsV    string
	Purchases string
}

type reviewOutcome struct {
	Kind  string
	Count int
}

func (rv *ProgramPages) show(w http.ResponseWriter, r *http.Request, s *session) {
	now := rv.h.now()
	p, err := rv.partners.GetPartner(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, directory.ErrNotFound) || errors.Is(err, directory.ErrInvalid):
		rv.h.errorPage(w, s, http.StatusNotFound, "Partner not found", "There is no partner "+strconv.Quote(r.PathValue("id"))+".")
		return
	case err != nil:
		rv.h.unavailable(w, r, err)
		return
	}
	f, err := rv.facts.Facts(r.Context(), p.ID, now)
	if err != nil {
		rv.h.unavailable(w, r, err)
		return
	}
	c := program.Scorecard(f, rv.cfg, now)
	money := func(v float64) string { return program.Money(v, rv.cfg.Currency, "en") }
	d := reviewData{
		base: rv.h.base(s, p.Name+" — quarterly review"), Partner: p, Date: now.UTC().Format("2 January 2006"),
		Stage: c.Stage, Revenue90: money(c.Revenue90.Value), Revenue12: money(c.Revenue12.Value), Purchases12: c.Revenue12.Count,
		Deals90: c.Deals90, Deals12: c.Deals12, DealsValue90: money(c.Deals90.Value), DealsValue12: money(c.Deals12.Value),
		FirstDeal: "no deal yet", Cycle: "no purchase closed a deal yet",
		Tier: c.Tier, Reason: c.Tier.Reason["en"], Score: reviewScore(c.Engagement.Now), Ago30: "—", Ago90: "—",
		Direction: c.Engagement.Direction, Segment: c.Segment, StageChanges: c.StageChanges,
	}
	for _, q := range c.Quarters {
		d.Quarters = append(d.Quarters, reviewQuarter{Name: q.Quarter.String(), Deals: q.Deals.Count, DealsV: money(q.Deals.Value), Purchases: money(q.Purchases.Value)})
	}
	if v := c.DaysToFirstDeal; v != nil {
		d.FirstDeal = strconv.FormatFloat(*v, 'f', 0, 64) + " days after joining"
	}
	if v := c.Cycle.MedianDays; v != nil {
		d.Cycle = fmt.Sprintf("%s days (median of %d)", strconv.FormatFloat(*v, 'f', 0, 64), c.Cycle.Count)
	}
	if v := c.Engagement.Ago30; v != nil {
		d.Ago30 = reviewScore(*v)
	}
	if v := c.Engagement.Ago90; v != nil {
		d.Ago90 = reviewScore(*v)
	}
	for k, n := range c.Outcomes {
		d.Outcomes = append(d.Outcomes, reviewOutcome{Kind: k, Count: n})
	}
	sort.Slice(d.Outcomes, func(i, j int) bool { return d.Outcomes[i].Kind < d.Outcomes[j].Kind })
	rv.render(w, rv.page, pageReview, d)
}

func reviewScore(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// render writes the page whole or not at all, as Handler.render does.
func (rv *ProgramPages) render(w http.ResponseWriter, t *template.Template, name string, d any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		rv.h.log.Error().Err(err).Str("page", name).Msg("render page")
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
