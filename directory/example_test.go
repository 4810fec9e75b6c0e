package directory_test

import (
	"context"
	"fmt"

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
	if _, _, err := store.PutContact(ctx, directory.Contact{Email: "bad-address", PartnerID: "acme", FirstName: "Joe"}); err != nil {
		fmt.Println(err)
	}
	if _, _, err := store.PutContact(ctx, directory.Contact{Email: "Jane@Acme.example", PartnerID: "acme", FirstName: "Jane",
		Persona: "technical", Locale: "fr"}); err != nil {
		panic(err)
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
	// invalid email: "bad-address" is not a valid address
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
