// Package tracking is longtail's first-party open and click tracking for
// mail sent over plain SMTP: HMAC-signed tokens carried in pixel and link
// URLs, and the HTTP handler that turns a hit on one into an event.
//
// A token is
//
//	base64url(version ‖ kind ‖ fields) "." base64url(HMAC-SHA256(secret, version ‖ kind ‖ fields)[:16])
//
// with no base64 padding, where fields are the claims in a fixed order, each
// a uvarint length followed by its UTF-8 bytes. The alphabet is URL-safe, so
// a token drops into a path segment unescaped. A typical open token (ids of
// 10–30 characters, a 50-character subject as Title) is about 200 characters;
// a click token adds its URL's length times 4/3. Tokens are capped at
// MaxTokenLen.
package tracking

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Kind says what a token is for. It is signed into the token, so a token
// minted for one purpose never passes as another. The values are wire values
// inside every issued token: never renumber one.
type Kind uint8

// The token kinds. Zero is deliberately not a kind.
const (
	KindOpen        Kind = 1
	KindClick       Kind = 2
	KindUnsubscribe Kind = 3
)

// String returns the kind's lower-case name ("open", "click", "unsubscribe").
func (k Kind) String() string {
	switch k {
	case KindOpen:
		return "open"
	case KindClick:
		return "click"
	case KindUnsubscribe:
		return "unsubscribe"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

func (k Kind) valid() bool { return k >= KindOpen && k <= KindUnsubscribe }

// Path returns the URL path that serves token for this kind ("/t/o/…",
// "/t/c/…", "/u/…"), to be appended to the public base URL of the server.
func (k Kind) Path(token string) string {
	switch k {
	case KindOpen:
		return "/t/o/" + token
	case KindClick:
		return "/t/c/" + token
	case KindUnsubscribe:
		return "/u/" + token
	}
	return ""
}

// Claims is what a token vouches for. URL is set on click tokens only.
type Claims struct {
	ContactID, PartnerID, Flow, Step, MessageID, Topic, URL string
	// Title is the email subject, carried so the recorded event can tell a
	// rep what was read without a lookup.
	Title string
}

// fields lists the claims in wire order. Appending a field needs a new
// version byte: existing tokens must keep decoding as they were signed.
func (c *Claims) fields() []*string {
	return []*string{&c.ContactID, &c.PartnerID, &c.Flow, &c.Step, &c.MessageID, &c.Topic, &c.URL, &c.Title}
}

const (
	// version is the first byte of every payload. Verify rejects others, so
	// a later format can be introduced without old verifiers misreading it.
	version byte = 1
	// macLen is the truncated HMAC length: 128 bits is far beyond what an
	// online forger can search, and keeps tokens short.
	macLen = 16
	// MinSecretLen is the shortest accepted secret: a full SHA-256 block of
	// entropy's worth for the HMAC key.
	MinSecretLen = 32
	// MaxTokenLen bounds a token so that the URL carrying it stays within
	// what mail clients and browsers reliably handle (about 2 000 bytes).
	// Sign refuses claims that would exceed it; Verify rejects longer input
	// before decoding anything.
	MaxTokenLen = 2048
	// maxFieldLen matches the event package's limit on free-text fields, so
	// a verified token always yields a valid event.
	maxFieldLen = 2048
)

// b64 is strict so that a token has exactly one encoding: non-zero trailing
// bits would otherwise decode to the same bytes and a changed character
// would still verify.
var b64 = base64.RawURLEncoding.Strict()

// ErrInvalidToken is wrapped by every error Verify returns.
var ErrInvalidToken = errors.New("tracking: invalid token")

// Signer signs and verifies tokens. It is safe for concurrent use.
type Signer struct {
	// keys[0] signs; every key verifies, so a secret can be rotated by
	// moving the old one to previous for as long as sent mail may be read.
	keys [][]byte
}

// NewSigner returns a Signer that signs with secret and verifies with secret
// or any of previous. Every secret must be at least MinSecretLen bytes.
func NewSigner(secret []byte, previous ...[]byte) (*Signer, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("tracking.secret: must be at least %d bytes, got %d", MinSecretLen, len(secret))
	}
	keys := [][]byte{append([]byte(nil), secret...)}
	for i, p := range previous {
		if len(p) < MinSecretLen {
			return nil, fmt.Errorf("tracking.secret: previous secret %d must be at least %d bytes, got %d", i+1, MinSecretLen, len(p))
		}
		keys = append(keys, append([]byte(nil), p...))
	}
	return &Signer{keys: keys}, nil
}

// Sign returns the token for kind and c. It fails when the claims could not
// make a valid event or a safe redirect: no ContactID, a click without an
// absolute http(s) URL, a URL on a non-click kind, a field over 2048 bytes or
// not UTF-8, or a token longer than MaxTokenLen.
func (s *Signer) Sign(kind Kind, c Claims) (string, error) {
	if err := checkClaims(kind, &c); err != nil {
		return "", err
	}
	msg := encode(kind, &c)
	tok := b64.EncodeToString(msg) + "." + b64.EncodeToString(mac(s.keys[0], msg))
	if len(tok) > MaxTokenLen {
		return "", fmt.Errorf("tracking: %s token would be %d bytes, over the %d limit: shorten the URL or Title", kind, len(tok), MaxTokenLen)
	}
	return tok, nil
}

// Verify checks token's signature against every key and returns its kind
// and claims. Any error wraps ErrInvalidToken. Callers must check the kind
// is the one they expect.
func (s *Signer) Verify(token string) (Kind, Claims, error) {
	bad := func(format string, args ...any) (Kind, Claims, error) {
		return 0, Claims{}, fmt.Errorf("%w: %s", ErrInvalidToken, fmt.Sprintf(format, args...))
	}
	if len(token) > MaxTokenLen {
		return bad("longer than %d bytes", MaxTokenLen)
	}
	body, sig, ok := strings.Cut(token, ".")
	if !ok {
		return bad("no signature")
	}
	// The decoder skips CR and LF; checking the alphabet first keeps the
	// encoding canonical.
	if !isB64(body) || !isB64(sig) {
		return bad("not base64url")
	}
	msg, err := b64.DecodeString(body)
	if err != nil {
		return bad("payload: %v", err)
	}
	got, err := b64.DecodeString(sig)
	if err != nil || len(got) != macLen {
		return bad("malformed signature")
	}
	if len(msg) < 2 {
		return bad("truncated payload")
	}
	if msg[0] != version {
		return bad("unknown version %d", msg[0])
	}
	// Authenticate before parsing anything else, so no unsigned byte steers
	// the decoder.
	if !s.authentic(msg, got) {
		return bad("bad signature")
	}
	kind := Kind(msg[1])
	if !kind.valid() {
		return bad("unknown kind %d", msg[1])
	}
	var c Claims
	rest := msg[2:]
	for _, f := range c.fields() {
		n, w := binary.Uvarint(rest)
		if w <= 0 || n > uint64(len(rest)-w) {
			return bad("truncated payload")
		}
		*f = string(rest[w : w+int(n)])
		rest = rest[w+int(n):]
	}
	if len(rest) != 0 {
		return bad("trailing bytes")
	}
	// Only a non-minimal varint could make a second encoding of the same
	// claims; rejecting it keeps Sign(Verify(t)) == t.
	if string(encode(kind, &c)) != string(msg) {
		return bad("non-canonical payload")
	}
	// Claims are re-checked because an older release, or a previous key,
	// may have signed under looser rules; a redirect target is never trusted
	// on the strength of the signature alone.
	if err := checkClaims(kind, &c); err != nil {
		return bad("%v", err)
	}
	return kind, c, nil
}

func (s *Signer) authentic(msg, got []byte) bool {
	ok := false
	for _, k := range s.keys {
		// Every key is tried, so timing does not tell which one matched.
		if hmac.Equal(mac(k, msg), got) {
			ok = true
		}
	}
	return ok
}

func mac(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)[:macLen]
}

