package program

import (
	"fmt"
	"strings"
	"time"
)

// Moves of a tier suggestion.
const (
	MoveUp   = "up"
	MoveDown = "down"
	MoveStay = "stay"
	// MoveSet: the partner has no tier, or one the ladder does not name.
	MoveSet = "set"
)

// Suggestion is the tier a partner's results and engagement earn, with
// the plain reason a rep or a channel manager can read out.
type Suggestion struct {
	Current   string `json:"current"`
	Suggested string `json:"suggested"`
	// Move is up, down, stay or set.
	Move string `json:"move"`
	// The figures the suggestion rests on: deals and revenue (purchase
	// values) in the last 12 months, the score now, and the months with
	// engagement among the months counted (see EngagementMonths).
	Deals12       int     `json:"deals_12m"`
	Revenue12     float64 `json:"revenue_12m"`
	Score         float64 `json:"score"`
	EngagedMonths int     `json:"engaged_months"`
	CountedMonths int     `json:"counted_months"`
	// ScoreShortOf names the tier above Suggested when the partner's
	// results meet it and only its score does not ("" otherwise): the
	// one thing a rep's call can change.
	ScoreShortOf string `json:"score_short_of,omitempty"`
	// Reason per locale (en, fr): "3 registered deals and €42k in 12
	// months, engaged every month: registered → silver".
	Reason map[string]string `json:"reason"`
}

// SuggestTier is the highest tier of cfg's ladder whose minimums the
// partner meets at now (see Tier), against its current tier. When the
// tier above the suggestion is held back by the score alone, the reason
// says so ("silver needs a score of 10, now 6") and ScoreShortOf names it.
func SuggestTier(f Facts, cfg Config, now time.Time) Suggestion {
	cfg = cfg.WithDefaults()
	w := Last12Months(now)
	s := Suggestion{
		Current:   f.Tier,
		Deals12:   sumIn(f.Deals, w).Count,
		Revenue12: sumIn(f.Purchases, w).Value,
		Score:     f.Score,
	}
	s.EngagedMonths, s.CountedMonths = EngagementMonths(f, now)
	best := 0
	for i, t := range cfg.Tiers {
		if meetsResults(t, s.Deals12, s.Revenue12) && s.Score >= t.MinScore {
			best = i
		}
	}
	s.Suggested = cfg.Tiers[best].Name
	var shortOf *Tier
	if best+1 < len(cfg.Tiers) {
		if next := cfg.Tiers[best+1]; meetsResults(next, s.Deals12, s.Revenue12) {
			shortOf = &next
			s.ScoreShortOf = next.Name
		}
	}
	cur := -1
	for i, t := range cfg.Tiers {
		if strings.EqualFold(strings.TrimSpace(t.Name), strings.TrimSpace(f.Tier)) {
			cur = i
		}
	}
	switch {
	case cur < 0:
		s.Move = MoveSet
	case best > cur:
		s.Move = MoveUp
	case best < cur:
		s.Move = MoveDown
	default:
		s.Move = MoveStay
	}
	s.Reason = map[string]string{}
	for _, loc := range Locales() {
		s.Reason[loc] = s.reason(loc, cfg.Currency, shortOf)
	}
	return s
}

// meetsResults: either minimum met, a zero minimum being no criterion;
// a tier with both zero asks for no results.
func meetsResults(t Tier, deals int, revenue float64) bool {
	if t.MinDeals == 0 && t.MinRevenue == 0 {
		return true
	}
	return (t.MinDeals > 0 && deals >= t.MinDeals) || (t.MinRevenue > 0 && revenue >= t.MinRevenue)
}

// EngagementMonths counts the months the partner engaged in among the 12
// full calendar months (UTC) before now's month, or, for a partner that
// joined since, the months from its join month on. The current month is
// left out until it is over, so a suggestion does not change with the
// day of the month.
func EngagementMonths(f Facts, now time.Time) (engaged, counted int) {
	thisMonth := monthIndex(now)
	from := thisMonth - 12
	if f.joined(now) {
		from = max(from, monthIndex(f.JoinedAt))
	}
	seen := map[int]bool{}
	for _, m := range f.EngagedMonths {
		if i := monthIndex(m); i >= from && i < thisMonth && !seen[i] {
			seen[i] = true
			engaged++
		}
	}
	return engaged, max(thisMonth-from, 0)
}

