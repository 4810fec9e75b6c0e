package webhooktest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// SNSCertName is the file SNS.CertDir pins, and SNSCertURL the
// SigningCertURL its messages name.
const (
	SNSCertName = "SimpleNotificationService-longtailtest.pem"
	SNSCertURL  = "https://sns.us-east-1.amazonaws.com/" + SNSCertName
)

// SNS holds an RSA key standing in for Amazon SNS's, with a self-signed
// certificate to pin.
type SNS struct {
	key  *rsa.PrivateKey
	cert []byte // PEM
}

// NewSNS generates a signing key and its certificate.
func NewSNS(t testing.TB) *SNS {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &SNS{key: key, cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// CertDir returns a directory pinning the certificate (webhooks.ses.cert_dir).
func (s *SNS) CertDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, SNSCertName), s.cert, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Notification is the body SNS posts for message on topicARN, sent at ts
// and signed (SignatureVersion 2) as AWS documents it.
func (s *SNS) Notification(topicARN, messageID, message string, ts time.Time) []byte {
	stamp := ts.UTC().Format("2006-01-02T15:04:05.000Z")
	toSign := "Message\n" + message + "\nMessageId\n" + messageID + "\nTimestamp\n" + stamp +
		"\nTopicArn\n" + topicARN + "\nType\nNotification\n"
	digest := sha256.Sum256([]byte(toSign))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, digest[:])
	if err != nil {
		panic(err)
	}
	body, err := json.Marshal(map[string]string{
		"Type": "Notification", "MessageId": messageID, "TopicArn": topicARN, "Message": message,
		"Timestamp": stamp, "SignatureVersion": "2", "Signature": base64.StdEncoding.EncodeToString(sig),
		"SigningCertURL": SNSCertURL,
	})
	if err != nil {
		panic(err)
	}
	return body
}
