package postmark_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"time"

	"github.com/longtailhq/longtail/webhook"
	"github.com/longtailhq/longtail/webhook/postmark"
)

func Example() {
	p, err := postmark.New(postmark.Config{BasicAuth: "postmark:s3cret"})
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("postmark:s3cret")))
	body := `{"RecordType":"Bounce","ID":4323372036854775807,"Type":"SoftBounce","TypeCode":4096,
		"MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","Email":"jane@acme.example","BouncedAt":"2025-04-05T16:33:54Z"}`
	res, err := p.Handle(context.Background(), &webhook.Request{Method: http.MethodPost, Header: h, Body: []byte(body), Now: time.Now()})
	if err != nil {
		panic(err)
	}
	e := res.Events[0]
	fmt.Println(e.ID, e.Type, e.Bounce, e.Email)

	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("postmark:guess")))
	_, err = p.Handle(context.Background(), &webhook.Request{Method: http.MethodPost, Header: h, Body: []byte(body), Now: time.Now()})
	fmt.Println(err)
	// Output:
	// postmark:4323372036854775807 email.bounce soft jane@acme.example
	// webhook authentication failed: wrong Basic credentials
}
