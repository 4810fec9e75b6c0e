package ui

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// maxTracked bounds the clients the limiter remembers.
const maxTracked = 10000

// limiter is a token bucket per key (a client address, a token prefix):
// burst attempts, one more back every window/burst. In memory: each
// process limits on its own, which is enough to make guessing a 256-bit
// token pointless and to slow a stolen-token stuffing run.
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

// take takes one attempt from the bucket of every key, or from none: when
// any is empty it returns false and how long until all have one again.
// Taking before the attempt is judged (rather than counting failures
// after) keeps a burst of concurrent attempts within the limit too.
func (l *limiter) take(keys ...string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock()
	bs := make([]*bucket, len(keys))
	var wait time.Duration
	for i, key := range keys {
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
			wait = max(wait, time.Duration((1-b.tokens)*float64(l.every)))
		}
		bs[i] = b
	}
	if wait > 0 {
		return false, wait
	}
	for _, b := range bs {
		b.tokens--
	}
	return true, 0
}

// refund gives back the attempt take took for keys: the attempt turned
// out not to be a failure (a sign-in that worked, an error of ours).
func (l *limiter) refund(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, key := range keys {
		if b := l.buckets[key]; b != nil {
			b.tokens = min(l.burst, b.tokens+1)
		}
	}
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

// addrKey is the limiter key of a client address. An IPv6 client is
// counted by its /64, the block one subscriber gets, or changing the low
// bits would buy a fresh budget per address.
func addrKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "addr:" + ip
	}
	if a = a.Unmap(); a.Is6() {
		p, _ := a.Prefix(64)
		return "addr:" + p.String()
	}
	return "addr:" + a.String()
}

// tokenPrefixLen is how much of a submitted token names its budget: the
// "ltr_" marker and 8 characters (48 bits) of the secret, enough that a rep's
// budget is spent only by someone who already holds part of their token.
const tokenPrefixLen = 12

// tokenKey is the limiter key of a submitted token: failures from many
// addresses at one token are limited too.
func tokenKey(token string) string {
	if len(token) > tokenPrefixLen {
		token = token[:tokenPrefixLen]
	}
	return "token:" + token
}
