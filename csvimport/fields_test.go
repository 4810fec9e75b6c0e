package csvimport

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// phone and title are documented contact columns, phone and website
// partner columns: they fill fields, not attributes, and a bad one rejects
// its row with the line and the field.
func TestImportPhoneTitleWebsite(t *testing.T) {
	t.Parallel()
	f := setup(t)
	partners := "id,name,phone,website\np1,Acme,+33 1 00,https://acme.example\np2,Globex,,www.globex.example\n"
	rep, err := Import(f.ctx, f.store, KindPartners, strings.NewReader(partners), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 1 || len(rep.Errors) != 1 || rep.Errors[0].Line != 3 || !strings.Contains(rep.Errors[0].Reason, "website") {
		t.Errorf("partners report %+v: want p1 imported and line 3 refused for its website", rep)
	}
	p, err := f.store.GetPartner(f.ctx, "p1")
	if err != nil || p.Phone != "+33 1 00" || p.Website != "https://acme.example" || p.Attrs != nil {
		t.Errorf("partner %+v, %v", p, err)
	}
	contacts := "email,partner_id,first_name,title,phone\njane@acme.example,p1,Jane,IT manager,+33 6 12\n"
	if rep, err := Import(f.ctx, f.store, KindContacts, strings.NewReader(contacts), Options{}); err != nil || rep.Imported != 1 {
		t.Fatalf("contacts: %+v, %v", rep, err)
	}
	c, err := f.store.LookupContact(f.ctx, "jane@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"IT manager", "+33 6 12"}, []string{c.Title, c.Phone}); diff != "" || c.Attrs != nil {
		t.Errorf("contact title and phone (-want, +got):\n%s (attrs %v)", diff, c.Attrs)
	}
}
