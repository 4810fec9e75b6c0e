package brevo_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/longtailhq/longtail/webhook"
	"github.com/longtailhq/longtail/webhook/brevo"
)

func Example() {
	p, err := brevo.New(brevo.Config{Token: "hook-token"})
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer hook-token")
	body := `{"event":"proxy_open","email":"jane@acme.example","message-id":"<1@smtp-relay.mailin.fr>",
		"ts_epoch":1520363423000,"subject":"Deal registration made easy",
		"X-Mailin-custom":"{\"lt_contact\":\"c-42\"}"}`
	res, err := p.Handle(context.Background(), &webhook.Request{Method: http.MethodPost, Header: h, Body: []byte(body), Now: time.Now()})
	if err != nil {
		panic(err)
	}
	e := res.Events[0]
	fmt.Println(e.Type, e.ContactID, e.Title)
	fmt.Println(e.Machine, e.MachineReason, e.OccurredAt.Format(time.RFC3339Nano))
	// Output:
	// email.open c-42 Deal registration made easy
	// true brevo proxy_open 2018-03-06T19:10:23Z
}
