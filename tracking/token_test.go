package tracking

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func testSecret(b byte) []byte { return []byte(strings.Repeat(string(rune('a'+b%26)), MinSecretLen)) }

func newTestSigner(t testing.TB, secret []byte, previous ...[]byte) *Signer {
	t.Helper()
	s, err := NewSigner(secret, previous...)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s
}

func mustSign(t testing.TB, s *Signer, k Kind, c Claims) string {
	t.Helper()
	tok, err := s.Sign(k, c)
	if err != nil {
		t.Fatalf("Sign(%s, %+v): %v", k, c, err)
	}
	return tok
}

// typicalClaims look like what the nurture engine puts in a real mail.
var typicalClaims = Claims{
	ContactID: "c_01HZX3K8Q2M4T7",
	PartnerID: "p_acme-msp",
	Flow:      "msp-onboarding",
	Step:      "welcome",
	MessageID: "m_01HZX3KA7F9E2B6D8C",
	Topic:     "security",
	Title:     "Register your first deal and earn three extra points",
}

func clickClaims(url string) Claims {
	c := typicalClaims
	c.URL = url
	return c
}

func TestNewSigner(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		secret   []byte
		previous [][]byte
		wantErr  string
	}{
		{name: "ok", secret: testSecret(0)},
		{name: "ok with previous", secret: testSecret(0), previous: [][]byte{testSecret(1), testSecret(2)}},
		{name: "nil secret", secret: nil, wantErr: "tracking.secret"},
		{name: "short secret", secret: testSecret(0)[:MinSecretLen-1], wantErr: "tracking.secret: must be at least 32 bytes, got 31"},
		{name: "short previous", secret: testSecret(0), previous: [][]byte{testSecret(1), []byte("x")}, wantErr: "tracking.secret: previous secret 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewSigner(tt.secret, tt.previous...)
			if tt.wantErr == "" {
				if err != nil || s == nil {
					t.Fatalf("NewSigner: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewSigner error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewSignerCopiesSecret(t *testing.T) {
	t.Parallel()
	secret := testSecret(0)
	s := newTestSigner(t, secret)
	tok := mustSign(t, s, KindOpen, typicalClaims)
	secret[0] ^= 0xff // the caller reusing its buffer must not change the key
	if _, _, err := s.Verify(tok); err != nil {
		t.Fatalf("Verify after caller changed its secret buffer: %v", err)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, testSecret(0))
	tests := []struct {
		name string
		kind Kind
		c    Claims
	}{
		{name: "open minimal", kind: KindOpen, c: Claims{ContactID: "c1"}},
		{name: "open typical", kind: KindOpen, c: typicalClaims},
		{name: "open unicode title", kind: KindOpen, c: Claims{ContactID: "c1", Title: "Déjà vu : l’offre sécurité ✓", Topic: "sécurité"}},
		{name: "click", kind: KindClick, c: clickClaims("https://vendor.example/security?utm_source=longtail&utm_campaign=q4#top")},
		{name: "click http upper-case scheme", kind: KindClick, c: clickClaims("HTTP://Vendor.Example/")},
		{name: "click ipv6 host and port", kind: KindClick, c: clickClaims("http://[2001:db8::1]:8080/p")},
		{name: "unsubscribe", kind: KindUnsubscribe, c: Claims{ContactID: "c1", MessageID: "m1", Flow: "f"}},
		{name: "max field length", kind: KindOpen, c: Claims{ContactID: "c1", Title: strings.Repeat("t", 1400)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok := mustSign(t, s, tt.kind, tt.c)
			if strings.Trim(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") != "" {
				t.Errorf("token %q has characters that need escaping in a URL", tok)
			}
			kind, got, err := s.Verify(tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if kind != tt.kind {
				t.Errorf("kind = %s, want %s", kind, tt.kind)
			}
			if diff := cmp.Diff(tt.c, got); diff != "" {
				t.Errorf("claims mismatch (-want, +got):\n%s", diff)
			}
			again := mustSign(t, s, tt.kind, tt.c)
			if again != tok {
				t.Errorf("Sign is not deterministic: %q then %q", tok, again)
			}
		})
	}
}

// TestTokenLength pins the lengths the package doc promises, so a format
// change that bloats every URL in every mail is noticed.
func TestTokenLength(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, testSecret(0))
	open := mustSign(t, s, KindOpen, typicalClaims)
	if len(open) > 220 {
		t.Errorf("typical open token is %d bytes, want at most 220: %s", len(open), open)
	}
	url := "https://vendor.example/products/security/edr?utm_source=longtail&utm_medium=email"
	click := mustSign(t, s, KindClick, clickClaims(url))
	if max := len(open) + (len(url)*4+2)/3 + 1; len(click) > max {
		t.Errorf("typical click token is %d bytes, want at most %d", len(click), max)
	}
}

func TestSignRejects(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, testSecret(0))
	long := strings.Repeat("x", maxFieldLen+1)
	tests := []struct {
		name    string
		kind    Kind
		c       Claims
		wantErr string
	}{
		{name: "zero kind", kind: 0, c: Claims{ContactID: "c1"}, wantErr: "unknown token kind 0"},
		{name: "unknown kind", kind: 4, c: Claims{ContactID: "c1"}, wantErr: "unknown token kind 4"},
		{name: "open without contact", kind: KindOpen, c: Claims{PartnerID: "p1"}, wantErr: "contact id is required"},
		{name: "click without contact", kind: KindClick, c: Claims{URL: "https://a.example/"}, wantErr: "contact id is required"},
		{name: "unsubscribe without contact", kind: KindUnsubscribe, c: Claims{}, wantErr: "contact id is required"},
		{name: "open with url", kind: KindOpen, c: Claims{ContactID: "c1", URL: "https://a.example/"}, wantErr: "only allowed on click"},
		{name: "unsubscribe with url", kind: KindUnsubscribe, c: Claims{ContactID: "c1", URL: "https://a.example/"}, wantErr: "only allowed on click"},
		{name: "field too long", kind: KindOpen, c: Claims{ContactID: "c1", Topic: long}, wantErr: "topic longer than 2048"},
		{name: "invalid utf-8", kind: KindOpen, c: Claims{ContactID: "c1", Title: "bad \xff byte"}, wantErr: "title is not valid UTF-8"},
		{name: "token too long", kind: KindOpen, c: Claims{ContactID: "c1", Title: strings.Repeat("t", 1600)}, wantErr: "over the 2048 limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok, err := s.Sign(tt.kind, tt.c)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Sign = %q, %v; want error containing %q", tok, err, tt.wantErr)
			}
			if tok != "" {
				t.Errorf("Sign returned token %q alongside an error", tok)
			}
		})
	}
}

