package brevo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/longtailhq/longtail/webhook"
)

// FuzzHandle sends every input with the right token and checks that Handle
// never panics, fails only with ErrBadPayload, and returns only events that
// validate.
func FuzzHandle(f *testing.F) {
	for _, dir := range []string{"anymail-live-captured-transcribed", "developers-brevo-docs"} {
		entries, err := os.ReadDir(filepath.Join(fixtures, dir))
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range entries {
			f.Add(readFile(f, filepath.Join(dir, e.Name())))
		}
	}
	f.Add([]byte(`[{"event":"proxy_open","email":"a@example.com","ts_epoch":1700000000000,"X-Mailin-custom":"{\"lt_contact\":\"c\"}","tag":"[\"a\"]"}]`))
	p := newProvider(f, token)
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := p.Handle(context.Background(), authed(body))
		if err != nil {
			if !errors.Is(err, webhook.ErrBadPayload) {
				t.Fatalf("authenticated body gave %v, want ErrBadPayload or success", err)
			}
			return
		}
		for i := range res.Events {
			if err := res.Events[i].Validate(); err != nil {
				t.Fatalf("event %d does not validate: %v", i, err)
			}
		}
	})
}