func encode(kind Kind, c *Claims) []byte {
	n := 2
	for _, f := range c.fields() {
		n += binary.MaxVarintLen16 + len(*f)
	}
	msg := make([]byte, 0, n)
	msg = append(msg, version, byte(kind))
	for _, f := range c.fields() {
		msg = binary.AppendUvarint(msg, uint64(len(*f)))
		msg = append(msg, *f...)
	}
	return msg
}

func isB64(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}

func checkClaims(kind Kind, c *Claims) error {
	if !kind.valid() {
		return fmt.Errorf("tracking: unknown token kind %d", uint8(kind))
	}
	if c.ContactID == "" {
		return fmt.Errorf("tracking: %s token: contact id is required", kind)
	}
	names := []string{"contact id", "partner id", "flow", "step", "message id", "topic", "url", "title"}
	for i, f := range c.fields() {
		if len(*f) > maxFieldLen {
			return fmt.Errorf("tracking: %s token: %s longer than %d bytes", kind, names[i], maxFieldLen)
		}
		if !utf8.ValidString(*f) {
			return fmt.Errorf("tracking: %s token: %s is not valid UTF-8", kind, names[i])
		}
	}
	switch {
	case kind == KindClick:
		if err := CheckRedirectURL(c.URL); err != nil {
			return fmt.Errorf("tracking: click token: %w", err)
		}
	case c.URL != "":
		return fmt.Errorf("tracking: %s token: url is only allowed on click tokens", kind)
	}
	return nil
}

// CheckRedirectURL reports whether raw is safe to redirect a person to: an
// absolute http or https URL with a host and no user info. Relative and
// scheme-relative ("//host") references, javascript:, data: and the like are
// refused, as is anything with spaces or control characters.
func CheckRedirectURL(raw string) error {
	if raw == "" {
		return errors.New("url is required")
	}
	if strings.ContainsAny(raw, " \t\r\n\\") {
		return fmt.Errorf("url %q contains whitespace or a backslash", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url %q does not parse: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url %q must be absolute http or https", raw)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return fmt.Errorf("url %q has no host", raw)
	}
	if u.User != nil {
		// "https://bank.example@evil.example" reads as one host and goes to
		// another; no legitimate campaign link needs credentials.
		return fmt.Errorf("url %q must not carry user info", raw)
	}
	return nil
}
