package ident_test

import (
	"errors"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/longtailhq/longtail/ident"
)

// TestMain fails the test binary when a goroutine outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id      string
		ok      bool
		missing bool
	}{
		{id: "acme", ok: true},
		{id: "c_cd5decc91f7ef6fe", ok: true},
		{id: "jane.doe+crm@acme.example", ok: true},
		{id: "P-42", ok: true},
		{id: strings.Repeat("a", ident.MaxLen), ok: true},
		{id: "", missing: true},
		{id: strings.Repeat("a", ident.MaxLen+1)},
		{id: "_leading"},
		{id: "-leading"},
		{id: "{p:x}"},
		{id: "a:b"},
		{id: "a b"},
		{id: "a\nb"},
		{id: "a/b"},
		{id: "é"},
	}
	for _, tt := range tests {
		err := ident.Check("partner_id", tt.id)
		if (err == nil) != tt.ok || ident.Valid(tt.id) != tt.ok {
			t.Errorf("Check(%q) = %v, Valid = %v; want ok %v", tt.id, err, ident.Valid(tt.id), tt.ok)
			continue
		}
		if tt.ok {
			continue
		}
		var e *ident.Error
		if !errors.As(err, &e) || e.Field != "partner_id" || e.Missing != tt.missing {
			t.Errorf("Check(%q) = %#v, want an *ident.Error for partner_id, missing %v", tt.id, err, tt.missing)
		}
		if !strings.Contains(err.Error(), "partner_id") {
			t.Errorf("Check(%q) = %q: the message does not name the field", tt.id, err)
		}
	}
}
