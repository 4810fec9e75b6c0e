package activity

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
)

var noon = time.Date(2026, 11, 16, 12, 0, 30, 0, time.UTC)

func setup(t *testing.T, cfg Config) (*Store, *testclock.Clock) {
	t.Helper()
	clock := testclock.New(noon)
	cfg.Clock = clock.Now
	s, err := New(redistest.New(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, clock
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero is the defaults", Config{}, true},
		{"minutes too many", Config{Minutes: 1441}, false},
		{"negative days", Config{Days: -1}, false},
		{"days too many", Config{Days: 401}, false},
		{"negative timeout", Config{EmailTimeout: -time.Second}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestRecordAndRead: a batch counts in its minute and each event in its
// day; reads see exactly what was written, once.
func TestRecordAndRead(t *testing.T) {
	t.Parallel()
	s, clock := setup(t, Config{Minutes: 10, Days: 3})
	ctx := context.Background()
	yesterday := noon.AddDate(0, 0, -1)
	evs := []Scored{
		{Type: event.EmailClick, Topic: "security", OccurredAt: noon, Points: 5},
		{Type: event.EmailClick, Topic: "security", OccurredAt: noon, Points: 5},
		{Type: event.WebVisit, Topic: "storage", OccurredAt: yesterday, Points: 3},
		{Type: event.EmailOpen, OccurredAt: noon, Points: 1},
		// Too old for the daily window: the minute only.
		{Type: event.EmailOpen, Topic: "old", OccurredAt: noon.AddDate(0, 0, -10), Points: 1},
	}
	if err := s.Record(ctx, evs); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if err := s.Record(ctx, evs[:2]); err != nil {
		t.Fatal(err)
	}
	if err := s.CountEmail(ctx, "sent"); err != nil {
		t.Fatal(err)
	}
	s.ObserveEmail("nurture", "welcome", "deferred")
	clock.Advance(time.Minute)

	got, err := s.PerMinute(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{0, 5, 2}, got); diff != "" {
		t.Errorf("PerMinute (-want, +got):\n%s", diff)
	}
	days, err := s.Days(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []Day{
		{Date: "2026-11-15", Types: map[string]int64{"web.visit": 1}, Topics: map[string]float64{"storage": 3}, Emails: map[string]int64{}},
		{Date: "2026-11-16", Types: map[string]int64{"email.click": 4, "email.open": 1}, Topics: map[string]float64{"security": 20},
			Emails: map[string]int64{"sent": 1, "deferred": 1}},
	}
	if diff := cmp.Diff(want, days); diff != "" {
		t.Errorf("Days (-want, +got):\n%s", diff)
	}
}

// TestBounded: buckets expire with the window, so the series stay small
// whatever the traffic.
func TestBounded(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t)
	clock := testclock.New(noon)
	s, err := New(rdb, Config{Minutes: 5, Days: 2, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Record(ctx, []Scored{{Type: event.EmailOpen, OccurredAt: noon}}); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]time.Duration{
		// The rest of the minute (30s) and 5 more.
		minuteKey(noon.Unix() / 60): 5*time.Minute + 30*time.Second,
		// The rest of the day and 2 more.
		dayTypesKey("2026-11-16"): 2*24*time.Hour + 12*time.Hour - 30*time.Second,
	} {
		got, err := rdb.TTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		// TTL rounds down to the second and the test takes time.
		if got > want || got < want-2*time.Second {
			t.Errorf("%s expires in %v, want %v", key, got, want)
		}
	}
	if _, err := s.PerMinute(ctx, 6); err == nil {
		t.Error("PerMinute beyond the kept window: no error")
	}
	if _, err := s.Days(ctx, 3); err == nil {
		t.Error("Days beyond the kept window: no error")
	}
}

func TestObserveEmailReportsErrors(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t)
	var got error
	s, err := New(rdb, Config{OnError: func(err error) { got = err }})
	if err != nil {
		t.Fatal(err)
	}
	// A key of the wrong type makes the write fail.
	if err := rdb.Set(context.Background(), dayEmailsKey(dayOf(time.Now())), "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.ObserveEmail("handoff", "", "sent")
	if got == nil {
		t.Fatal("a failed email count was not reported")
	}
}
