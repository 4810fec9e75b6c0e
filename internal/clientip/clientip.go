// Package clientip names the client of an HTTP request: the peer that
// connected, or, when that peer is one of the operator's reverse proxies,
// the address the proxies recorded in X-Forwarded-For.
//
// X-Forwarded-For is a list each proxy appends its own peer to, so only
// its right end was written by proxies we trust; anything to the left of
// the first untrusted address may be the client's own invention. The
// resolver therefore walks the list from the right, past trusted proxies,
// and stops at the first address it does not trust. A peer that is not a
// trusted proxy has its header ignored altogether, so a client cannot pick
// its own address by sending one.
package clientip

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver names clients. The zero Resolver trusts no proxy.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a resolver that believes X-Forwarded-For from peers in
// trusted (IPv4 prefixes match IPv4-mapped IPv6 peers as well).
func New(trusted []netip.Prefix) *Resolver {
	return &Resolver{trusted: append([]netip.Prefix(nil), trusted...)}
}

// Addr returns the client's address, or the zero Addr when the peer
// address itself cannot be read (a test transport, a unix socket).
func (res *Resolver) Addr(r *http.Request) netip.Addr {
	client, ok := parse(r.RemoteAddr)
	if !ok || !res.trusts(client) {
		return client
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		entries := strings.Split(hops[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			a, ok := parse(entries[j])
			if !ok {
				// A trusted proxy passed on what is not an address: the
				// last hop known is the best answer.
				return client
			}
			client = a
			if !res.trusts(a) {
				return a
			}
		}
	}
	return client
}

// String is Addr as text, or the raw peer address when Addr cannot read
// it, so that unreadable peers are still told apart.
func (res *Resolver) String(r *http.Request) string {
	if a := res.Addr(r); a.IsValid() {
		return a.String()
	}
	return r.RemoteAddr
}

func (res *Resolver) trusts(a netip.Addr) bool {
	for _, p := range res.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parse reads "addr", "addr:port" or "[addr]:port", IPv4-mapped addresses
// unmapped and zones dropped.
func parse(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}
