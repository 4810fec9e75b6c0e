package directory_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func ExampleStore() {
	rdb, stop := exampleRedis()
	defer stop()
	ctx := context.Background()
	store, err := directory.New(rdb, directory.Config{})
	if err != nil {
		panic(err)
	}

	// Partners first: a contact's partner must exist.
	if _, _, err := store.PutPartner(ctx, directory.Partner{ID: "acme", Name: "Acme IT", Type: "msp", Country: "FR"}); err != nil {
		panic(err)
	}
	report, err := store.Import(ctx, directory.KindContacts, strings.NewReader(
		"email,partner_id,first_name,persona,locale\n"+
			"Jane@Acme.example,acme,Jane,technical,fr\n"+
			"bad-address,acme,Joe,sales,en\n"),
		directory.ImportOptions{Name: "contacts.csv"})
	if err != nil {
		panic(err)
	}
	fmt.Printf("imported %d, rejected %d\n", report.Imported, report.Rejected)
	for _, e := range report.Errors {
		fmt.Printf("contacts.csv:%d: %s\n", e.Line, e.Reason)
	}

	// Lookups by email ignore case and surrounding space.
	c, err := store.LookupContact(ctx, " JANE@acme.example")
	if err != nil {
		panic(err)
	}
	fmt.Println(c.ID, c.PartnerID, c.FirstName, c.Persona, c.Locale, c.Consent)

	// An address seen for the first time becomes an unassigned contact.
	lead, created, err := store.EnsureContact(ctx, "visitor@prospect.example")
	if err != nil {
		panic(err)
	}
	fmt.Println(lead.ID, lead.PartnerID, created)
	// Output:
	// imported 1, rejected 1
	// contacts.csv:3: invalid email: "bad-address" is not a valid address
	// c_cd5decc91f7ef6fe acme Jane technical fr unknown
	// c_152c0ae7edadca5c unassigned true
}

// exampleRedis starts a throw-away redis-server for the example, which
// has no *testing.T to hand to redistest.New.
func exampleRedis() (*redis.Client, func()) {
	srv, err := redistest.Start()
	if err != nil {
		panic(err)
	}
	rdb := redis.NewClient(srv.Options())
	return rdb, func() {
		rdb.Close()
		srv.Close()
	}
}
