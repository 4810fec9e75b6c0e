package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/config"
	"github.com/longtailhq/longtail/program"
)

// program.*: the defaults are applied once at load, the example file
// spells them out, the environment overrides the scalars, and a bad value
// is reported at its line.
func TestProgramConfig(t *testing.T) {
	t.Parallel()
	write := func(t *testing.T, body string) string {
		t.Helper()
		p := filepath.Join(t.TempDir(), "longtail.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		env     []string
		want    program.Config
		wantErr []string
	}{
		{name: "defaults", want: program.DefaultConfig()},
		{name: "the example file", path: "../longtail.example.yaml", want: program.DefaultConfig()},
		{
			name: "a ladder of one's own, windows from the environment",
			path: "program:\n  currency: USD\n  tiers:\n    - name: member\n    - name: premier\n      min_revenue: 50000\n",
			env:  []string{"LONGTAIL_PROGRAM_PRODUCTIVE_WITHIN=270d", "LONGTAIL_PROGRAM_DORMANT_AFTER=90d"},
			want: program.Config{ProductiveWithin: 270 * 24 * time.Hour, DormantAfter: 90 * 24 * time.Hour, ExitAfter: 30 * 24 * time.Hour,
				Currency: "USD", Tiers: []program.Tier{{Name: "member"}, {Name: "premier", MinRevenue: 50000}}},
		},
		{
			name: "bad values, each at its line",
			path: "program:\n  dormant_after: -1d\n  tiers:\n    - name: member\n    - name: silver\n      min_deals: -2\n",
			wantErr: []string{
				":2:18: program.dormant_after: must not be negative",
				":6:18: program.tiers[1].min_deals: must not be negative, got -2",
			},
		},
		{
			name:    "a month unit is refused: durations count days",
			path:    "program:\n  productive_within: 12mo\n",
			wantErr: []string{`:2:22: program.productive_within: "12mo" is not a duration (examples: 30s, 15m, 72h, 30d)`},
		},
		{
			name:    "an unknown key in a tier",
			path:    "program:\n  tiers:\n    - name: registered\n      min_revenu: 5\n",
			wantErr: []string{":4:7: program.tiers[0].min_revenu: unknown key"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := tc.path
			if strings.Contains(path, "\n") {
				path = write(t, path)
			}
			cfg, err := config.Load(path, path != "", tc.env)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatal("loaded")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), path+w) {
						t.Errorf("error %q does not say %q", err, path+w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Program, tc.want) {
				t.Errorf("program config\n got %+v\nwant %+v", cfg.Program, tc.want)
			}
		})
	}
}

// The start-up log shows the program windows as the file says them.
func TestProgramConfigMasked(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load("", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Masked()
	for key, want := range map[string]any{
		"program.productive_within": "365d", "program.dormant_after": "180d", "program.exit_after": "30d", "program.currency": "EUR",
	} {
		if got := m[key]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", key, got, want)
		}
	}
}
