package program_test

import (
	"fmt"
	"time"

	"github.com/longtailhq/longtail/program"
)

// A partner that joined in March 2025 and registered its first deal in
// the autumn: its stage is read from its results of the last two full
// quarters.
func ExampleStage() {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	f := program.Facts{
		JoinedAt: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
		Deals: []program.Result{
			{At: time.Date(2025, 10, 2, 0, 0, 0, 0, time.UTC), Value: 6000},
			{At: time.Date(2026, 5, 12, 0, 0, 0, 0, time.UTC), Value: 9000}, // 2026-Q2
		},
		Purchases: []program.Result{
			{At: time.Date(2026, 8, 20, 0, 0, 0, 0, time.UTC), Value: 15000}, // 2026-Q3
		},
		LastEngagedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
	}
	cfg := program.DefaultConfig()
	fmt.Println(program.Stage(f, cfg, now))

	// Half a year later with nothing more: dormant.
	fmt.Println(program.Stage(f, cfg, now.AddDate(0, 6, 0)))

	// One that joined the same day and never brought a deal.
	fmt.Println(program.Stage(program.Facts{JoinedAt: f.JoinedAt}, cfg, now))
	// Output:
	// growing
	// dormant
	// churned
}

// The issue's own example: three deals and €42k in the last 12 months,
// engaged every month, moves a registered partner up to silver.
func ExampleSuggestTier() {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	var engaged []time.Time
	for m := 1; m <= 12; m++ {
		engaged = append(engaged, time.Date(2025, time.Month(11+m), 1, 0, 0, 0, 0, time.UTC))
	}
	f := program.Facts{
		Tier:     "registered",
		JoinedAt: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
		Deals: []program.Result{
			{At: time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)},
			{At: time.Date(2026, 6, 9, 0, 0, 0, 0, time.UTC)},
			{At: time.Date(2026, 10, 14, 0, 0, 0, 0, time.UTC)},
		},
		Purchases:     []program.Result{{At: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), Value: 42000}},
		Score:         14,
		EngagedMonths: engaged,
	}
	s := program.SuggestTier(f, program.DefaultConfig(), now)
	fmt.Println(s.Move)
	fmt.Println(s.Reason["en"])
	fmt.Println(s.Reason["fr"])
	// Output:
	// up
	// 3 registered deals and €42k in 12 months, engaged every month: registered → silver
	// 3 affaires enregistrées et 42 k€ en 12 mois, actif chaque mois : registered → silver
}
