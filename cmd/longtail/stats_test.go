package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/repqueue"
)

func TestHumanDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{72*time.Minute + 13*time.Second + 5*time.Millisecond, "1h12m"},
		{2 * time.Hour, "2h"},
		{4*time.Minute + 5*time.Second + 400*time.Millisecond, "4m5s"},
		{12 * time.Minute, "12m"},
		{1234567 * time.Nanosecond, "1ms"},
		{0, "0s"},
	} {
		if got := humanDuration(tc.in); got != tc.want {
			t.Errorf("humanDuration(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPrintStatsWritesDurationsForPeople(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	printStats(&b, &repqueue.Stats{Handoffs: 4, Claimed: 3, MedianTimeToClaim: 72 * time.Minute, P90TimeToClaim: 5*time.Hour + 3*time.Minute,
		Outcomes: map[string]int{"converted": 1, "not_now": 2}, ConversionRate: 0.25})
	for _, want := range []string{"median time to claim  1h12m", "p90 time to claim     5h3m", "conversion rate       25.0%", "outcomes              converted 1, not_now 2"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("stats do not contain %q:\n%s", want, b.String())
		}
	}
}

// `handoff stats` on a running instance: durations for a person by
// default, the HTTP API's _seconds fields with --json, never a bare
// count of nanoseconds.
func TestHandoffStatsCommand(t *testing.T) {
	t.Parallel()
	s, env := exampleService(t)
	if code := doAs(t, s, testAPIKey, "POST", "/v1/reps/rep-anne/queue/acme-it/claim", "", nil); code != 200 {
		t.Fatalf("claim = %d", code)
	}
	var stdout, stderr syncBuffer
	if err := run(context.Background(), []string{"handoff", "stats", "rep-anne"}, env, &stdout, &stderr); err != nil {
		t.Fatalf("handoff stats: %v\n%s", err, stderr.String())
	}
	if !regexp.MustCompile(`(?m)^median time to claim\s+\d+(\.\d+)?(ms|s)$`).MatchString(stdout.String()) || !strings.Contains(stdout.String(), "claimed               1") {
		t.Errorf("handoff stats:\n%s", stdout.String())
	}
	var jsonOut syncBuffer
	if err := run(context.Background(), []string{"handoff", "stats", "--json"}, env, &jsonOut, &stderr); err != nil {
		t.Fatalf("handoff stats --json: %v\n%s", err, stderr.String())
	}
	var js map[string]any
	if err := json.Unmarshal([]byte(jsonOut.String()), &js); err != nil {
		t.Fatal(err)
	}
	if sec, ok := js["median_time_to_claim_seconds"].(float64); !ok || sec < 0 || sec > 60 {
		t.Errorf("median_time_to_claim_seconds = %v in %s", js["median_time_to_claim_seconds"], jsonOut.String())
	}
}