func TestClickURLRules(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, testSecret(0))
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://vendor.example/", true},
		{"http://vendor.example", true},
		{"https://vendor.example:8443/a/b?c=d&e=f#g", true},
		{"https://xn--bcher-kva.example/", true},
		{"", false},
		{"javascript:alert(1)", false},
		{"JavaScript:alert(1)", false},
		{"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", false},
		{"vbscript:msgbox", false},
		{"//evil.example/path", false},
		{"/relative/path", false},
		{"relative/path", false},
		{"evil.example", false},
		{"ftp://files.example/x", false},
		{"mailto:rep@vendor.example", false},
		{"https://", false},
		{"https:///path-only", false},
		{"https:evil.example", false},
		{`https:\\evil.example`, false},
		{`https://vendor.example\@evil.example`, false},
		{"https://vendor.example@evil.example/", false},
		{"https://user:pass@vendor.example/", false},
		{"https://vendor.example/a b", false},
		{" https://vendor.example/", false},
		{"https://vendor.example/\r\nSet-Cookie: x=1", false},
		{"https://vendor.example/\x00", false},
		{"https://[::1/", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			tok, err := s.Sign(KindClick, clickClaims(tt.url))
			if tt.ok != (err == nil) {
				t.Fatalf("Sign(click, %q) = %q, %v; want ok=%v", tt.url, tok, err, tt.ok)
			}
			if !tt.ok {
				return
			}
			_, c, err := s.Verify(tok)
			if err != nil || c.URL != tt.url {
				t.Fatalf("Verify = %q, %v; want URL %q unchanged", c.URL, err, tt.url)
			}
		})
	}
}

// forge signs raw payload bytes with the signer's current key, bypassing
// Sign's checks, to show Verify does not rely on the signer alone.
func forge(s *Signer, msg []byte) string {
	return b64.EncodeToString(msg) + "." + b64.EncodeToString(mac(s.keys[0], msg))
}

