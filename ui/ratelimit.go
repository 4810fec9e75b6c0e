package ui

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// maxTracked bounds the clients the limiter remembers.
const maxTracked = 10000

// limiter is a token bucket per client: burst attempts, one more back
// every window/burst. In memory: each process limits on its own, which is
// enough to make guessing a 256-bit token pointless and to slow a
// stolen-token stuffing run.
type limiter struct {
	mu      sync.Mutex
	burst   float64
	every   time.Duration
	clock   func() time.Time
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(burst int, window time.Duration, clock func() time.Time) *limiter {
	return &limiter{burst: float64(burst), every: window / time.Duration(burst), clock: clock, buckets: map[string]*bucket{}}
}

// allow takes one attempt for key. When none is left it returns false and
// how long until the next one.
func (l *limiter) allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxTracked {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens < 1 {
		wait := time.Duration((1 - b.tokens) * float64(l.every))
		return false, wait
	}
	b.tokens--
	return true, 0
}

func (l *limiter) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.at); el > 0 && l.every > 0 {
		b.tokens = min(l.burst, b.tokens+float64(el)/float64(l.every))
	}
	b.at = now
}

// prune forgets clients whose bucket is full again; if that frees
// nothing, it forgets everyone: bounded memory matters more than an
// attacker with ten thousand addresses keeping a few more guesses.
func (l *limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxTracked {
		clear(l.buckets)
	}
}

// remoteIP is the default client key: the peer address without its port.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
