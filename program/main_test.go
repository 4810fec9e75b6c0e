package program_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the test binary when a goroutine outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// now is the injected time of every test: Sunday 6 December 2026, noon
// UTC, in 2026-Q4, so the last full quarter is 2026-Q3 (July–September),
// the one before 2026-Q2, and the 12 months run from 2025-12-06 12:00
// (excluded) to now.
var now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// day is midnight UTC of a YYYY-MM-DD date.
func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// months lists the first day of every month from "YYYY-MM" to "YYYY-MM",
// inclusive, skipping the ones in skip.
func months(from, to string, skip ...string) []time.Time {
	start, err := time.Parse("2006-01", from)
	if err != nil {
		panic(err)
	}
	end, err := time.Parse("2006-01", to)
	if err != nil {
		panic(err)
	}
	var out []time.Time
next:
	for m := start; !m.After(end); m = m.AddDate(0, 1, 0) {
		for _, s := range skip {
			if m.Format("2006-01") == s {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

func fp(v float64) *float64 { return &v }