// monthIndex numbers calendar months (UTC) consecutively.
func monthIndex(t time.Time) int {
	t = t.UTC()
	return t.Year()*12 + int(t.Month()) - 1
}

// Locales the plain reasons are written in.
func Locales() []string { return []string{"en", "fr"} }

func (s Suggestion) reason(loc, currency string, shortOf *Tier) string {
	fr := loc == "fr"
	var deals, engaged, move string
	switch {
	case s.Deals12 == 0 && fr:
		deals = "aucune affaire enregistrée"
	case s.Deals12 == 0:
		deals = "no registered deal"
	case s.Deals12 == 1 && fr:
		deals = "1 affaire enregistrée"
	case s.Deals12 == 1:
		deals = "1 registered deal"
	case fr:
		deals = fmt.Sprintf("%d affaires enregistrées", s.Deals12)
	default:
		deals = fmt.Sprintf("%d registered deals", s.Deals12)
	}
	e, n := s.EngagedMonths, s.CountedMonths
	switch {
	case n == 0 && fr:
		engaged = "a rejoint le programme ce mois-ci"
	case n == 0:
		engaged = "joined this month"
	case e == n && n == 1 && fr:
		engaged = "actif le mois dernier"
	case e == n && n == 1:
		engaged = "engaged last month"
	case e == n && fr:
		engaged = "actif chaque mois"
	case e == n:
		engaged = "engaged every month"
	case e == 0 && fr:
		engaged = fmt.Sprintf("aucune activité en %d mois", n)
	case e == 0:
		engaged = fmt.Sprintf("not engaged in %d months", n)
	case fr:
		engaged = fmt.Sprintf("actif %d mois sur %d", e, n)
	default:
		engaged = fmt.Sprintf("engaged %d of %d months", e, n)
	}
	from := s.Current
	if strings.TrimSpace(from) == "" {
		from = map[bool]string{false: "no tier", true: "aucun niveau"}[fr]
	}
	switch {
	case s.Move == MoveStay && fr:
		move = "reste " + s.Suggested
	case s.Move == MoveStay:
		move = "stays " + s.Suggested
	default:
		move = from + " → " + s.Suggested
	}
	var out string
	if fr {
		out = fmt.Sprintf("%s et %s en 12 mois, %s : %s", deals, Money(s.Revenue12, currency, "fr"), engaged, move)
	} else {
		out = fmt.Sprintf("%s and %s in 12 months, %s: %s", deals, Money(s.Revenue12, currency, "en"), engaged, move)
	}
	if shortOf != nil {
		if fr {
			out += fmt.Sprintf(" (%s demande un score de %s, actuellement %s)", shortOf.Name, number(shortOf.MinScore, fr), number(s.Score, fr))
		} else {
			out += fmt.Sprintf(" (%s needs a score of %s, now %s)", shortOf.Name, number(shortOf.MinScore, fr), number(s.Score, fr))
		}
	}
	return out
}

// currencySymbols are written as symbols; other codes as the code.
var currencySymbols = map[string]string{"EUR": "€", "USD": "$", "GBP": "£"}

// Money writes an amount briefly, as a person would say it in a sentence:
// en "€950", "€42k", "€42.5k", "€1.25M"; fr "950 €", "42 k€", "42,5 k€",
// "1,25 M€". Codes without a symbol follow the number ("42k CHF",
// "42 k CHF").
func Money(v float64, currency, loc string) string {
	fr := loc == "fr"
	num, unit := v, ""
	switch a := abs(v); {
	case a >= 999_500:
		num, unit = v/1e6, "M"
	case a >= 999.5:
		num, unit = v/1e3, "k"
	}
	var digits string
	switch unit {
	case "M":
		digits = trimZeros(fmt.Sprintf("%.2f", num))
	case "k":
		digits = trimZeros(fmt.Sprintf("%.1f", num))
	default:
		digits = fmt.Sprintf("%.0f", num)
	}
	if fr {
		digits = strings.Replace(digits, ".", ",", 1)
	}
	sym, ok := currencySymbols[currency]
	switch {
	case fr && ok:
		return digits + " " + unit + sym
	case fr:
		return strings.TrimSpace(digits+" "+unit) + " " + currency
	case ok:
		return sym + digits + unit
	default:
		return digits + unit + " " + currency
	}
}

// number writes a score with at most one decimal.
func number(v float64, fr bool) string {
	s := trimZeros(fmt.Sprintf("%.1f", v))
	if fr {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
