package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/scoring"
)

// The call card shows the contact's phone and title and the partner's
// phone and website, all directory fields (issue 13).
func TestCallCardShowsPhonesTitleAndWebsite(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})
	tok := f.rep(t, "rep1", nil)
	if _, _, err := f.dir.PutPartner(f.ctx, directory.Partner{ID: "acme", Name: "Acme IT", OwnerRepID: "rep1",
		Phone: "+33 1 40 00 00 00", Website: "https://acme.example"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.dir.PutContact(f.ctx, directory.Contact{ID: "c1", PartnerID: "acme", Email: "jane@acme.example",
		FirstName: "Jane", LastName: "Doe", Title: "IT manager", Phone: "+33 6 12 34 56 78"}); err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	for i := range 2 {
		evs = append(evs, event.Event{ID: fmt.Sprint("w", i), Type: event.WebinarAttended, Source: "test",
			OccurredAt: f.clock.Now().Add(-time.Hour), Title: "Securing SMB storage"})
	}
	res, err := f.eng.Apply(f.ctx, scoring.Target{PartnerID: "acme", ContactID: "c1"}, evs)
	if err != nil || res.Crossing == nil {
		t.Fatalf("no crossing: %v", err)
	}
	if _, _, err := f.q.Handoff(f.ctx, "acme", res.Crossing.Seq, res.Crossing.CrossedAt); err != nil {
		t.Fatal(err)
	}
	c := f.client(t)
	c.login(tok)
	body, _ := c.queue()
	for _, want := range []string{
		`<p class="contact-title muted">IT manager</p>`,
		`href="tel:&#43;33612345678"`, "&#43;33 6 12 34 56 78",
		`href="tel:&#43;33140000000" class="tel partner-phone">&#43;33 1 40 00 00 00</a>`,
		`<a href="https://acme.example" class="partner-website" rel="noopener noreferrer">https://acme.example</a>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("queue page lacks %q", want)
		}
	}
}
