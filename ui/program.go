package ui

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/longtailhq/longtail/opsview"
	"github.com/longtailhq/longtail/program"
)

// programFuncs are the program pages' template functions, beside the
// rep pages' funcs.
var programFuncs = template.FuncMap{
	"add":   func(a, b int) int { return a + b },
	"deref": func(v *float64) float64 { return *v },
}

// maxProgramRows bounds the tier table and the at-risk list on the page;
// the CSV exports have every row.
const maxProgramRows = 200

type programData struct {
	base
	Date     string
	Tiers    []program.TierRow
	TiersAll int
	Risks    []program.Risk
	RisksAll int
	KPIs     program.KPIReport
	Chart    cohortChart
	Currency string
	// Prefix is where the page and its exports are served: /ui/program
	// for reps, /ui/ops/program for admins; Nav is the ops navigation
	// there (nil at /ui/program).
	Prefix string
	Nav    *opsBase
	// PL are the page's words (programLabels), English unless the ops
	// pages chose French; F writes its figures and dates in that language.
	PL map[string]string
	F  figures
}

// Term writes a program value (a stage, a move…) of group in the page's
// language: see opsTerms.
func (d programData) Term(group string, v any) string { return term(d.Lang, group, v) }

// programLabels are the program page's words by language; the rep page
// at /ui/program is English, the ops one follows the ops pages' choice.
var programLabels = map[string]map[string]string{
	"en": {
		"title": "Partner program", "in_cohorts": "partners in cohorts", "churn_rate": "churn rate",
		"tiers": "Tier suggestions", "partner": "Partner", "stage": "Stage", "move": "Move", "deals12": "Deals 12m",
		"revenue12": "Revenue 12m", "score": "Score", "why": "Why", "shown": "%s of %s shown; the CSV has them all.",
		"at_risk": `At risk: the "let go" list`, "rule": "Rule", "since": "Since", "action": "Action", "state": "State",
		"no_risk": "No partner at risk.", "cohorts": "Cohorts: productive share by months since joining",
		"cohorts_chart": "Share of each cohort productive by months since joining", "productive_lc": "productive",
		"cohort": "Cohort", "partners": "Partners", "productive": "Productive", "median": "Median to productive",
		"churned": "Churned", "revenue_pp": "Revenue per partner", "days": "days",
	},
	"fr": {
		"title": "Programme partenaires", "in_cohorts": "partenaires en cohortes", "churn_rate": "taux d’attrition",
		"tiers": "Niveaux suggérés", "partner": "Partenaire", "stage": "Étape", "move": "Mouvement", "deals12": "Affaires 12 mois",
		"revenue12": "Chiffre 12 mois", "score": "Score", "why": "Pourquoi", "shown": "%s sur %s affichés ; le CSV les contient tous.",
		"at_risk": "À risque : la liste « laisser partir »", "rule": "Règle", "since": "Depuis", "action": "Action", "state": "État",
		"no_risk": "Aucun partenaire à risque.", "cohorts": "Cohortes : part productive par mois depuis l’adhésion",
		"cohorts_chart": "Part de chaque cohorte devenue productive par mois depuis l’adhésion", "productive_lc": "productifs",
		"cohort": "Cohorte", "partners": "Partenaires", "productive": "Productifs", "median": "Médiane jusqu’à productif",
		"churned": "Partis", "revenue_pp": "Chiffre par partenaire", "days": "jours",
	},
}

// cohortChart is the cohort chart drawn as inline SVG (the pages run no
// script): one line per cohort, the share of its members productive by
// each month since joining.
type cohortChart struct {
	Width, Height    int
	Left, Top, PlotW int
	PlotH, Bottom    int
	Lines            []chartLine
	XTicks           []chartTick
	YTicks           []chartTick
}

type chartLine struct {
	Name   string
	Class  string
	Points string
	Last   string // the share at the last month, for the legend
}

type chartTick struct {
	Pos   int
	Label string
}

