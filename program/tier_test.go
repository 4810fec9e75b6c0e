package program_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/longtailhq/longtail/program"
)

// deals makes n deals of value v each, dated from "2026-01-10" a week
// apart, all within the 12 months before now.
func deals(n int, v float64) []program.Result {
	out := make([]program.Result, n)
	for i := range out {
		out[i] = program.Result{At: day("2026-01-10").AddDate(0, 0, 7*i), Value: v}
	}
	return out
}

func TestSuggestTier(t *testing.T) {
	t.Parallel()
	cfg := program.Config{} // the default ladder: registered, silver (2 deals or 20k, score 10), gold (6 deals or 100k, score 20)
	every := months("2025-12", "2026-11")
	joined := day("2024-03-01")
	tests := []struct {
		name   string
		facts  program.Facts
		want   string
		move   string
		en, fr string
	}{
		{
			name: "the issue's example: registered → silver",
			facts: program.Facts{Tier: "registered", JoinedAt: joined, Deals: deals(3, 5000), Score: 15, EngagedMonths: every,
				Purchases: []program.Result{{At: day("2026-03-02"), Value: 30000}, {At: day("2026-09-15"), Value: 12000}}},
			want: "silver", move: program.MoveUp,
			en: "3 registered deals and €42k in 12 months, engaged every month: registered → silver",
			fr: "3 affaires enregistrées et 42 k€ en 12 mois, actif chaque mois : registered → silver",
		},
		{
			name:  "silver → gold on six deals and a score of exactly 20",
			facts: program.Facts{Tier: "silver", JoinedAt: joined, Deals: deals(6, 1000), Score: 20, EngagedMonths: months("2025-12", "2026-11", "2026-02")},
			want:  "gold", move: program.MoveUp,
			en: "6 registered deals and €0 in 12 months, engaged 11 of 12 months: silver → gold",
			fr: "6 affaires enregistrées et 0 € en 12 mois, actif 11 mois sur 12 : silver → gold",
		},
		{
			name: "registered → gold on exactly 100,000 of revenue, no deal",
			facts: program.Facts{Tier: "registered", JoinedAt: joined, Score: 31.25, EngagedMonths: every,
				Purchases: []program.Result{{At: day("2026-06-01"), Value: 60000}, {At: day("2026-11-30"), Value: 40000}}},
			want: "gold", move: program.MoveUp,
			en: "no registered deal and €100k in 12 months, engaged every month: registered → gold",
			fr: "aucune affaire enregistrée et 100 k€ en 12 mois, actif chaque mois : registered → gold",
		},
		{
			name:  "gold results but a score of 15: stays silver, and says why",
			facts: program.Facts{Tier: "Silver", JoinedAt: joined, Deals: deals(7, 2000), Score: 15, EngagedMonths: every},
			want:  "silver", move: program.MoveStay,
			en: "7 registered deals and €0 in 12 months, engaged every month: stays silver (gold needs a score of 20, now 15)",
			fr: "7 affaires enregistrées et 0 € en 12 mois, actif chaque mois : reste silver (gold demande un score de 20, actuellement 15)",
		},
		{
			name:  "gold → silver: two deals",
			facts: program.Facts{Tier: "gold", JoinedAt: joined, Deals: deals(2, 8000), Score: 12, EngagedMonths: months("2026-06", "2026-11")},
			want:  "silver", move: program.MoveDown,
			en: "2 registered deals and €0 in 12 months, engaged 6 of 12 months: gold → silver",
			fr: "2 affaires enregistrées et 0 € en 12 mois, actif 6 mois sur 12 : gold → silver",
		},
		{
			name: "gold → registered: one deal, €5k",
			facts: program.Facts{Tier: "gold", JoinedAt: joined, Deals: deals(1, 5000), Score: 30,
				Purchases: []program.Result{{At: day("2026-05-05"), Value: 5000}}},
			want: "registered", move: program.MoveDown,
			en: "1 registered deal and €5k in 12 months, not engaged in 12 months: gold → registered",
			fr: "1 affaire enregistrée et 5 k€ en 12 mois, aucune activité en 12 mois : gold → registered",
		},
		{
			name:  "silver → registered: the results hold but the score fell to 9.5",
			facts: program.Facts{Tier: "silver", JoinedAt: joined, Deals: deals(3, 0), Score: 9.5, EngagedMonths: every},
			want:  "registered", move: program.MoveDown,
			en: "3 registered deals and €0 in 12 months, engaged every month: silver → registered (silver needs a score of 10, now 9.5)",
			fr: "3 affaires enregistrées et 0 € en 12 mois, actif chaque mois : silver → registered (silver demande un score de 10, actuellement 9,5)",
		},
		{
			name:  "a deal exactly 12 months ago is out of the window",
			facts: program.Facts{Tier: "registered", JoinedAt: joined, Score: 50, Deals: []program.Result{{At: now.AddDate(-1, 0, 0)}, {At: day("2026-08-01")}}},
			want:  "registered", move: program.MoveStay,
			en: "1 registered deal and €0 in 12 months, not engaged in 12 months: stays registered",
			fr: "1 affaire enregistrée et 0 € en 12 mois, aucune activité en 12 mois : reste registered",
		},
		{
			name:  "a second later it is in",
			facts: program.Facts{Tier: "registered", JoinedAt: joined, Score: 50, Deals: []program.Result{{At: now.AddDate(-1, 0, 0).Add(time.Second)}, {At: day("2026-08-01")}}},
			want:  "silver", move: program.MoveUp,
			en: "2 registered deals and €0 in 12 months, not engaged in 12 months: registered → silver",
			fr: "2 affaires enregistrées et 0 € en 12 mois, aucune activité en 12 mois : registered → silver",
		},
		{
			name:  "no tier yet, joined in September",
			facts: program.Facts{JoinedAt: day("2026-09-15"), Score: 4, EngagedMonths: months("2026-09", "2026-12", "2026-10")},
			want:  "registered", move: program.MoveSet,
			en: "no registered deal and €0 in 12 months, engaged 2 of 3 months: no tier → registered",
			fr: "aucune affaire enregistrée et 0 € en 12 mois, actif 2 mois sur 3 : aucun niveau → registered",
		},
		{
			name:  "a tier the ladder does not name",
			facts: program.Facts{Tier: "platinum", JoinedAt: day("2026-12-01"), Deals: deals(2, 1_250_000), Score: 10},
			want:  "silver", move: program.MoveSet,
			en: "2 registered deals and €0 in 12 months, joined this month: platinum → silver",
			fr: "2 affaires enregistrées et 0 € en 12 mois, a rejoint le programme ce mois-ci : platinum → silver",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := program.SuggestTier(tc.facts, cfg, now)
			if got.Suggested != tc.want || got.Move != tc.move {
				t.Errorf("suggested %s (%s), want %s (%s)", got.Suggested, got.Move, tc.want, tc.move)
			}
			if diff := cmp.Diff(map[string]string{"en": tc.en, "fr": tc.fr}, got.Reason); diff != "" {
				t.Errorf("reason (-want, +got):\n%s", diff)
			}
			// The tier held back by the score alone is the one the
			// reason names.
			if held := strings.Contains(tc.en, "needs a score"); held != (got.ScoreShortOf != "") ||
				held && !strings.Contains(tc.en, "("+got.ScoreShortOf+" needs a score") {
				t.Errorf("score_short_of %q for %q", got.ScoreShortOf, tc.en)
			}
		})
	}
}

