package flow_test

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/longtailhq/longtail/nurture/flow"
)

func mustLoad(t *testing.T, files map[string]string) *flow.Set {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	set, err := flow.Load(fsys, flow.Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return set
}

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("zone %s: %v", name, err)
	}
	return loc
}

func window(t *testing.T, hours string, days ...string) flow.Window {
	t.Helper()
	w, err := flow.WindowSpec{Days: days, Hours: hours}.Window()
	if err != nil {
		t.Fatalf("window %v %s: %v", days, hours, err)
	}
	return w
}

var weekdays = []string{"mon", "tue", "wed", "thu", "fri"}

// utc reads "2006-01-02 15:04:05" as UTC.
func utc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.DateTime, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Clocks change in 2026: Paris on Sun 29 March (02:00 CET → 03:00 CEST)
// and Sun 25 October (03:00 CEST → 02:00 CET); New York on Sun 8 March
// (02:00 EST → 03:00 EDT) and Sun 1 November (02:00 EDT → 01:00 EST);
// Sydney on Sun 5 April (03:00 AEDT → 02:00 AEST).
func TestWindowNextAllowed(t *testing.T) {
	t.Parallel()
	paris, ny, sydney := zone(t, "Europe/Paris"), zone(t, "America/New_York"), zone(t, "Australia/Sydney")
	office := window(t, "09:00-17:30", weekdays...)
	tests := []struct {
		name string
		w    flow.Window
		loc  *time.Location
		now  string // UTC
		want string // UTC
	}{
		{"inside", office, paris, "2026-03-04 10:00:00", "2026-03-04 10:00:00"},
		{"before opening", office, paris, "2026-03-04 07:59:30", "2026-03-04 08:00:00"},
		{"at closing", office, paris, "2026-03-04 16:30:00", "2026-03-05 08:00:00"},
		{"a second before closing", office, paris, "2026-03-04 16:29:59", "2026-03-04 16:29:59"},
		{"friday evening, over the spring change, to monday 09:00 CEST", office, paris, "2026-03-27 17:00:00", "2026-03-30 07:00:00"},
		{"friday evening, over the autumn change, to monday 09:00 CET", office, paris, "2026-10-23 16:00:00", "2026-10-26 08:00:00"},
		{"new york weekend before spring change", office, ny, "2026-03-06 23:00:00", "2026-03-09 13:00:00"},
		{"new york weekend before autumn change", office, ny, "2026-10-30 22:00:00", "2026-11-02 14:00:00"},
		{"sydney weekend over its autumn change", office, sydney, "2026-04-03 08:00:00", "2026-04-05 23:00:00"},
		{"always", flow.Window{Always: true}, paris, "2026-03-29 01:30:00", "2026-03-29 01:30:00"},
		{"a whole day", window(t, "00:00-24:00", "sun"), paris, "2026-03-28 22:59:59", "2026-03-28 23:00:00"},
		{"end 24:00 includes 23:59", window(t, "22:00-24:00", "sun"), paris, "2026-03-29 21:59:00", "2026-03-29 21:59:00"},
		{"opening in the skipped hour comes as far past the jump", window(t, "02:30-04:00", "sun"), paris, "2026-03-29 00:00:00", "2026-03-29 01:30:00"},
		{"inside a window across the skipped hour", window(t, "01:00-05:00", "sun"), paris, "2026-03-29 01:10:00", "2026-03-29 01:10:00"},
		{"repeated hour, first pass, after the opening", window(t, "01:30-01:45", "sun"), ny, "2026-11-01 05:40:00", "2026-11-01 05:40:00"},
		{"repeated hour, second pass, before the opening", window(t, "01:30-01:45", "sun"), ny, "2026-11-01 06:10:20", "2026-11-01 06:30:00"},
		{"repeated hour, second pass, inside", window(t, "01:30-01:45", "sun"), ny, "2026-11-01 06:31:00", "2026-11-01 06:31:00"},
		{"a week ahead", window(t, "09:00-10:00", "wed"), paris, "2026-03-04 09:00:00", "2026-03-11 08:00:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			now := utc(t, tc.now)
			got := tc.w.NextAllowed(now, tc.loc)
			if want := utc(t, tc.want); !got.Equal(want) {
				t.Errorf("NextAllowed(%s) = %s (%s), want %s", now, got.UTC(), got.In(tc.loc), want)
			}
			if !tc.w.Contains(got, tc.loc) {
				t.Errorf("NextAllowed(%s) = %s is outside the window", now, got.In(tc.loc))
			}
		})
	}
}

