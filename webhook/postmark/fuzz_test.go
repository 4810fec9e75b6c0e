package postmark_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/longtailhq/longtail/internal/webhooktest"
	"github.com/longtailhq/longtail/webhook"
)

// FuzzHandle sends every input with the right credentials and checks that
// Handle never panics, fails only with ErrBadPayload, and returns only events
// that validate.
func FuzzHandle(f *testing.F) {
	for _, dir := range []string{"activecampaign-postmark-skills", "postmarkapp-docs"} {
		entries, err := os.ReadDir(filepath.Join(fixtures, dir))
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range entries {
			f.Add(readFile(f, filepath.Join(dir, e.Name())))
		}
	}
	p := newProvider(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := p.Handle(context.Background(), authed(body))
		webhooktest.CheckResult(t, res, err, webhook.ErrBadPayload)
	})
}