func TestVerifyRejectsCorrectlySignedBadPayloads(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, testSecret(0))
	good := encode(KindClick, &Claims{ContactID: "c1", URL: "https://a.example/"})
	with := func(f func([]byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name    string
		msg     []byte
		wantErr string
	}{
		{name: "control", msg: good},
		{name: "unknown version", msg: with(func(b []byte) []byte { b[0] = 2; return b }), wantErr: "unknown version 2"},
		{name: "version zero", msg: with(func(b []byte) []byte { b[0] = 0; return b }), wantErr: "unknown version 0"},
		{name: "unknown kind", msg: with(func(b []byte) []byte { b[1] = 9; return b }), wantErr: "unknown kind 9"},
		{name: "empty", msg: []byte{}, wantErr: "truncated"},
		{name: "header only", msg: []byte{version, byte(KindOpen)}, wantErr: "truncated"},
		{name: "trailing byte", msg: append(with(func(b []byte) []byte { return b }), 0), wantErr: "trailing bytes"},
		{name: "length past end", msg: []byte{version, byte(KindOpen), 50, 'c'}, wantErr: "truncated"},
		{
			name: "non-minimal varint",
			msg: func() []byte {
				// Length 2 of "c1" written as two varint bytes (0x82 0x00).
				b := []byte{version, byte(KindOpen), 0x82, 0x00, 'c', '1'}
				for range 7 {
					b = append(b, 0)
				}
				return b
			}(),
			wantErr: "non-canonical",
		},
		{name: "click with javascript url", msg: encode(KindClick, &Claims{ContactID: "c1", URL: "javascript:alert(1)"}), wantErr: "click token"},
		{name: "click without url", msg: encode(KindClick, &Claims{ContactID: "c1"}), wantErr: "url is required"},
		{name: "open with url", msg: encode(KindOpen, &Claims{ContactID: "c1", URL: "https://a.example/"}), wantErr: "only allowed on click"},
		{name: "no contact", msg: encode(KindOpen, &Claims{Flow: "f"}), wantErr: "contact id is required"},
		{name: "invalid utf-8", msg: encode(KindOpen, &Claims{ContactID: "c\xff"}), wantErr: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := s.Verify(forge(s, tt.msg))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Verify control: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify error = %v, want ErrInvalidToken containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestVerifyRejectsEverySingleByteAlteration(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, testSecret(0))
	tokens := map[string]string{
		"open":        mustSign(t, s, KindOpen, typicalClaims),
		"open short":  mustSign(t, s, KindOpen, Claims{ContactID: "c"}),
		"click":       mustSign(t, s, KindClick, clickClaims("https://vendor.example/x")),
		"unsubscribe": mustSign(t, s, KindUnsubscribe, Claims{ContactID: "c1", MessageID: "m"}),
	}
	// Neighbouring alphabet characters, the separator, characters the
	// base64 decoder would skip, and bytes outside ASCII.
	replacements := []byte{'A', 'B', 'Q', 'g', 'w', '_', '-', '0', '.', '=', '+', '/', '\n', '\r', ' ', 0, 0x80, 0xff}
	for name, tok := range tokens {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tried := 0
			for i := 0; i < len(tok); i++ {
				// Flipping each low bit hits the characters that differ only
				// in base64 padding bits, which a lax decoder accepts.
				reps := append([]byte{tok[i] ^ 1, tok[i] ^ 2, tok[i] ^ 4}, replacements...)
				for _, r := range reps {
					if r == tok[i] {
						continue
					}
					alt := tok[:i] + string([]byte{r}) + tok[i+1:]
					if _, _, err := s.Verify(alt); err == nil {
						t.Fatalf("Verify accepted %q altered at %d to %q", tok, i, r)
					}
					tried++
				}
				// Deletion and insertion at every position too.
				if _, _, err := s.Verify(tok[:i] + tok[i+1:]); err == nil {
					t.Fatalf("Verify accepted %q with byte %d deleted", tok, i)
				}
				if _, _, err := s.Verify(tok[:i] + "\n" + tok[i:]); err == nil {
					t.Fatalf("Verify accepted %q with a newline inserted at %d", tok, i)
				}
			}
			if tried < len(tok)*len(replacements)/2 {
				t.Fatalf("only %d alterations tried", tried)
			}
			for n := 0; n < len(tok); n++ {
				if _, _, err := s.Verify(tok[:n]); err == nil {
					t.Fatalf("Verify accepted the %d-byte prefix %q", n, tok[:n])
				}
			}
			for _, suffix := range []string{"A", "=", ".", "\n", "AA"} {
				if _, _, err := s.Verify(tok + suffix); err == nil {
					t.Fatalf("Verify accepted %q with %q appended", tok, suffix)
				}
			}
		})
	}
}

