// Package redact keeps email addresses out of logs above debug level
// (DESIGN: no email address in logs above debug). Writer applies it to
// every line a zerolog logger writes, so the rule holds for every package
// and every field (request paths, provider payload errors, wrapped errors)
// without each call site remembering it.
package redact

import (
	"bytes"
	"io"
	"regexp"

	"github.com/rs/zerolog"
)

// address matches anything shaped like an email address, plain or
// percent-encoded (jane%40acme.example in a raw URL): the local part in
// RFC 5322 atext less the characters that delimit URL parts (/ ? & =),
// which real addresses do without, then a domain of one or more labels.
// Its domain is kept (which company, useful when debugging a feed); the
// local part, the person, is replaced.
var address = regexp.MustCompile("[A-Za-z0-9!#$%'*+^_`{|}~.-]+(@|%40)([A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*)")

// Mask is what an address's local part becomes.
const Mask = "***"

// Emails returns b with the local part of every address replaced by Mask.
// It returns b itself when there is none.
func Emails(b []byte) []byte {
	if bytes.IndexByte(b, '@') < 0 && !bytes.Contains(b, []byte("%40")) {
		return b
	}
	return address.ReplaceAll(b, []byte(Mask+"${1}${2}"))
}

// String is Emails for a string.
func String(s string) string { return string(Emails([]byte(s))) }

// Writer redacts the lines of a zerolog logger above debug level before
// they reach the underlying writer; debug and trace lines pass unchanged,
// for the developer who turned them on.
type Writer struct {
	w io.Writer
}

// NewWriter wraps w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

var _ zerolog.LevelWriter = (*Writer)(nil)

// Write redacts p: a line of unknown level is treated as above debug.
func (r *Writer) Write(p []byte) (int, error) {
	return r.write(Emails(p), len(p))
}

// WriteLevel redacts p unless level is debug or trace.
func (r *Writer) WriteLevel(level zerolog.Level, p []byte) (int, error) {
	if level == zerolog.DebugLevel || level == zerolog.TraceLevel {
		return r.w.Write(p)
	}
	return r.write(Emails(p), len(p))
}

// write reports len(p) written on success whatever the redacted length,
// since callers compare the count with what they passed.
func (r *Writer) write(out []byte, n int) (int, error) {
	if _, err := r.w.Write(out); err != nil {
		return 0, err
	}
	return n, nil
}
