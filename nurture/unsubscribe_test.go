package nurture_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/nurture"
)

func TestOptout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, err := directory.New(redistest.New(t), directory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := dir.PutPartner(ctx, directory.Partner{ID: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	jane := directory.Contact{ID: "jane", PartnerID: "acme", Email: "jane@acme.example", FirstName: "Jane", Persona: "technical",
		Locale: "fr-CA", Consent: directory.ConsentGranted, Attrs: map[string]string{"crm_id": "42"}}
	if _, _, err := dir.PutContact(ctx, jane); err != nil {
		t.Fatal(err)
	}
	o, err := nurture.NewOptout(dir)
	if err != nil {
		t.Fatal(err)
	}
	if loc, err := o.Locale(ctx, "jane"); err != nil || loc != "fr-CA" {
		t.Fatalf("Locale = %q, %v; want fr-CA", loc, err)
	}
	for i := range 2 { // the second time finds it done
		if err := o.Unsubscribe(ctx, "jane"); err != nil {
			t.Fatalf("Unsubscribe #%d: %v", i+1, err)
		}
		got, err := dir.GetContact(ctx, "jane")
		if err != nil {
			t.Fatal(err)
		}
		want := jane
		want.Consent = directory.ConsentWithdrawn
		// Only the consent changes.
		if diff := cmp.Diff(want, got, cmp.FilterPath(func(p cmp.Path) bool {
			return p.Last().String() == ".CreatedAt" || p.Last().String() == ".UpdatedAt"
		}, cmp.Ignore())); diff != "" {
			t.Fatalf("after Unsubscribe #%d (-want, +got):\n%s", i+1, diff)
		}
	}
	// A contact deleted since the email went out has nothing to withdraw.
	if err := o.Unsubscribe(ctx, "gone"); err != nil {
		t.Errorf("Unsubscribe of an unknown contact: %v", err)
	}
	if loc, err := o.Locale(ctx, "gone"); err != nil || loc != "" {
		t.Errorf("Locale of an unknown contact = %q, %v", loc, err)
	}
	if _, err := nurture.NewOptout(nil); err == nil {
		t.Error("NewOptout(nil) did not fail")
	}
}

func TestUnsubscribeMailto(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, set, smtpFrom, want, wantErr string
	}{
		{"default: smtp.from's address", "", "Vendor Partners <partners@vendor.example>", "partners@vendor.example", ""},
		{"default, bare smtp.from", "", "partners@vendor.example", "partners@vendor.example", ""},
		{"default without smtp.from: none", "", "", "", ""},
		{"set", "unsubscribe@vendor.example", "partners@vendor.example", "unsubscribe@vendor.example", ""},
		{"none", "none", "partners@vendor.example", "", ""},
		{"not an address", "unsubscribe", "", "", `nurture.unsubscribe_mailto: "unsubscribe" is not a bare email address`},
		{"a display name", "Unsub <u@vendor.example>", "", "", `nurture.unsubscribe_mailto: "Unsub <u@vendor.example>" is not a bare email address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := nurture.Config{UnsubscribeMailto: tt.set}
			err := c.Validate()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Validate() = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			if got := c.UnsubscribeAddress(tt.smtpFrom); got != tt.want {
				t.Errorf("UnsubscribeAddress(%q) = %q, want %q", tt.smtpFrom, got, tt.want)
			}
		})
	}
}