// NextAllowed is the first whole minute (or now) inside the window: checked
// against a walk minute by minute, at instants spread over a year and
// packed around the clock changes, in zones with whole-hour, half-hour and
// no daylight saving, for windows that do not open in a repeated hour
// (where "first" has two answers).
func TestWindowNextAllowedAgainstAWalk(t *testing.T) {
	t.Parallel()
	windows := []flow.Window{
		window(t, "09:00-17:30", weekdays...),
		window(t, "08:00-18:00", "sat"),
		window(t, "22:30-23:45", "sun", "wed"),
		window(t, "00:00-24:00", "tue"),
		window(t, "03:00-03:20", "sun"),
	}
	zones := map[string][]string{ // zone → its 2026 clock changes, UTC
		"Europe/Paris":        {"2026-03-29 01:00:00", "2026-10-25 01:00:00"},
		"America/New_York":    {"2026-03-08 07:00:00", "2026-11-01 06:00:00"},
		"Australia/Lord_Howe": {"2026-04-04 15:00:00", "2026-10-03 15:30:00"},
		"Asia/Kolkata":        nil,
	}
	for name, changes := range zones {
		loc := zone(t, name)
		var instants []time.Time
		start := utc(t, "2026-01-01 00:00:00")
		for i := range 60 { // every 6 days 1 hour 17 minutes 7 seconds
			instants = append(instants, start.Add(time.Duration(i)*(145*time.Hour+17*time.Minute+7*time.Second)))
		}
		for _, c := range changes { // every 97 minutes from a day before to a day after
			at := utc(t, c)
			for d := -24 * time.Hour; d < 24*time.Hour; d += 97 * time.Minute {
				instants = append(instants, at.Add(d+13*time.Second))
			}
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, now := range instants {
				for _, w := range windows {
					got := w.NextAllowed(now, loc)
					want := now
					if !w.Contains(now, loc) {
						want = now.Truncate(time.Minute).Add(time.Minute)
						for !w.Contains(want, loc) {
							want = want.Add(time.Minute)
						}
					}
					if !got.Equal(want) {
						t.Fatalf("window %s: NextAllowed(%s) = %s, want %s", w, now.In(loc), got.In(loc), want.In(loc))
					}
				}
			}
		})
	}
}

func TestWindowSpecErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec flow.WindowSpec
		want string
	}{
		{flow.WindowSpec{Hours: "09:00-17:00"}, "days: at least one day"},
		{flow.WindowSpec{Days: []string{"mon", "Mon"}, Hours: "09:00-17:00"}, `days[1]: "Mon" is listed twice`},
		{flow.WindowSpec{Days: []string{"monday"}, Hours: "09:00-17:00"}, `days[0]: "monday" is not a day`},
		{flow.WindowSpec{Days: []string{"mon"}, Hours: "9:00-17:00"}, `"9:00" is not a time of day`},
		{flow.WindowSpec{Days: []string{"mon"}, Hours: "09:00-24:30"}, `"24:30" is not a time of day`},
		{flow.WindowSpec{Days: []string{"mon"}, Hours: "24:00-24:00"}, `"24:00" is not a time of day`},
		{flow.WindowSpec{Days: []string{"mon"}, Hours: "17:00-09:00"}, "start must be before the end"},
		{flow.WindowSpec{Days: []string{"mon"}, Hours: "09:00"}, "is not hours"},
	}
	for _, tc := range tests {
		_, err := tc.spec.Window()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.spec, err, tc.want)
		}
	}
	w := window(t, "08:00-18:00", "fri", "mon")
	if s := w.String(); s != `{days: [mon, fri], hours: "08:00-18:00"}` {
		t.Errorf("String() = %s", s)
	}
}

