package directory

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Phone and title are contact fields, phone and website partner fields
// (issue 13: the call card showed no phone, which only an undocumented CSV
// column could fill, as an attribute).
func TestContactAndPartnerContactFields(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if _, _, err := f.store.PutPartner(f.ctx, Partner{ID: "acme", Name: "Acme", Phone: " +33 1 00 00 00 00 ",
		Website: "https://acme.example"}); err != nil {
		t.Fatal(err)
	}
	p, err := f.store.GetPartner(f.ctx, "acme")
	if err != nil || p.Phone != "+33 1 00 00 00 00" || p.Website != "https://acme.example" {
		t.Fatalf("partner %+v, %v: want its phone and website", p, err)
	}
	if _, _, err := f.store.PutContact(f.ctx, Contact{ID: "c1", PartnerID: "acme", Email: "jane@acme.example",
		Title: "IT manager", Phone: "+33 6 12 34 56 78"}); err != nil {
		t.Fatal(err)
	}
	c, err := f.store.GetContact(f.ctx, "c1")
	if err != nil || c.Title != "IT manager" || c.Phone != "+33 6 12 34 56 78" || c.Attrs != nil {
		t.Fatalf("contact %+v, %v: want title and phone as fields", c, err)
	}

	// Written as an attribute (by an older version, or a client that
	// still sends one), read as the field.
	if _, _, err := f.store.PutContact(f.ctx, Contact{ID: "c2", PartnerID: "acme", Email: "marc@acme.example",
		Attrs: map[string]string{"phone": "+33 7 00", "title": "CEO", "crm": "9"}}); err != nil {
		t.Fatal(err)
	}
	c, err = f.store.GetContact(f.ctx, "c2")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Contact{ID: "c2", PartnerID: "acme", Email: "marc@acme.example", Title: "CEO", Phone: "+33 7 00",
		Consent: ConsentUnknown, Attrs: map[string]string{"crm": "9"}, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}, c); diff != "" {
		t.Errorf("contact with phone and title attributes (-want, +got):\n%s", diff)
	}
	old := stamp(f.clock.Now().UnixMilli())
	body := strings.Join([]string{"old@acme.example", "", "", "", "", "", "", `{"phone":"+1 555"}`}, contactSep)
	f.rdb.Set(f.ctx, contactKey("acme", "c3"), old+" "+old+" "+body, 0)
	if c, err := decodeContact("acme", "c3", f.rdb.Get(f.ctx, contactKey("acme", "c3")).Val()); err != nil || c.Phone != "+1 555" || c.Attrs != nil {
		t.Errorf("stored with a phone attribute: %+v, %v; want the phone field", c, err)
	}

	for _, bad := range []struct {
		p     Partner
		field string
	}{
		{Partner{ID: "x", Name: "X", Website: "acme.example"}, "website"},
		{Partner{ID: "x", Name: "X", Website: "javascript:alert(1)"}, "website"},
		{Partner{ID: "x", Name: "X", Phone: strings.Repeat("1", maxPhone+1)}, "phone"},
	} {
		if err := bad.p.Validate(); err == nil || !strings.Contains(err.Error(), bad.field) {
			t.Errorf("Validate(%+v) = %v, want an error naming %s", bad.p, err, bad.field)
		}
	}
	long := Contact{Email: "a@b.example", Title: strings.Repeat("t", maxText+1)}
	if err := long.Validate(); err == nil || !strings.Contains(err.Error(), "title") {
		t.Errorf("a title over %d bytes: %v", maxText, err)
	}
}
