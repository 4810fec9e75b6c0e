package clientip_test

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/longtailhq/longtail/internal/clientip"
)

func TestAddr(t *testing.T) {
	t.Parallel()
	res := clientip.New([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")})
	tests := []struct {
		name   string
		peer   string
		xff    []string
		want   string
		asText string // String when it differs from want
	}{
		{name: "direct client", peer: "203.0.113.9:5000", want: "203.0.113.9"},
		{name: "direct client's own header is ignored", peer: "203.0.113.9:5000", xff: []string{"198.51.100.1"}, want: "203.0.113.9"},
		{name: "through the proxy", peer: "10.0.0.2:443", xff: []string{"203.0.113.9"}, want: "203.0.113.9"},
		{name: "a client's forged entry stays left of its real one", peer: "10.0.0.2:443", xff: []string{"198.51.100.1, 203.0.113.9"}, want: "203.0.113.9"},
		{name: "two proxies", peer: "10.0.0.2:443", xff: []string{"203.0.113.9, 10.9.9.9"}, want: "203.0.113.9"},
		{name: "header split over lines", peer: "10.0.0.2:443", xff: []string{"198.51.100.1", "203.0.113.9", "10.9.9.9"}, want: "203.0.113.9"},
		{name: "IPv6 client through an IPv6 proxy", peer: "[fd00::2]:443", xff: []string{"2001:db8::7"}, want: "2001:db8::7"},
		{name: "IPv4-mapped proxy", peer: "[::ffff:10.0.0.2]:443", xff: []string{"203.0.113.9"}, want: "203.0.113.9"},
		{name: "entry with a port", peer: "10.0.0.2:443", xff: []string{"[2001:db8::7]:1234"}, want: "2001:db8::7"},
		{name: "junk stops at the last trusted hop", peer: "10.0.0.2:443", xff: []string{"203.0.113.9, junk, 10.9.9.9"}, want: "10.9.9.9"},
		{name: "proxy without a header", peer: "10.0.0.2:443", want: "10.0.0.2"},
		{name: "only proxies", peer: "10.0.0.2:443", xff: []string{"10.1.1.1"}, want: "10.1.1.1"},
		{name: "unreadable peer", peer: "@", want: "invalid IP", asText: "@"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &http.Request{RemoteAddr: tc.peer, Header: http.Header{}}
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := res.Addr(r).String(); got != tc.want {
				t.Errorf("Addr = %s, want %s", got, tc.want)
			}
			want := tc.want
			if tc.asText != "" {
				want = tc.asText
			}
			if got := res.String(r); got != want {
				t.Errorf("String = %s, want %s", got, want)
			}
		})
	}
	// Trusting nobody, the header never counts.
	r := &http.Request{RemoteAddr: "10.0.0.2:443", Header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}}
	if got := (&clientip.Resolver{}).String(r); got != "10.0.0.2" {
		t.Errorf("zero Resolver: %s, want the peer", got)
	}
}
