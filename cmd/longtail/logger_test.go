package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/longtailhq/longtail/config"
)

// log.format: console writes no colour codes where no person reads a
// terminal: a buffer, a pipe, a file.
func TestConsoleLogHasNoColourOffATerminal(t *testing.T) {
	t.Parallel()
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf syncBuffer
	for name, w := range map[string]interface {
		Write([]byte) (int, error)
	}{"buffer": &buf, "file": f} {
		log := newLogger(config.Log{Level: "info", Format: "console"}, w)
		log.Warn().Str("partner_id", "acme").Msg("console line from " + name)
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"buffer": buf.String(), "file": string(data)} {
		if !strings.Contains(out, "console line from "+name) || !strings.Contains(out, "partner_id=acme") {
			t.Errorf("%s: console log %q lacks the message or field", name, out)
		}
		if strings.Contains(out, "\x1b[") {
			t.Errorf("%s: console log has colour codes: %q", name, out)
		}
	}
}
