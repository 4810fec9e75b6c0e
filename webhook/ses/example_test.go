package ses_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/longtailhq/longtail/webhook"
	"github.com/longtailhq/longtail/webhook/ses"
)

// A real SNS notification verified against a pinned copy of AWS's signing
// certificate. Its message is not an SES event, so it is acknowledged and
// counted as ignored.
func Example() {
	p, err := ses.New(ses.Config{
		// Holds SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem,
		// the last path element of the message's SigningCertURL.
		CertDir:   "../../testdata/webhooks/amazon-ses-sns/sns-signature-vectors",
		TopicARNs: []string{"arn:aws:sns:us-east-2:295079676684:publish-and-verify-62674b1d-4295-426b-88e7-5fb75652a04e"},
	})
	if err != nil {
		panic(err)
	}
	body, err := os.ReadFile("../../testdata/webhooks/amazon-ses-sns/sns-signature-vectors/http-notification-2-sigv2.json")
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	res, err := p.Handle(context.Background(), &webhook.Request{
		Method: http.MethodPost, Header: h, Body: body, Now: time.Date(2022, 7, 28, 21, 24, 9, 0, time.UTC),
	})
	fmt.Println(len(res.Events), res.Ignored, err)
	// Output:
	// 0 map[Notification:1] <nil>
}
