package zoom

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/longtailhq/longtail/internal/webhooktest"
	"github.com/longtailhq/longtail/webhook"
)

// FuzzHandle signs arbitrary bodies so that the parser is reached, and
// sends arbitrary signature headers with the vector body. Handle must never
// panic, every event must validate, and an error must be one of the two the
// HTTP layer maps.
func FuzzHandle(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(fixtures, "zoomnet-sample-payloads", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no sample payloads: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, vectorTS, vectorSig)
	}
	f.Add(readFixture(f, "signature-vectors/zoomnet-1-endpoint.url_validation.body"), "-1", "v0=")
	f.Add([]byte(`{"event":"webinar.participant_joined","event_ts":1e3,"payload":{"object":{"id":{},"participant":{"email":" "}}}}`), "99999999999999999999", "v0=zz")

	vectorBody := readFixture(f, "signature-vectors/zoomnet-1-endpoint.url_validation.body")
	p := newProvider(f, Config{SecretToken: testSecret, MaxAge: time.Hour})
	vector := newProvider(f, Config{SecretToken: vectorSecret, MaxAge: time.Hour})
	now := time.Unix(1720705455, 0)
	f.Fuzz(func(t *testing.T, body []byte, ts, sig string) {
		check(t, p, signed(testSecret, body, now))
		check(t, vector, request(vectorBody, ts, sig, now))
	})
}

func check(t *testing.T, p *Provider, req *webhook.Request) {
	t.Helper()
	res, err := p.Handle(context.Background(), req)
	webhooktest.CheckResult(t, res, err, webhook.ErrUnauthorized, webhook.ErrBadPayload)
	if res != nil && res.Reply != nil && len(res.Events) != 0 {
		t.Fatalf("a reply came with events")
	}
}
