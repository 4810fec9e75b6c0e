package repqueue

import (
	"strings"
	"testing"
	"time"
)

func TestBusinessHoursAdd(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	std, err := newBusinessHours(Config{}.withDefaults().BusinessHours)
	if err != nil {
		t.Fatal(err)
	}
	utc := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	inParis := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, paris)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// 2026-11-20 is a Friday, 2026-11-25 a Wednesday.
	tests := []struct {
		name  string
		hours businessHours
		from  time.Time
		d     time.Duration
		want  time.Time
	}{
		{"friday 16:00 + 24h lands wednesday 16:00", std, utc("2026-11-20 16:00"), 24 * time.Hour, utc("2026-11-25 16:00")},
		{"within the day", std, utc("2026-11-16 10:00"), 3 * time.Hour, utc("2026-11-16 13:00")},
		{"exactly to closing", std, utc("2026-11-16 09:00"), 8 * time.Hour, utc("2026-11-16 17:00")},
		{"one minute past closing rolls over", std, utc("2026-11-16 09:00"), 8*time.Hour + time.Minute, utc("2026-11-17 09:01")},
		{"before opening starts at opening", std, utc("2026-11-16 06:30"), time.Hour, utc("2026-11-16 10:00")},
		{"after closing starts next morning", std, utc("2026-11-16 20:00"), time.Hour, utc("2026-11-17 10:00")},
		{"saturday starts monday", std, utc("2026-11-21 11:00"), 2 * time.Hour, utc("2026-11-23 11:00")},
		{"zero moves into hours", std, utc("2026-11-21 11:00"), 0, utc("2026-11-23 09:00")},
		{"zero inside hours stays", std, utc("2026-11-16 11:00"), 0, utc("2026-11-16 11:00")},
		{"thursday 12:00 + 16h", std, utc("2026-11-19 12:00"), 16 * time.Hour, utc("2026-11-23 12:00")},
		{"a rep's zone: 09-17 in Paris is 08-16 UTC in winter", std.in(paris), utc("2026-11-16 15:30"), time.Hour, inParis("2026-11-17 09:30")},
		// 2026-03-29 is the Sunday clocks go forward in Paris.
		{"across a clock change", std.in(paris), inParis("2026-03-27 16:00"), 2 * time.Hour, inParis("2026-03-30 10:00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.hours.add(tt.from, tt.d); !got.Equal(tt.want) {
				t.Errorf("add(%s, %s) = %s, want %s", tt.from, tt.d, got, tt.want)
			}
		})
	}
	t.Run("custom days and hours", func(t *testing.T) {
		t.Parallel()
		b, err := newBusinessHours(BusinessHours{Start: "08:00", End: "12:00", Days: []string{"sat"}, Timezone: "UTC"})
		if err != nil {
			t.Fatal(err)
		}
		// Monday → the Saturday's 4 hours, then the next Saturday's.
		if got, want := b.add(utc("2026-11-16 10:00"), 5*time.Hour), utc("2026-11-28 09:00"); !got.Equal(want) {
			t.Errorf("got %s, want %s", got, want)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error, "" for valid
	}{
		{"zero", Config{}, ""},
		{"full", Config{ClaimSLA: 4 * time.Hour, Routing: []string{"territory", "owner"},
			BusinessHours: BusinessHours{Start: "08:30", End: "18:00", Days: []string{"Mon", "sat"}, Timezone: "Europe/Paris"},
			Territories:   []Territory{{Name: "emea", Regions: []string{"EMEA"}, Reps: []string{"r1"}}}}, ""},
		{"negative sla", Config{ClaimSLA: -time.Hour}, "handoff.claim_sla"},
		{"bad start", Config{BusinessHours: BusinessHours{Start: "9am"}}, "handoff.business_hours.start"},
		{"start after end", Config{BusinessHours: BusinessHours{Start: "18:00"}}, "handoff.business_hours: start 18:00 must be before end 17:00"},
		{"bad day", Config{BusinessHours: BusinessHours{Days: []string{"mon", "funday"}}}, "handoff.business_hours.days[1]"},
		{"bad zone", Config{BusinessHours: BusinessHours{Timezone: "Mars/Base"}}, "handoff.business_hours.timezone"},
		{"bad step", Config{Routing: []string{"owner", "lottery"}}, "handoff.routing[1]"},
		{"repeated step", Config{Routing: []string{"owner", "owner"}}, "handoff.routing[1]"},
		{"territory without reps", Config{Territories: []Territory{{Name: "x"}}}, "handoff.territories[0].reps"},
		{"territory without name", Config{Territories: []Territory{{Reps: []string{"a"}}}}, "handoff.territories[0].name"},
		{"retries", Config{NoAnswerRetries: -1}, "handoff.no_answer_retries"},
		{"reasons", Config{ReasonsMax: 99}, "handoff.reasons_max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
