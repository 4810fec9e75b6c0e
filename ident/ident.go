// Package ident is the one rule for the ids of partners, contacts and reps,
// wherever they arrive: the directory stores them, the scoring engine and
// the rep queue build Redis keys from them, events and API paths carry
// them.
//
// An id starts with a letter or digit and holds only letters, digits and
// . _ @ + - , at most MaxLen bytes. So an id can never contain '{', '}'
// (it could not move a key into another Redis Cluster slot), ':' (it could
// not reach another key namespace) or white space, and the derived contact
// ids ("c_" + hex) and e-mail-like ids a CRM exports both fit.
package ident

import (
	"fmt"
	"regexp"
)

// MaxLen is the longest id, in bytes.
const MaxLen = 128

var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$`)

// Valid reports whether id follows the rule.
func Valid(id string) bool { return idRE.MatchString(id) }

// Error says why an id was refused. Packages wrap it in their own sentinel
// (directory.ErrInvalid, repqueue.ErrInvalid, scoring.ErrInvalidTarget).
type Error struct {
	// Field is the name the caller gave the id ("partner_id", "id"...).
	Field string
	// Missing is set when the id was empty.
	Missing bool
	// ID is the refused id.
	ID string
}

func (e *Error) Error() string {
	if e.Missing {
		return "missing " + e.Field
	}
	return fmt.Sprintf("invalid %s: %q must start with a letter or digit and contain only letters, digits and . _ @ + - (at most %d)",
		e.Field, e.ID, MaxLen)
}

// Check returns nil for a valid id and an *Error naming field otherwise;
// an empty id is an error too (Missing).
func Check(field, id string) error {
	if id == "" {
		return &Error{Field: field, Missing: true}
	}
	if !Valid(id) {
		return &Error{Field: field, ID: id}
	}
	return nil
}
