package cronspec

import (
	"strings"
	"testing"
	"time"
)

func TestParseNext(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		spec, from, want string
	}{
		{"15 2 * * *", "2026-12-06T20:00:00Z", "2026-12-07T02:15:00Z"},
		// No CRON_TZ: UTC, even when handed a time in another zone.
		{"15 2 * * *", "2026-12-06T21:00:00+01:00", "2026-12-07T02:15:00Z"},
		{"CRON_TZ=UTC 0 7 * * 1-5", "2026-12-05T08:00:00Z", "2026-12-07T07:00:00Z"}, // Saturday → Monday
		{"CRON_TZ=Europe/Paris 0 7 * * *", "2026-12-06T07:00:00Z", "2026-12-07T06:00:00Z"},
		{"TZ=America/New_York @daily", "2026-12-06T12:00:00Z", "2026-12-07T05:00:00Z"},
		{"@hourly", "2026-12-06T20:59:59.9Z", "2026-12-06T21:00:00Z"},
		// @every is aligned: the same ticks whenever the process started.
		{"@every 1m", "2026-12-06T20:00:31.5Z", "2026-12-06T20:01:00Z"},
		{"@every 1m", "2026-12-06T20:00:02Z", "2026-12-06T20:01:00Z"},
		{"@every 1s", "2026-12-06T20:00:02.999Z", "2026-12-06T20:00:03Z"},
		{"@every 1s", "2026-12-06T20:00:03Z", "2026-12-06T20:00:04Z"},
		{"  @every 15m  ", "2026-12-06T20:14:00Z", "2026-12-06T20:15:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.spec+" from "+tt.from, func(t *testing.T) {
			t.Parallel()
			s, err := Parse(tt.spec)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.spec, err)
			}
			got := s.Next(at(tt.from))
			if want := at(tt.want); !got.Equal(want) {
				t.Errorf("Next(%s) = %s, want %s", tt.from, got.UTC().Format(time.RFC3339Nano), tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec, wantErr string
	}{
		{"", "empty cron spec"},
		{"   ", "empty cron spec"},
		// robfig's parser panics on these two (slice out of range).
		{"CRON_TZ=Europe/Paris", "nothing after the time zone"},
		{"TZ=UTC", "nothing after the time zone"},
		// ...and reads an empty zone as UTC.
		{"CRON_TZ= 0 7 * * *", "names no time zone"},
		{"CRON_TZ=Mars/Olympus 0 7 * * *", "bad location"},
		{"CRON_TZ=UTC   ", "nothing after the time zone"},
		{"0 7 * *", "expected exactly 5 fields"},
		{"61 * * * *", "above maximum"},
		{"*/0 * * * *", "step"},
		{"0 0 30 2 *", "never fires"},
		{"@fortnightly", "unrecognized descriptor"},
		{"@every", "unrecognized descriptor"},
		{"@every soon", "not a duration"},
		{"@every 0s", "at least 1s"},
		{"@every -1m", "at least 1s"},
		{"@every 1500ms", "whole number of seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			s, err := Parse(tt.spec)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error containing %q", tt.spec, s, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse(%q) error %q, want it to contain %q", tt.spec, err, tt.wantErr)
			}
		})
	}
}
