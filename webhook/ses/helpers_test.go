package ses

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/webhook"
)

const fixtures = "../../testdata/webhooks/amazon-ses-sns"

const (
	testTopic    = "arn:aws:sns:us-east-1:123456789012:longtail-ses"
	testCertName = "SimpleNotificationService-0123456789abcdef0123456789abcdef.pem"
	testCertURL  = "https://sns.us-east-1.amazonaws.com/" + testCertName
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newProvider(t testing.TB, cfg Config) *Provider {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func post(body []byte, now time.Time) *webhook.Request {
	h := http.Header{}
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	return &webhook.Request{Method: http.MethodPost, URL: "/webhooks/ses", Header: h, Body: body, Now: now}
}

func certTemplate(cn string, from, to time.Time) *x509.Certificate {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic(err)
	}
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    from,
		NotAfter:     to,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
}

func createCert(t testing.TB, tmpl, parent *x509.Certificate, pub any, signer crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pemOf(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

func rsaKey(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// pinnedSigner is a fresh RSA key with a self-signed certificate pinned in
// a temporary CertDir under testCertName.
type pinnedSigner struct {
	key  *rsa.PrivateKey
	dir  string
	cert *x509.Certificate
}

func newPinnedSigner(t testing.TB, bits int) *pinnedSigner {
	t.Helper()
	key := rsaKey(t, bits)
	// Already expired, like the AWS fixture: pinned certificates are trusted
	// whatever their dates.
	tmpl := certTemplate("sns.amazonaws.com", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC))
	cert := createCert(t, tmpl, tmpl, &key.PublicKey, key)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, testCertName), pemOf(cert), 0o600); err != nil {
		t.Fatal(err)
	}
	return &pinnedSigner{key: key, dir: dir, cert: cert}
}

// snsMessage is an SNS envelope the tests sign themselves.
type snsMessage struct {
	Type, MessageID, Token, TopicArn, Message, SubscribeURL, Timestamp string
	Subject                                                            *string
	SigningCertURL                                                     string
	// Version is the SignatureVersion; empty means "2".
	Version string
}

func notification(message string) snsMessage {
	return snsMessage{
		Type: "Notification", MessageID: "5d3a8f0e-6c4b-5b1e-9d0e-2a7f4c1b9e11", TopicArn: testTopic,
		Message: message, Timestamp: "2026-11-20T09:31:02.123Z", SigningCertURL: testCertURL,
	}
}

// sign builds the string to sign as the AWS documentation lays it out,
// independently of stringToSign, and returns the JSON body.
func (m snsMessage) sign(t testing.TB, key *rsa.PrivateKey) []byte {
	t.Helper()
	fields := map[string]any{
		"Type": m.Type, "MessageId": m.MessageID, "TopicArn": m.TopicArn, "Message": m.Message,
		"Timestamp": m.Timestamp, "SigningCertURL": m.SigningCertURL,
	}
	var keys []string
	if m.Type == "Notification" {
		keys = []string{"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"}
		if m.Subject != nil {
			fields["Subject"] = *m.Subject
		}
	} else {
		keys = []string{"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"}
		fields["SubscribeURL"], fields["Token"] = m.SubscribeURL, m.Token
	}
	var b strings.Builder
	for _, k := range keys {
		if v, ok := fields[k]; ok {
			b.WriteString(k + "\n" + v.(string) + "\n")
		}
	}
	version := m.Version
	if version == "" {
		version = "2"
	}
	var sig []byte
	var err error
	if version == "1" {
		d := sha1.Sum([]byte(b.String()))
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA1, d[:])
	} else {
		d := sha256.Sum256([]byte(b.String()))
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	}
	if err != nil {
		t.Fatal(err)
	}
	fields["SignatureVersion"] = version
	fields["Signature"] = base64.StdEncoding.EncodeToString(sig)
	if m.Type == "Notification" && m.Subject == nil {
		fields["Subject"] = nil // SNS's Lambda shape: must be skipped, not signed as "null"
	}
	body, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// testPKI is a CA, an intermediate, a TLS server certificate for the SNS
// hosts and an RSA signing certificate, all issued by the intermediate, as
// AWS's are.
type testPKI struct {
	roots      *x509.CertPool
	inter      *x509.Certificate
	interKey   *ecdsa.PrivateKey
	server     tls.Certificate
	signingKey *rsa.PrivateKey
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	// The TLS handshake checks dates against the real clock, so the chain
	// is anchored there; the signing certificate is issued per test.
	now := time.Now()
	ecKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, interKey, serverKey := ecKey(), ecKey(), ecKey()
	caTmpl := certTemplate("longtail test root", now.Add(-time.Hour), now.AddDate(10, 0, 0))
	caTmpl.IsCA, caTmpl.BasicConstraintsValid, caTmpl.KeyUsage = true, true, x509.KeyUsageCertSign
	ca := createCert(t, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	interTmpl := certTemplate("longtail test intermediate", now.Add(-time.Hour), now.AddDate(10, 0, 0))
	interTmpl.IsCA, interTmpl.BasicConstraintsValid, interTmpl.KeyUsage = true, true, x509.KeyUsageCertSign
	inter := createCert(t, interTmpl, ca, &interKey.PublicKey, caKey)
	serverTmpl := certTemplate("sns.us-east-1.amazonaws.com", now.Add(-time.Hour), now.Add(24*time.Hour))
	serverTmpl.DNSNames = []string{"sns.us-east-1.amazonaws.com", "sns.eu-west-1.amazonaws.com"}
	server := createCert(t, serverTmpl, inter, &serverKey.PublicKey, interKey)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	return &testPKI{
		roots:      roots,
		inter:      inter,
		interKey:   interKey,
		server:     tls.Certificate{Certificate: [][]byte{server.Raw, inter.Raw}, PrivateKey: serverKey},
		signingKey: rsaKey(t, 2048),
	}
}

// signingCert issues the SNS signing certificate, valid from..to.
func (p *testPKI) signingCert(t testing.TB, from, to time.Time) *x509.Certificate {
	t.Helper()
	tmpl := certTemplate("sns.amazonaws.com", from, to)
	tmpl.DNSNames = []string{"sns.amazonaws.com"}
	return createCert(t, tmpl, p.inter, &p.signingKey.PublicKey, p.interKey)
}

// tlsServer starts an HTTPS server presenting the SNS host certificate.
func (p *testPKI) tlsServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.server}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// clientTo returns a client that reaches srv whatever host a URL names, so
// the provider's host rule still sees sns.<region>.amazonaws.com, and that
// trusts roots for TLS.
func clientTo(t testing.TB, srv *httptest.Server, roots *x509.CertPool) *http.Client {
	t.Helper()
	addr := srv.Listener.Addr().String()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{RootCAs: roots},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// refusingClient fails the test on any request: the paths using it must
// never reach the network.
func refusingClient(t testing.TB) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("unexpected request to %s", r.URL)
		return nil, http.ErrHandlerTimeout
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
