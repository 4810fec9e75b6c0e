package sendgrid_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

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
		if err != nil {
			if !errors.Is(err, webhook.ErrBadPayload) {
				t.Fatalf("signed body gave %v, want ErrBadPayload or success", err)
			}
			return
		}
		for i := range res.Events {
			if err := res.Events[i].Validate(); err != nil {
				t.Fatalf("event %d does not validate: %v", i, err)
			}
			if res.Events[i].Source != "sendgrid" {
				t.Fatalf("event %d has source %q", i, res.Events[i].Source)
			}
		}
	})
}
