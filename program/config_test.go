package program_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/longtailhq/longtail/program"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	got := program.Config{}.WithDefaults()
	want := program.Config{
		ProductiveWithin: 365 * program.Day, DormantAfter: 180 * program.Day, ExitAfter: 30 * program.Day, Currency: "EUR",
		Tiers: []program.Tier{
			{Name: "registered"},
			{Name: "silver", MinDeals: 2, MinRevenue: 20000, MinScore: 10},
			{Name: "gold", MinDeals: 6, MinRevenue: 100000, MinScore: 20},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want, +got):\n%s", diff)
	}
	if diff := cmp.Diff(got, got.WithDefaults()); diff != "" {
		t.Errorf("defaults not stable (-once, +twice):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  program.Config
		want []string // one line each, in any order
	}{
		{"zero", program.Config{}, nil},
		{"negative windows", program.Config{ProductiveWithin: -1, DormantAfter: -program.Day, ExitAfter: -2},
			[]string{"program.productive_within: must not be negative, got -1ns", "program.dormant_after: must not be negative, got -24h0m0s",
				"program.exit_after: must not be negative, got -2ns"}},
		{"currency", program.Config{Currency: "eur"}, []string{`program.currency: "eur" is not an ISO 4217 code such as EUR or USD`}},
		{"tiers", program.Config{Tiers: []program.Tier{
			{Name: "base", MinScore: 1},
			{Name: ""},
			{Name: "Gold", MinDeals: -1, MinRevenue: -5, MinScore: -0.5},
			{Name: "gold "},
		}}, []string{
			"program.tiers[0]: the first tier is the floor every partner is in: it takes no minimums",
			"program.tiers[1].name: required",
			"program.tiers[2].min_deals: must not be negative, got -1",
			"program.tiers[2].min_revenue: must not be negative, got -5",
			"program.tiers[2].min_score: must not be negative, got -0.5",
			`program.tiers[3].name: "gold " is already tiers[2]`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.Validate()
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("Validate (-want, +got):\n%s", diff)
			}
		})
	}
}
