package event_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/event"
)

func TestCheckTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		at      time.Time
		skew    time.Duration
		flag    string
		errHas  []string
		warnHas string
	}{
		{"now", now, 0, "", nil, ""},
		{"within the default day", now.Add(23 * time.Hour), 0, "", nil, ""},
		{"just beyond the default day", now.Add(25 * time.Hour), 0, "", []string{"occurred_at", "2026-12-07T13:00:00Z", "25h in the future", "24h allowed", "ingest.max_future_skew"}, ""},
		{"next year", time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC), 0, "", []string{"84 days in the future"}, ""},
		{"a configured skew", now.Add(2 * time.Hour), time.Hour, "", []string{"2h in the future", "1h allowed"}, ""},
		{"last year", now.AddDate(-1, 0, 0), 0, "", nil, ""},
		{"2000 exactly", event.PlausibleSince, 0, "", nil, ""},
		{"1999", time.Date(1999, 12, 31, 23, 0, 0, 0, time.UTC), 0, event.FlagBefore2000, nil, "1999-12-31T23:00:00Z is before 2000"},
		{"the Unix epoch", time.Unix(0, 0), 0, event.FlagBefore2000, nil, "zero timestamp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev := event.Event{ID: "x", Type: event.WebVisit, Email: "a@b.example", OccurredAt: tc.at}
			flag, warn, err := ev.CheckTime(now, tc.skew)
			if (err != nil) != (tc.errHas != nil) {
				t.Fatalf("err = %v, want error %v", err, tc.errHas != nil)
			}
			if err != nil && !errors.Is(err, event.ErrInvalid) {
				t.Errorf("err %v does not wrap ErrInvalid", err)
			}
			for _, s := range tc.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("err %q lacks %q", err, s)
				}
			}
			if flag != tc.flag || !strings.Contains(warn, tc.warnHas) || (tc.warnHas == "") != (warn == "") {
				t.Errorf("flag %q warning %q, want %q with %q", flag, warn, tc.flag, tc.warnHas)
			}
		})
	}
}
