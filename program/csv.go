package program

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"
)

// The CSV exports of the program view (longtail program ... --csv and
// the /ui/program pages): a header line, then one row per partner or
// cohort. Numbers are plain (42000, 0.25), lists ';'-separated, times
// RFC 3339, so a spreadsheet reads them as they are.

func csvNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func csvOpt(v *float64) string {
	if v == nil {
		return ""
	}
	return csvNum(*v)
}

func writeCSV(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

// WriteTiersCSV writes tier rows: partner_id, stage, current, suggested,
// move, deals_12m, revenue_12m, score, engaged_months, counted_months,
// score_short_of, reason (en).
func WriteTiersCSV(w io.Writer, rows []TierRow) error {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = []string{r.PartnerID, string(r.Stage), r.Current, r.Suggested, r.Move, strconv.Itoa(r.Deals12), csvNum(r.Revenue12),
			csvNum(r.Score), strconv.Itoa(r.EngagedMonths), strconv.Itoa(r.CountedMonths), r.ScoreShortOf, r.Reason["en"]}
	}
	return writeCSV(w, []string{"partner_id", "stage", "current", "suggested", "move", "deals_12m", "revenue_12m",
		"score", "engaged_months", "counted_months", "score_short_of", "reason"}, out)
}

// WriteAtRiskCSV writes the "let go" list: partner_id, rule, stage,
// since, action, quarters, state.
func WriteAtRiskCSV(w io.Writer, risks []Risk) error {
	out := make([][]string, len(risks))
	for i, r := range risks {
		qs := make([]string, len(r.Quarters))
		for j, q := range r.Quarters {
			qs[j] = csvNum(q)
		}
		out[i] = []string{r.PartnerID, r.Rule, string(r.Stage), r.Since.UTC().Format(time.RFC3339), r.Action, strings.Join(qs, ";"), r.State}
	}
	return writeCSV(w, []string{"partner_id", "rule", "stage", "since", "action", "quarters", "state"}, out)
}

// WriteCohortsCSV writes one row per cohort: cohort, partners,
// productive, productive_share, median_days_to_productive, churned,
// churn_rate, revenue, revenue_per_partner, productive_by_month.
func WriteCohortsCSV(w io.Writer, k KPIReport) error {
	out := make([][]string, len(k.Cohorts))
	for i, c := range k.Cohorts {
		by := make([]string, len(c.ProductiveByMonth))
		for j, s := range c.ProductiveByMonth {
			by[j] = csvNum(s)
		}
		out[i] = []string{c.Quarter.String(), strconv.Itoa(c.Partners), strconv.Itoa(c.Productive), csvNum(c.ProductiveShare),
			csvOpt(c.MedianDays), strconv.Itoa(c.Churned), csvNum(c.ChurnRate), csvNum(c.Revenue), csvNum(c.RevenuePerPartner), strings.Join(by, ";")}
	}
	return writeCSV(w, []string{"cohort", "partners", "productive", "productive_share", "median_days_to_productive",
		"churned", "churn_rate", "revenue", "revenue_per_partner", "productive_by_month"}, out)
}
