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

// ProgramFacts gathers one partner's program facts (*store.Store of
// package program/store implements it).
type ProgramFacts interface {
	Facts(ctx context.Context, partnerID string, now time.Time) (program.Facts, error)
}

// Partners reads a partner's record (*directory.Store implements it).
type Partners interface {
	GetPartner(ctx context.Context, id string) (directory.Partner, error)
}

// Review serves the printable quarterly-review page of a partner,
// GET /ui/partners/{id}/review, to a signed-in rep: one page, results
// first (revenue, deals, quarters, cycle), then what the program makes of
// them (stage, suggested tier), then engagement — what a rep brings to a
// quarterly business review instead of a count of calls.
type Review struct {
	h        *Handler
	facts    ProgramFacts
	partners Partners
	cfg      program.Config
	page     *template.Template
}

const pageReview = "review.html"

// NewReview builds the review page on the rep pages' sessions and layout.
// cfg is the program configuration (zero fields: its defaults).
func NewReview(h *Handler, facts ProgramFacts, partners Partners, cfg program.Config) (*Review, error) {
	if h == nil || facts == nil || partners == nil {
		return nil, errors.New("ui: review needs the rep pages, program facts and partners")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t, err := template.New(pageReview).Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+pageReview)
	if err != nil {
		return nil, fmt.Errorf("ui: template %s: %w", pageReview, err)
	}
	return &Review{h: h, facts: facts, partners: partners, cfg: cfg.WithDefaults(), page: t}, nil
}

// Register mounts the page on mux.
func (rv *Review) Register(mux *http.ServeMux) {
	mux.Handle("GET /ui/partners/{id}/review", rv.h.secured(rv.h.signedIn(rv.show)))
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

func (rv *Review) show(w http.ResponseWriter, r *http.Request, s *session) {
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
		Direction: c.Engagement.Direction, Segment: c.Segment,
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
	rv.render(w, d)
}

func reviewScore(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// render writes the page whole or not at all, as Handler.render does.
func (rv *Review) render(w http.ResponseWriter, d reviewData) {
	var buf bytes.Buffer
	if err := rv.page.ExecuteTemplate(&buf, "layout", d); err != nil {
		rv.h.log.Error().Err(err).Str("page", pageReview).Msg("render page")
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