func TestVerifyKindConfusion(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, testSecret(0))
	c := Claims{ContactID: "c1", MessageID: "m1"}
	cu := c
	cu.URL = "https://vendor.example/"
	for _, tt := range []struct {
		from, to Kind
		c        Claims
	}{
		{KindOpen, KindClick, c},
		{KindOpen, KindUnsubscribe, c},
		{KindClick, KindUnsubscribe, cu},
		{KindClick, KindOpen, cu},
		{KindUnsubscribe, KindOpen, c},
		{KindUnsubscribe, KindClick, c},
	} {
		t.Run(tt.from.String()+"→"+tt.to.String(), func(t *testing.T) {
			t.Parallel()
			tok := mustSign(t, s, tt.from, tt.c)
			kind, _, err := s.Verify(tok)
			if err != nil || kind != tt.from {
				t.Fatalf("Verify = %s, %v; want %s", kind, err, tt.from)
			}
			// Relabel the kind byte but keep the signature.
			body, sig, _ := strings.Cut(tok, ".")
			msg, err := b64.DecodeString(body)
			if err != nil {
				t.Fatal(err)
			}
			msg[1] = byte(tt.to)
			relabelled := b64.EncodeToString(msg) + "." + sig
			if kind, _, err := s.Verify(relabelled); err == nil {
				t.Fatalf("a %s token relabelled as %s verified as %s", tt.from, tt.to, kind)
			}
		})
	}
}

func TestVerifyKeyRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey, otherKey := testSecret(1), testSecret(2), testSecret(3)
	oldSigner := newTestSigner(t, oldKey)
	rotated := newTestSigner(t, newKey, oldKey)
	newOnly := newTestSigner(t, newKey)
	stranger := newTestSigner(t, otherKey)

	oldTok := mustSign(t, oldSigner, KindClick, clickClaims("https://vendor.example/"))
	newTok := mustSign(t, rotated, KindClick, clickClaims("https://vendor.example/"))
	if oldTok == newTok {
		t.Fatal("rotated signer signed with the previous key")
	}
	tests := []struct {
		name   string
		signer *Signer
		token  string
		ok     bool
	}{
		{"rotated verifies old", rotated, oldTok, true},
		{"rotated verifies new", rotated, newTok, true},
		{"new-only rejects old", newOnly, oldTok, false},
		{"new-only verifies new", newOnly, newTok, true},
		{"old-only rejects new", oldSigner, newTok, false},
		{"stranger rejects old", stranger, oldTok, false},
		{"stranger rejects new", stranger, newTok, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, c, err := tt.signer.Verify(tt.token)
			if tt.ok != (err == nil) {
				t.Fatalf("Verify err = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && c.URL != "https://vendor.example/" {
				t.Fatalf("URL = %q", c.URL)
			}
		})
	}
}

func TestVerifyRejectsJunk(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, testSecret(0))
	tok := mustSign(t, s, KindOpen, typicalClaims)
	body, sig, _ := strings.Cut(tok, ".")
	for _, junk := range []string{
		"", ".", "..", "x", "x.y", body, body + ".", "." + sig, sig + "." + body,
		body + "." + sig + "." + sig, body + "==." + sig, body + "." + sig + "==",
		body + "." + sig[:len(sig)-1], body + "." + sig + "AAAA",
		strings.Repeat("A", MaxTokenLen+1),
		tok + strings.Repeat("A", MaxTokenLen),
	} {
		if _, _, err := s.Verify(junk); err == nil || !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Verify(%.60q) = %v, want ErrInvalidToken", junk, err)
		}
	}
}

func TestKindPath(t *testing.T) {
	t.Parallel()
	for k, want := range map[Kind]string{KindOpen: "/t/o/T", KindClick: "/t/c/T", KindUnsubscribe: "/u/T", 0: "", 7: ""} {
		if got := k.Path("T"); got != want {
			t.Errorf("%s.Path = %q, want %q", k, got, want)
		}
	}
}

func FuzzVerify(f *testing.F) {
	s := newTestSigner(f, testSecret(0))
	f.Add(mustSign(f, s, KindOpen, typicalClaims))
	f.Add(mustSign(f, s, KindOpen, Claims{ContactID: "c"}))
	f.Add(mustSign(f, s, KindClick, clickClaims("https://vendor.example/a?b=c")))
	f.Add(mustSign(f, s, KindUnsubscribe, Claims{ContactID: "c1", MessageID: "m1"}))
	f.Add(forge(s, binary.AppendUvarint([]byte{version, byte(KindOpen)}, 1<<62)))
	f.Add("")
	f.Add(".")
	f.Fuzz(func(t *testing.T, token string) {
		kind, c, err := s.Verify(token)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify error %v does not wrap ErrInvalidToken", err)
			}
			return
		}
		again, err := s.Sign(kind, c)
		if err != nil {
			t.Fatalf("verified token %q does not re-sign: %v", token, err)
		}
		if again != token {
			t.Fatalf("verified token %q re-signs to %q", token, again)
		}
	})
}