func TestWaitUntil(t *testing.T) {
	t.Parallel()
	paris, ny := zone(t, "Europe/Paris"), zone(t, "America/New_York")
	tests := []struct {
		wait string
		loc  *time.Location
		from string // UTC
		want string // UTC
	}{
		{"3d", paris, "2026-03-28 09:00:00", "2026-03-31 09:00:00"}, // elapsed: 11:00 CEST, not 10:00
		{"36h", paris, "2026-03-28 09:00:00", "2026-03-29 21:00:00"},
		{"1d12h", paris, "2026-03-28 09:00:00", "2026-03-29 21:00:00"},
		{"90m", ny, "2026-03-08 06:30:00", "2026-03-08 08:00:00"},
		{"2 business days", paris, "2026-03-25 14:00:00", "2026-03-27 14:00:00"}, // wed → fri, 15:00 CET
		{"2 business days", paris, "2026-03-27 14:00:00", "2026-03-31 13:00:00"}, // fri 15:00 CET → tue 15:00 CEST
		{"1 business day", paris, "2026-03-28 09:00:00", "2026-03-30 08:00:00"},  // sat 10:00 CET → mon 10:00 CEST
		{"5 Business Days", ny, "2026-10-30 13:00:00", "2026-11-06 14:00:00"},    // fri 09:00 EDT → fri 09:00 EST
		{"until mon 09:00", paris, "2026-03-29 08:00:00", "2026-03-30 07:00:00"}, // sun 10:00 CEST
		{"until mon 09:00", paris, "2026-03-30 07:00:00", "2026-04-06 07:00:00"}, // at mon 09:00: the next one
		{"until mon 09:00", paris, "2026-03-30 06:59:00", "2026-03-30 07:00:00"},
		{"until 09:00", paris, "2026-03-28 09:00:00", "2026-03-29 07:00:00"},     // sat 10:00 CET → sun 09:00 CEST
		{"until sun 02:30", paris, "2026-03-28 11:00:00", "2026-03-29 01:30:00"}, // skipped: 03:30 CEST
		{"until 01:30", ny, "2026-11-01 06:10:00", "2026-11-01 06:30:00"},        // second 01:10 → second 01:30
		{"until 01:30", ny, "2026-11-01 05:10:00", "2026-11-01 05:30:00"},        // first 01:10 → first 01:30
	}
	for _, tc := range tests {
		w, err := flow.ParseWait(tc.wait)
		if err != nil {
			t.Fatalf("ParseWait(%q): %v", tc.wait, err)
		}
		from := utc(t, tc.from)
		got := w.Until(from, tc.loc)
		if want := utc(t, tc.want); !got.Equal(want) {
			t.Errorf("%q from %s: Until = %s (%s), want %s", tc.wait, from.In(tc.loc), got.UTC(), got.In(tc.loc), want)
		}
	}
}

