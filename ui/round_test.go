package ui

import "testing"

func TestRound1(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want float64 }{
		{8.14, 8.1}, {8.15, 8.2}, {-8.14, -8.1}, {-8.16, -8.2}, {-0.04, 0}, {0, 0},
	} {
		if got := round1(tc.in); got != tc.want {
			t.Errorf("round1(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
