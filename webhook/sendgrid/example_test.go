package sendgrid_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/longtailhq/longtail/webhook"
	"github.com/longtailhq/longtail/webhook/sendgrid"
)

// The published SendGrid vector: a signed "dropped" event, which longtail
// does not score and so counts as ignored.
func Example() {
	p, err := sendgrid.New(sendgrid.Config{
		PublicKey: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==",
		MaxAge:    5 * time.Minute,
	})
	if err != nil {
		panic(err)
	}
	body := `[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]` + "\r\n"
	h := http.Header{}
	h.Set(sendgrid.HeaderTimestamp, "1600112502")
	h.Set(sendgrid.HeaderSignature, "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=")
	res, err := p.Handle(context.Background(), &webhook.Request{
		Method: http.MethodPost, Header: h, Body: []byte(body), Now: time.Unix(1600112530, 0),
	})
	fmt.Println(len(res.Events), res.Ignored, err)

	// Re-encoding the body (here: dropping the CRLF) breaks the signature.
	_, err = p.Handle(context.Background(), &webhook.Request{
		Method: http.MethodPost, Header: h, Body: []byte(body[:len(body)-2]), Now: time.Unix(1600112530, 0),
	})
	fmt.Println(err)
	// Output:
	// 0 map[dropped:1] <nil>
	// webhook authentication failed: signature does not match
}
