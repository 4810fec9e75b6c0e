package mandrill_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/longtailhq/longtail/webhook"
	"github.com/longtailhq/longtail/webhook/mandrill"
)

// The published Mandrill vector: a test batch of a send, a hard bounce and
// an open, signed for the URL configured at Mandrill.
func Example() {
	p, err := mandrill.New(mandrill.Config{Key: "f7YEknp5hLvZVw6BNSaM6g", URL: "http://requestb.in/wvhpa9wv"})
	if err != nil {
		panic(err)
	}
	events, err := os.ReadFile("../../testdata/webhooks/mandrill/signature-vector/mandrill_events.value.json")
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	h.Set(mandrill.SignatureHeader, "NnvRYvKo0gA99/YGgRSb2JS4c/Y=")
	res, err := p.Handle(context.Background(), &webhook.Request{
		Method: http.MethodPost, Header: h, Now: time.Now(),
		Body: []byte(url.Values{"mandrill_events": {string(events)}}.Encode()),
	})
	if err != nil {
		panic(err)
	}
	for _, ev := range res.Events {
		fmt.Println(ev.Type, ev.Bounce, ev.Email, ev.OccurredAt.Format(time.RFC3339))
	}
	fmt.Println(res.Ignored)

	// The creation probe is answered without a signature.
	res, err = p.Handle(context.Background(), &webhook.Request{Method: http.MethodHead})
	fmt.Println(res.Reply.Status, err)
	// Output:
	// email.bounce hard example.webhook@mandrillapp.com 2015-05-22T21:02:27Z
	// email.open  example.webhook@mandrillapp.com 2015-05-22T21:02:27Z
	// map[send:1]
	// 200 <nil>
}
