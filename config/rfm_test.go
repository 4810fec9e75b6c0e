package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/longtailhq/longtail/config"
)

// Scoring learns the unassigned pseudo-partner from the directory's key,
// so RFM and the leaderboard leave out whichever id it is configured as;
// the RFM scale's defaults are in the effective configuration.
func TestScoringKnowsTheUnassignedPartner(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, yaml, want string }{
		{"default", "", "unassigned"},
		{"configured", "directory:\n  unassigned_partner: nobody\n", "nobody"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "longtail.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(path, true, nil)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Scoring.UnassignedPartner != tc.want {
				t.Errorf("scoring's unassigned partner = %q, want %q", cfg.Scoring.UnassignedPartner, tc.want)
			}
			m := cfg.Masked()
			for key, want := range map[string]any{
				"scoring.rfm.min_population":          20,
				"scoring.rfm.thresholds.recency_days": []int{7, 30, 60, 90},
				"scoring.rfm.thresholds.frequency":    []int{2, 5, 10, 20},
				"scoring.rfm.thresholds.monetary":     []float64{1, 1000, 10000, 50000},
			} {
				if got := m[key]; !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", key, got, want)
				}
			}
			if _, ok := m["scoring.unassigned_partner"]; ok {
				t.Error("scoring.unassigned_partner is a key; it should only be directory.unassigned_partner")
			}
		})
	}
}
