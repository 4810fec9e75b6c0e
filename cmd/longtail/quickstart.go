package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
)

// adminKeyPrefix starts every admin key serve generates, so a pasted key
// is recognisable in a shell history or a support ticket.
const adminKeyPrefix = "lt_admin_"

// newAdminKey returns a random admin API key: 128 bits, hex.
func newAdminKey() (string, error) {
	k, err := randomHex(16)
	if err != nil {
		return "", fmt.Errorf("generate an admin key: %w", err)
	}
	return adminKeyPrefix + k, nil
}

// newTrackingSecret is tracking.secret for one run on the embedded default:
// the open, click and unsubscribe links of this run's emails verify only
// while serve runs, as nothing else of the run outlives it either.
func newTrackingSecret() (string, error) {
	k, err := randomHex(32)
	if err != nil {
		return "", fmt.Errorf("generate a tracking secret: %w", err)
	}
	return k, nil
}

// randomHex is n random bytes in hex.
func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// quickStart is what serve prints, once, on the embedded default: where
// the other commands find its Redis and, when serve generated it, the
// admin key with curl lines to paste. Without it the first run of
// `longtail serve` led nowhere: every /v1 call answered 401 and every
// other command refused to run without redis.url.
type quickStart struct {
	// RedisURL is the embedded Redis on loopback.
	RedisURL string
	// BaseURL is the HTTP listener as a client reaches it ("" when this
	// process serves no HTTP).
	BaseURL string
	// AdminKey was generated for this run ("" when api.keys is set).
	AdminKey string
}

func (q quickStart) print(w io.Writer) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Embedded Redis on loopback (nothing is persisted). Paste into another shell, so that")
	fmt.Fprintln(w, "import, reps token, score explain and simulate work on this instance:")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "export LONGTAIL_REDIS_URL=%s\n", q.RedisURL)
	if q.AdminKey == "" || q.BaseURL == "" {
		fmt.Fprintln(w)
		return
	}
	// KEY is a plain shell variable for curl, not exported: longtail
	// refuses LONGTAIL_ variables that name no configuration key, and
	// this key lives only as long as this process.
	fmt.Fprintf(w, "KEY=%s\n", q.AdminKey)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "KEY is this run's admin API key, generated because api.keys is empty: shown once, valid")
	fmt.Fprintln(w, "until serve stops. Then, from the repository root (the README's quick start):")
	fmt.Fprintln(w)
	auth := "-H 'Authorization: Bearer " + q.AdminKey + "'"
	fmt.Fprintf(w, "  curl -s %s -H 'Content-Type: application/x-ndjson' --data-binary @examples/events.ndjson %s/v1/events\n", auth, q.BaseURL)
	fmt.Fprintf(w, "  curl -s %s '%s/v1/leaderboard?limit=5'\n", auth, q.BaseURL)
	fmt.Fprintf(w, "  curl -s %s %s/v1/reps/rep-anne/queue\n", auth, q.BaseURL)
	fmt.Fprintln(w)
}

// clientURL is the http:// URL a client on this machine uses to reach a
// listener: an unspecified host (":8080", "[::]:8080") becomes localhost.
func clientURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
