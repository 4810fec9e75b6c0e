package mailgun_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/longtailhq/longtail/internal/webhooktest"
	"github.com/longtailhq/longtail/webhook"
	"github.com/longtailhq/longtail/webhook/mailgun"
)

// FuzzHandle wraps the input as event-data in a correctly signed envelope so
// the fuzzer reaches the parser, and checks that Handle never panics, fails
// only with ErrBadPayload, and returns only events that validate.
func FuzzHandle(f *testing.F) {
	for _, dir := range []string{".", "docs-events-api-structure"} {
		entries, err := os.ReadDir(filepath.Join(fixtures, dir))
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			b := readFile(f, filepath.Join(dir, e.Name()))
			f.Add(b)
			f.Add(fixTrailingComma(b))
		}
	}
	p := newProvider(f, mailgun.Config{})
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := p.Handle(context.Background(), request(signed("tok", data)))
		webhooktest.CheckResult(t, res, err, webhook.ErrBadPayload)
		if err == nil && len(res.Events)+len(res.Ignored) != 1 {
			t.Fatalf("one event-data gave %d events and %v ignored", len(res.Events), res.Ignored)
		}
	})
}
