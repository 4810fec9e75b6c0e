package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// phone and title (contacts), phone and website (partners) are fields of
// the API, as of the CSV files (issue 13); a bad website is a 400 naming it.
func TestDirectoryPhoneTitleWebsite(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if r := f.call(t, "PUT", "/v1/partners/acme", adminKey, "application/json",
		`{"name":"Acme","phone":"+33 1 40","website":"https://acme.example"}`); r.status != 200 && r.status != 201 {
		t.Fatalf("PUT partner: %d %s", r.status, r.body)
	}
	if r := f.call(t, "PUT", "/v1/contacts/c1", adminKey, "application/json",
		`{"partner_id":"acme","email":"jane@acme.example","title":"IT manager","phone":"+33 6 12"}`); r.status != 200 && r.status != 201 {
		t.Fatalf("PUT contact: %d %s", r.status, r.body)
	}
	var p struct{ Phone, Website string }
	if r := f.call(t, "GET", "/v1/partners/acme", adminKey, "", ""); json.Unmarshal(r.body, &p) != nil || p.Phone != "+33 1 40" || p.Website != "https://acme.example" {
		t.Errorf("GET partner: %s", r.body)
	}
	var c struct{ Phone, Title string }
	if r := f.call(t, "GET", "/v1/contacts/jane@acme.example", adminKey, "", ""); json.Unmarshal(r.body, &c) != nil || c.Phone != "+33 6 12" || c.Title != "IT manager" {
		t.Errorf("GET contact: %s", r.body)
	}
	r := f.call(t, "PUT", "/v1/partners/globex", adminKey, "application/json", `{"name":"Globex","website":"ftp://globex.example"}`)
	if r.status != 400 || !strings.Contains(string(r.body), "website") {
		t.Errorf("PUT a partner with an ftp website: %d %s, want 400 naming website", r.status, r.body)
	}
}
