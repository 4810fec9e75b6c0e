package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// The configuration logged at start is the one that runs: an empty
// configuration logs the defaults the engines use, not zeros.
func TestLoggedConfigShowsTheDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf syncBuffer
	logEffectiveConfig(newLogger(cfg.Log, &buf), cfg)
	var line struct {
		Config map[string]any `json:"config"`
	}
	if err := json.Unmarshal([]byte(buf.String()), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	for key, want := range map[string]any{
		"scoring.threshold": 30.0,
		"scoring.half_life": "30d",
		"handoff.claim_sla": "24h",
		"handoff.routing":   []any{"owner", "territory", "round_robin"},
	} {
		if got := line.Config[key]; !reflect.DeepEqual(got, want) {
			t.Errorf("logged %s = %#v, want %#v", key, got, want)
		}
	}
}

// simulate --json without --threshold reports the threshold it ran with.
func TestSimulateJSONShowsTheEffectiveThreshold(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "events.ndjson")
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).Format(time.RFC3339)
	body := `{"id":"d1","type":"webinar.attended","email":"a@acme.example","partner_id":"acme","occurred_at":"` + at + `"}` + "\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []float64
	}{
		{"default", nil, []float64{30}},
		{"flag", []string{"--threshold", "5,40"}, []float64{5, 40}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr syncBuffer
			args := append([]string{"simulate", "--events", path, "--json"}, tc.args...)
			if err := run(context.Background(), args, nil, &stdout, &stderr); err != nil {
				t.Fatalf("simulate: %v\n%s", err, stderr.String())
			}
			var rep simulation
			if err := json.Unmarshal([]byte(stdout.String()), &rep); err != nil {
				t.Fatal(err)
			}
			var got []float64
			for _, r := range rep.Runs {
				got = append(got, r.Threshold)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("thresholds = %v, want %v", got, tc.want)
			}
		})
	}
}
