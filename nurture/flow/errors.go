package flow

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a flow file, where it is: the position of the
// offending value (or of the unknown key, or of the mapping that lacks a
// required key) and the field's path, e.g. steps[2].wait_for.within.
type Error struct {
	File      string
	Line, Col int
	Field     string
	Msg       string
}

// Error formats the problem as file:line:col: field: message, the form
// editors and CI logs link to.
func (e *Error) Error() string {
	field := e.Field
	if field == "" {
		field = "(file)"
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", e.File, e.Line, e.Col, field, e.Msg)
}

// ErrorList is every problem found in a set of flow files, in file and
// position order. Load returns one rather than stopping at the first
// problem, so a whole directory is fixed in one pass.
type ErrorList []*Error

// Error joins the problems, one a line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (l ErrorList) sort() {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}
