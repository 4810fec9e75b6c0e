package mailgun_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/longtailhq/longtail/webhook"
	"github.com/longtailhq/longtail/webhook/mailgun"
)

func Example() {
	p, err := mailgun.New(mailgun.Config{SigningKey: "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"})
	if err != nil {
		panic(err)
	}
	body := `{"signature":{"timestamp":"1403645220","token":"5egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6",
		"signature":"9cfc5c41582e51246e73c88d34db3af0a3a2692a76fbab81492842f000256d33"},
	 "event-data":{"event":"clicked","id":"G5zMz2ysS6OxZ2C8xb2Tqg","timestamp":1403645219.5,"recipient":"jane@acme.example",
		"url":"https://vendor.example/deal-registration","user-variables":{"lt_flow":"msp-onboarding","lt_step":"welcome"}}}`
	res, err := p.Handle(context.Background(), &webhook.Request{
		Method: http.MethodPost, Header: http.Header{}, Body: []byte(body), Now: time.Unix(1403645230, 0),
	})
	if err != nil {
		panic(err)
	}
	e := res.Events[0]
	fmt.Println(e.ID, e.Type, e.Email, e.URL)
	fmt.Println(e.OccurredAt.Format(time.RFC3339Nano), e.Flow, e.Step)
	// Output:
	// mailgun:G5zMz2ysS6OxZ2C8xb2Tqg email.click jane@acme.example https://vendor.example/deal-registration
	// 2014-06-24T21:26:59.5Z msp-onboarding welcome
}