func TestParseWait(t *testing.T) {
	t.Parallel()
	good := map[string]flow.Wait{
		"3d":              {Kind: flow.WaitDuration, Duration: 72 * time.Hour, Text: "3d"},
		"0.5d":            {Kind: flow.WaitDuration, Duration: 12 * time.Hour, Text: "0.5d"},
		"45s":             {Kind: flow.WaitDuration, Duration: 45 * time.Second, Text: "45s"},
		"1 business day":  {Kind: flow.WaitBusinessDays, Days: 1, Text: "1 business day"},
		"until fri 16:45": {Kind: flow.WaitUntil, Weekday: time.Friday, Clock: 16*60 + 45, Text: "until fri 16:45"},
		"until 00:00":     {Kind: flow.WaitUntil, AnyDay: true, Text: "until 00:00"},
	}
	for in, want := range good {
		got, err := flow.ParseWait(in)
		if err != nil || got != want {
			t.Errorf("ParseWait(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-3d", "3 days", "d", "1d3", "0 business days", "two business days",
		"until", "until mon", "until 24:00", "until someday 09:00", "until mon 9am", "until mon tue 09:00"} {
		if w, err := flow.ParseWait(in); err == nil {
			t.Errorf("ParseWait(%q) = %+v, want an error", in, w)
		}
	}
}

func TestCapNextAllowed(t *testing.T) {
	t.Parallel()
	now := utc(t, "2026-03-10 12:00:00")
	day := 24 * time.Hour
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	twoAWeek := flow.Cap{Count: 2, Per: 7 * day}
	tests := []struct {
		name string
		c    flow.Cap
		sent []time.Time
		want time.Time
	}{
		{"nothing sent", twoAWeek, nil, now},
		{"one sent", twoAWeek, []time.Time{ago(day)}, now},
		{"two sent: when the older leaves the week", twoAWeek, []time.Time{ago(day), ago(6 * day)}, now.Add(day)},
		{"older sends do not count", twoAWeek, []time.Time{ago(30 * day), ago(8 * day), ago(day), ago(6 * day)}, now.Add(day)},
		{"a send exactly a week ago has left", twoAWeek, []time.Time{ago(7 * day), ago(day)}, now},
		{"three in the week: the two oldest must leave", twoAWeek, []time.Time{ago(time.Hour), ago(2 * day), ago(3 * day)}, now.Add(5 * day)},
		{"a send stamped in the future still counts", twoAWeek, []time.Time{now.Add(time.Minute), ago(time.Hour)}, now.Add(7*day - time.Hour)},
		{"no cap", flow.Cap{}, []time.Time{ago(time.Minute), ago(time.Second)}, now},
		{"one a day", flow.Cap{Count: 1, Per: day}, []time.Time{ago(time.Hour)}, now.Add(23 * time.Hour)},
	}
	for _, tc := range tests {
		if got := tc.c.NextAllowed(now, tc.sent); !got.Equal(tc.want) {
			t.Errorf("%s: NextAllowed = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestNextSend(t *testing.T) {
	t.Parallel()
	paris := zone(t, "Europe/Paris")
	office := window(t, "09:00-17:30", weekdays...)
	c := flow.Cap{Count: 2, Per: 7 * 24 * time.Hour}
	now := utc(t, "2026-03-25 10:00:00") // wed 11:00 CET
	// Two sends: the older (thu 20:00 CET last week) leaves the week on
	// thu 20:00, after closing: the send waits for fri 09:00.
	sent := []time.Time{utc(t, "2026-03-19 19:00:00"), utc(t, "2026-03-24 08:00:00")}
	if got, want := flow.NextSend(now, office, paris, c, sent), utc(t, "2026-03-27 08:00:00"); !got.Equal(want) {
		t.Errorf("NextSend = %s, want %s", got.In(paris), want.In(paris))
	}
	if got := flow.NextSend(now, office, paris, c, sent[1:]); !got.Equal(now) {
		t.Errorf("NextSend under the cap, in the window = %s, want now", got)
	}
}

func TestZones(t *testing.T) {
	t.Parallel()
	berlin := zone(t, "Europe/Berlin")
	z := flow.NewZones(berlin)
	tests := []struct {
		names []string
		want  string
	}{
		{[]string{"America/Chicago", "Europe/Paris"}, "America/Chicago"},
		{[]string{"", "Europe/Paris"}, "Europe/Paris"},
		{[]string{"Mars/Olympus", "Asia/Tokyo"}, "Asia/Tokyo"},
		{[]string{"Local", ""}, "Europe/Berlin"},
		{nil, "Europe/Berlin"},
		{[]string{"Mars/Olympus"}, "Europe/Berlin"}, // remembered as unknown
	}
	for range 2 { // the second round reads the cache
		for _, tc := range tests {
			if got := z.For(tc.names...).String(); got != tc.want {
				t.Errorf("For(%q) = %s, want %s", tc.names, got, tc.want)
			}
		}
	}
	if got := flow.NewZones(nil).For(); got != time.UTC {
		t.Errorf("NewZones(nil) falls back to %s, want UTC", got)
	}
}
