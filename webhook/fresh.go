package webhook

import (
	"fmt"
	"time"
)

// CheckAge enforces the replay window for providers that sign a timestamp.
// maxAge 0 disables the check. A timestamp too far in the future (more than
// maxAge ahead, to allow for clock skew) is refused as well.
func CheckAge(signed, now time.Time, maxAge time.Duration) error {
	if maxAge <= 0 {
		return nil
	}
	d := now.Sub(signed)
	if d > maxAge || d < -maxAge {
		return fmt.Errorf("%w: signed timestamp %s is outside the %s replay window", ErrUnauthorized, signed.UTC().Format(time.RFC3339), maxAge)
	}
	return nil
}