func drawCohorts(k program.KPIReport, f figures) cohortChart {
	c := cohortChart{Width: 720, Height: 280, Left: 48, Top: 16, PlotW: 640, PlotH: 220}
	c.Bottom = c.Top + c.PlotH
	const months = 24
	x := func(m int) int { return c.Left + (m-1)*c.PlotW/(months-1) }
	y := func(share float64) int { return c.Top + int(float64(c.PlotH)*(1-share)+0.5) }
	for _, m := range []int{1, 3, 6, 9, 12, 15, 18, 21, 24} {
		c.XTicks = append(c.XTicks, chartTick{Pos: x(m), Label: strconv.Itoa(m)})
	}
	for _, s := range []float64{0, 0.25, 0.5, 0.75, 1} {
		c.YTicks = append(c.YTicks, chartTick{Pos: y(s), Label: f.Percent(s, 0)})
	}
	for i, co := range k.Cohorts {
		if len(co.ProductiveByMonth) == 0 {
			continue
		}
		pts := make([]string, len(co.ProductiveByMonth))
		for m, s := range co.ProductiveByMonth {
			pts[m] = strconv.Itoa(x(m+1)) + "," + strconv.Itoa(y(s))
		}
		last := co.ProductiveByMonth[len(co.ProductiveByMonth)-1]
		c.Lines = append(c.Lines, chartLine{Name: f.Quarter(co.Quarter), Class: fmt.Sprintf("series-%d", i%6),
			Points: strings.Join(pts, " "), Last: f.Percent(last, 0)})
	}
	return c
}

func (rv *ProgramPages) gather(w http.ResponseWriter, r *http.Request) ([]program.Facts, time.Time, bool) {
	now := rv.h.now()
	all, err := rv.facts.AllFacts(r.Context(), now)
	if err != nil {
		rv.h.unavailable(w, r, err)
		return nil, now, false
	}
	return all, now, true
}

func (rv *ProgramPages) showProgram(w http.ResponseWriter, r *http.Request, s *session) {
	rv.showProgramAt(w, r, s, "/ui/program", nil)
}

// showProgramAt shows the program page served at prefix, with the ops
// navigation when nav is set.
func (rv *ProgramPages) showProgramAt(w http.ResponseWriter, r *http.Request, s *session, prefix string, nav *opsBase) {
	all, now, ok := rv.gather(w, r)
	if !ok {
		return
	}
	d := programData{base: rv.h.base(s, "Partner program"), Currency: rv.cfg.Currency, Prefix: prefix, Nav: nav}
	d.PL, d.F = programLabels["en"], figures{opsview.English}
	if nav != nil {
		d.Title, d.Lang, d.PL, d.F = nav.Title, nav.Lang, programLabels[nav.Lang], nav.F
	}
	d.Date = d.F.LongDate(now)
	d.Tiers = program.TierRows(all, rv.cfg, now)
	d.Risks = program.AtRiskAll(all, rv.cfg, now)
	d.TiersAll, d.RisksAll = len(d.Tiers), len(d.Risks)
	d.Tiers, d.Risks = d.Tiers[:min(len(d.Tiers), maxProgramRows)], d.Risks[:min(len(d.Risks), maxProgramRows)]
	d.KPIs = program.KPIs(all, rv.cfg, now)
	d.Chart = drawCohorts(d.KPIs, d.F)
	rv.render(w, rv.overview, pageProgram, d)
}

// csv serves one export of the program view as a download.
func (rv *ProgramPages) csv(which string) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, _ *session) {
		all, now, ok := rv.gather(w, r)
		if !ok {
			return
		}
		var buf bytes.Buffer
		var err error
		switch which {
		case "tiers":
			err = program.WriteTiersCSV(&buf, program.TierRows(all, rv.cfg, now))
		case "at-risk":
			err = program.WriteAtRiskCSV(&buf, program.AtRiskAll(all, rv.cfg, now))
		default:
			err = program.WriteCohortsCSV(&buf, program.KPIs(all, rv.cfg, now))
		}
		if err != nil {
			rv.h.unavailable(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="program-%s-%s.csv"`, which, now.UTC().Format(time.DateOnly)))
		_, _ = w.Write(buf.Bytes())
	}
}
