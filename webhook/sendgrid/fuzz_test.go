package sendgrid_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/longtailhq/longtail/internal/webhooktest"
	"github.com/longtailhq/longtail/webhook"
)

// FuzzHandle signs every input so the fuzzer reaches the parser, and checks
// that Handle never panics, fails only with the two documented errors, and
// returns only events that validate.
func FuzzHandle(f *testing.F) {
	for _, dir := range []string{"docs-2021", "signature-vectors"} {
		entries, err := os.ReadDir(filepath.Join(fixtures, dir))
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range entries {
			f.Add(readFile(f, filepath.Join(dir, e.Name())))
		}
	}
	s := newSigner(f)
	p := s.provider(f, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := p.Handle(context.Background(), s.request(t, body, 1700000000))
		webhooktest.CheckResult(t, res, err, webhook.ErrBadPayload)
		if err != nil {
			return
		}
		for i := range res.Events {
			if res.Events[i].Source != "sendgrid" {
				t.Fatalf("event %d has source %q", i, res.Events[i].Source)
			}
		}
	})
}
