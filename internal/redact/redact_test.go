package redact_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/internal/redact"
)

func TestString(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/v1/contacts/jane@acme.example":                   "/v1/contacts/***@acme.example",
		"/v1/contacts/Jane.Doe+news@Acme.Example/mailable": "/v1/contacts/***@Acme.Example/mailable",
		"/v1/contacts/jane%40acme.example":                 "/v1/contacts/***%40acme.example",
		`item 0: email "bob@acme" has no domain`:           `item 0: email "***@acme" has no domain`,
		"a@b.example, c@d.example":                         "***@b.example, ***@d.example",
		"o'brien@acme.example":                             "***@acme.example",
		"redis://user:secret@10.0.0.5:6379/0":              "redis://user:***@10.0.0.5:6379/0",
		"/u/x?email=jane@acme.example&y=1":                 "/u/x?email=***@acme.example&y=1",
		"no address here":                                  "no address here",
		"already ***@acme.example":                         "already ***@acme.example",
		"@ alone, trailing@":                               "@ alone, trailing@",
	} {
		if got := redact.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

// The logger's output: nothing above debug names a person.
func TestWriter(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	log := zerolog.New(redact.NewWriter(&out)).Level(zerolog.TraceLevel)
	log.Debug().Str("path", "/v1/contacts/jane@acme.example").Msg("debug keeps it")
	log.Info().Str("path", "/v1/contacts/jane@acme.example").Msg("request")
	log.Warn().Str("error", `recipient "jane@acme.example" refused`).Msg("webhook payload refused")
	log.Error().Msg("jane@acme.example")
	log.Log().Msg("no level: jane@acme.example")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	if !strings.Contains(lines[0], "jane@acme.example") {
		t.Errorf("debug line redacted: %s", lines[0])
	}
	for _, l := range lines[1:] {
		if strings.Contains(l, "jane@") || !strings.Contains(l, "***@acme.example") {
			t.Errorf("line not redacted: %s", l)
		}
		if !strings.HasPrefix(l, "{") || !strings.HasSuffix(l, "}") {
			t.Errorf("line is no longer JSON: %s", l)
		}
	}
}

func TestWriterReportsTheLengthGiven(t *testing.T) {
	t.Parallel()
	w := redact.NewWriter(&bytes.Buffer{})
	p := []byte(`{"msg":"jane@acme.example"}` + "\n")
	if n, err := w.WriteLevel(zerolog.InfoLevel, p); err != nil || n != len(p) {
		t.Fatalf("WriteLevel = %d, %v; want %d", n, err, len(p))
	}
	if n, err := w.Write(p); err != nil || n != len(p) {
		t.Fatalf("Write = %d, %v; want %d", n, err, len(p))
	}
}
