package mandrill

import (
	"context"
	"net/url"
	"testing"

	"github.com/longtailhq/longtail/internal/webhooktest"
	"github.com/longtailhq/longtail/webhook"
)

// FuzzHandle feeds arbitrary mandrill_events values, correctly signed so
// that the parser is reached, and arbitrary raw bodies under the published
// vector signature. Handle must never panic, every event must validate, and
// an error must be one of the two the HTTP layer maps.
func FuzzHandle(f *testing.F) {
	f.Add(readFixture(f, "webhook-example-all-message-and-sync-events.json"), []byte("mandrill_events=%5B%5D"))
	f.Add(readFixture(f, "signature-vector/mandrill_events.value.json"), []byte(url.Values{eventsField: {readFixture(f, "signature-vector/mandrill_events.value.json")}}.Encode()))
	f.Add(`[{"event":"click","_id":"m","ts":1.5,"url":"u","msg":{"email":"a@b.example","metadata":{"lt_contact":1e400}}}]`, []byte("a=1&b=2"))
	f.Add(`[{"type":"whitelist"},{"event":""}]`, []byte("%"))
	p := newProvider(f, testKey, testURL)
	vector := newProvider(f, vectorKey, vectorURL)
	f.Fuzz(func(t *testing.T, eventsJSON string, raw []byte) {
		check(t, p, signedRequest(eventsJSON))
		check(t, vector, post(string(raw), vectorSig))
	})
}

func check(t *testing.T, p *Provider, req *webhook.Request) {
	t.Helper()
	res, err := p.Handle(context.Background(), req)
	webhooktest.CheckResult(t, res, err, webhook.ErrUnauthorized, webhook.ErrBadPayload)
}
