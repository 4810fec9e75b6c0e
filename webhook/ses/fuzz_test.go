package ses

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/longtailhq/longtail/internal/webhooktest"
	"github.com/longtailhq/longtail/webhook"
)

// FuzzHandle sends arbitrary raw bodies against the pinned AWS certificate,
// and arbitrary Messages (or SubscribeURLs) wrapped in envelopes signed with
// a pinned test key so that the SES record parser is reached. Handle must
// never panic and every event must validate. Errors must be ErrUnauthorized
// or ErrBadPayload, except a failed subscription confirmation, which is
// plain so that SNS retries.
func FuzzHandle(f *testing.F) {
	vectors, err := filepath.Glob(filepath.Join(fixtures, "sns-signature-vectors", "*.json"))
	if err != nil || len(vectors) == 0 {
		f.Fatalf("no vectors: %v", err)
	}
	records, err := filepath.Glob(filepath.Join(fixtures, "ses-event-publishing-examples", "*.json"))
	if err != nil || len(records) == 0 {
		f.Fatalf("no records: %v", err)
	}
	for i, name := range vectors {
		raw := readFixture(f, "sns-signature-vectors/"+filepath.Base(name))
		rec := readFixture(f, "ses-event-publishing-examples/"+filepath.Base(records[i%len(records)]))
		f.Add(raw, string(rec), uint8(0))
	}
	for _, name := range records {
		f.Add(readFixture(f, "sns-http-examples/Notification.body.json"), string(readFixture(f, "ses-event-publishing-examples/"+filepath.Base(name))), uint8(0))
	}
	f.Add(readFixture(f, "sns-http-examples/SubscriptionConfirmation.body.json"), "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription", uint8(1))
	f.Add([]byte(`{"Type":"Notification","SignatureVersion":"2","Signature":"AA==","SigningCertUrl":"https://sns.x.amazonaws.com/%2e%2e/a.pem"}`), "Hello world", uint8(2))

	offline := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("offline")
	})}
	vector := newProvider(f, Config{CertDir: awsCertDir(f), HTTPClient: offline})
	signer := newPinnedSigner(f, 1024)
	signed := newProvider(f, Config{CertDir: signer.dir, HTTPClient: offline})
	types := []string{"Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"}

	f.Fuzz(func(t *testing.T, raw []byte, message string, kind uint8) {
		res, err := vector.Handle(context.Background(), post(raw, vectorNow))
		check(t, res, err, false)

		m := notification(message)
		m.Type = types[int(kind)%len(types)]
		if m.Type != "Notification" {
			m.Token, m.SubscribeURL, m.Message = "token", message, "confirm"
		}
		if kind&0x80 != 0 {
			m.Version = "1"
		}
		res, err = signed.Handle(context.Background(), post(m.sign(t, signer.key), vectorNow))
		check(t, res, err, m.Type == "SubscriptionConfirmation")
	})
}

func check(t *testing.T, res *webhook.Result, err error, plainAllowed bool) {
	t.Helper()
	allowed := []error{webhook.ErrUnauthorized, webhook.ErrBadPayload}
	if plainAllowed && err != nil {
		allowed = append(allowed, err)
	}
	webhooktest.CheckResult(t, res, err, allowed...)
}
