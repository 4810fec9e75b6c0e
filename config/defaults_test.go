package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/longtailhq/longtail/config"
)

// The configuration every command reads, and the one logged at start, is
// the one that runs: an empty file gives the documented defaults, not the
// zeros the engines used to replace behind the log's back.
func TestLoadAppliesEveryDefaultOnce(t *testing.T) {
	t.Parallel()
	empty := filepath.Join(t.TempDir(), "empty.yaml")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		path     string
		explicit bool
	}{
		{"no file", "", false},
		{"empty file", empty, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Load(tc.path, tc.explicit, nil)
			if err != nil {
				t.Fatal(err)
			}
			m := cfg.Masked()
			for key, want := range map[string]any{
				"scoring.threshold":               30.0,
				"scoring.half_life":               "30d",
				"scoring.rearm_fraction":          0.5,
				"scoring.dedup_retention":         "3d",
				"scoring.timeline_length":         100,
				"scoring.rfm.frequency_window":    "90d",
				"handoff.claim_sla":               "24h",
				"handoff.routing":                 []string{"owner", "territory", "round_robin"},
				"handoff.no_answer_retries":       3,
				"handoff.business_hours.start":    "09:00",
				"handoff.business_hours.days":     []string{"mon", "tue", "wed", "thu", "fri"},
				"handoff.business_hours.timezone": "UTC",
				"webhooks.max_age":                "24h",
				"worker.task_check_interval":      "50ms",
				"http.shutdown_timeout":           "15s",
			} {
				if got := m[key]; !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", key, got, want)
				}
			}
			if got := cfg.Scoring.Points["deal.registered"]; got != 15 {
				t.Errorf("scoring.points[deal.registered] = %v, want the default 15", got)
			}
			// Applying the defaults again changes nothing: what was
			// logged is what the engines run on.
			if again := cfg.Scoring.WithDefaults(); !reflect.DeepEqual(again, cfg.Scoring) {
				t.Errorf("scoring defaults not stable:\n got %+v\nwant %+v", again, cfg.Scoring)
			}
			if again := cfg.Handoff.Config.WithDefaults(); !reflect.DeepEqual(again, cfg.Handoff.Config) {
				t.Errorf("handoff defaults not stable:\n got %+v\nwant %+v", again, cfg.Handoff.Config)
			}
		})
	}
}

// A value set explicitly survives the defaults, including "0" where zero
// means off.
func TestLoadKeepsSetValuesOverDefaults(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "longtail.yaml")
	body := "scoring:\n  threshold: 45\n  half_life: 14d\nhandoff:\n  routing: [territory]\nwebhooks:\n  max_age: 0\n"
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(p, true, []string{"LONGTAIL_HANDOFF_CLAIM_SLA=8h"})
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Masked()
	for key, want := range map[string]any{
		"scoring.threshold": 45.0, "scoring.half_life": "14d", "handoff.routing": []string{"territory"},
		"handoff.claim_sla": "8h", "webhooks.max_age": "0s",
	} {
		if got := m[key]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", key, got, want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{30 * 24 * time.Hour, "30d"},
		{2 * 24 * time.Hour, "2d"},
		{24 * time.Hour, "24h"},
		{90 * time.Minute, "1h30m"},
		{72*time.Hour + 30*time.Minute, "72h30m"},
		{15 * time.Second, "15s"},
		{50 * time.Millisecond, "50ms"},
		{0, "0s"},
	} {
		if got := config.FormatDuration(tc.in); got != tc.want {
			t.Errorf("FormatDuration(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
