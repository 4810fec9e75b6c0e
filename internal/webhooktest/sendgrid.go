// Package webhooktest signs provider payloads the way the providers do, so
// edge tests and benchmarks can post real signed deliveries over HTTP.
package webhooktest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// SendGrid holds an ECDSA P-256 key standing in for SendGrid's.
type SendGrid struct {
	key *ecdsa.PrivateKey
}

// NewSendGrid generates a signing key.
func NewSendGrid(t testing.TB) *SendGrid {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &SendGrid{key: k}
}

// PublicKey is the verification key as configured (base64 DER SPKI).
func (s *SendGrid) PublicKey() string {
	der, err := x509.MarshalPKIXPublicKey(&s.key.PublicKey)
	if err != nil {
		panic(err) // a P-256 public key always marshals
	}
	return base64.StdEncoding.EncodeToString(der)
}

// Sign sets SendGrid's signature headers for body at time ts.
func (s *SendGrid) Sign(h http.Header, body []byte, ts time.Time) {
	tsText := strconv.FormatInt(ts.Unix(), 10)
	digest := sha256.Sum256(append([]byte(tsText), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, digest[:])
	if err != nil {
		panic(err)
	}
	h.Set("X-Twilio-Email-Event-Webhook-Timestamp", tsText)
	h.Set("X-Twilio-Email-Event-Webhook-Signature", base64.StdEncoding.EncodeToString(sig))
}

// SendGridEvents renders n SendGrid events (opens and clicks to emails
// spread over contacts distinct addresses) as the body SendGrid posts,
// ending with \r\n like the real thing.
func SendGridEvents(n, contacts int, at time.Time, idPrefix string) []byte {
	b := make([]byte, 0, n*260)
	b = append(b, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		kind := "open"
		extra := ""
		if i%3 == 0 {
			kind = "click"
			extra = `,"url":"https://vendor.example/security/new?utm=nl"`
		}
		b = fmt.Appendf(b, `{"email":"person%d@partner%d.example","timestamp":%d,"event":"%s","sg_event_id":"%s-%d","sg_message_id":"msg%d.filter0001","category":["newsletter"]%s}`,
			i%contacts, i%contacts%97, at.Unix(), kind, idPrefix, i, i%contacts, extra)
	}
	b = append(b, "]\r\n"...)
	return b
}