// A ladder of one's own: a revenue-only tier ignores deals, a zero
// minimum is no criterion, and the currency shows in the reason.
func TestSuggestTierCustomLadder(t *testing.T) {
	t.Parallel()
	cfg := program.Config{Currency: "USD", Tiers: []program.Tier{
		{Name: "member"},
		{Name: "premier", MinRevenue: 50000},
		{Name: "elite", MinDeals: 10, MinScore: 40},
	}}
	tests := []struct {
		name  string
		facts program.Facts
		want  string
		en    string
	}{
		{"many deals, no revenue: member", program.Facts{Tier: "member", Deals: deals(9, 1), Score: 100},
			"member", "9 registered deals and $0 in 12 months, not engaged in 12 months: stays member"},
		{"revenue only: premier", program.Facts{Tier: "member", Score: 0, Purchases: []program.Result{{At: day("2026-02-02"), Value: 50500}}},
			"premier", "no registered deal and $50.5k in 12 months, not engaged in 12 months: member → premier"},
		{"ten deals and a score of 40: elite even without premier's revenue", program.Facts{Tier: "premier", Deals: deals(10, 1), Score: 40},
			"elite", "10 registered deals and $0 in 12 months, not engaged in 12 months: premier → elite"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := program.SuggestTier(tc.facts, cfg, now)
			if got.Suggested != tc.want || got.Reason["en"] != tc.en {
				t.Errorf("got %s %q, want %s %q", got.Suggested, got.Reason["en"], tc.want, tc.en)
			}
		})
	}
}

func TestEngagementMonths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		facts            program.Facts
		engaged, counted int
	}{
		{"no join date: the 12 months before this one", program.Facts{EngagedMonths: months("2025-11", "2026-12")}, 12, 12},
		{"duplicates within a month count once", program.Facts{EngagedMonths: []time.Time{day("2026-03-01"), day("2026-03-31"), day("2026-04-15")}}, 2, 12},
		{"joined in May: May to November", program.Facts{JoinedAt: day("2026-05-31"), EngagedMonths: months("2026-01", "2026-12")}, 7, 7},
		{"joined this month", program.Facts{JoinedAt: day("2026-12-01"), EngagedMonths: months("2026-12", "2026-12")}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, n := program.EngagementMonths(tc.facts, now)
			if e != tc.engaged || n != tc.counted {
				t.Errorf("EngagementMonths = %d of %d, want %d of %d", e, n, tc.engaged, tc.counted)
			}
		})
	}
}

func TestMoney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v        float64
		currency string
		en, fr   string
	}{
		{0, "EUR", "€0", "0 €"},
		{950, "EUR", "€950", "950 €"},
		{999.4, "EUR", "€999", "999 €"},
		{999.5, "EUR", "€1k", "1 k€"},
		{42000, "EUR", "€42k", "42 k€"},
		{42500, "EUR", "€42.5k", "42,5 k€"},
		{42049, "EUR", "€42k", "42 k€"},
		{1_250_000, "EUR", "€1.25M", "1,25 M€"},
		{999_600, "USD", "$1M", "1 M$"},
		{20000, "GBP", "£20k", "20 k£"},
		{20000, "CHF", "20k CHF", "20 k CHF"},
		{300, "CHF", "300 CHF", "300 CHF"},
	}
	for _, tc := range tests {
		if en, fr := program.Money(tc.v, tc.currency, "en"), program.Money(tc.v, tc.currency, "fr"); en != tc.en || fr != tc.fr {
			t.Errorf("Money(%v, %s) = %q, %q; want %q, %q", tc.v, tc.currency, en, fr, tc.en, tc.fr)
		}
	}
}
