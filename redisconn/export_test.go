package redisconn

import "time"

// StartEmbeddedAt starts the embedded server at start with its clock moved
// only by what the test sends on ticks.
func StartEmbeddedAt(start time.Time, ticks <-chan time.Time) (*EmbeddedServer, error) {
	return startEmbedded(start, ticks, func() {})
}
