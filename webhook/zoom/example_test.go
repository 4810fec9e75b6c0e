package zoom_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/longtailhq/longtail/webhook"
	"github.com/longtailhq/longtail/webhook/zoom"
)

// Zoom's URL validation challenge, as captured in the ZoomNet vector: the
// reply proves the endpoint knows the secret token.
func Example() {
	p, err := zoom.New(zoom.Config{SecretToken: "4fv1RkqGQUq5sWbEz6hA5A", MaxAge: 5 * time.Minute})
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	h.Set(zoom.TimestampHeader, "1720705455")
	h.Set(zoom.SignatureHeader, "v0=93a1a675965ceb9c5a50c5dfb31f20e50f763be37a54ef74cd2d16a1a8e5c0d6")
	body := `{"payload":{"plainToken":"xys8n8PGS7mAU0m5-YJjRA"},"event_ts":1720705455858,"event":"endpoint.url_validation"}`
	req := &webhook.Request{Method: http.MethodPost, Header: h, Body: []byte(body), Now: time.Unix(1720705460, 0)}
	res, err := p.Handle(context.Background(), req)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Reply.Status, res.Reply.ContentType)
	fmt.Println(string(res.Reply.Body))

	// The same request an hour later falls outside the replay window.
	req.Now = req.Now.Add(time.Hour)
	_, err = p.Handle(context.Background(), req)
	fmt.Println(err)
	// Output:
	// 200 application/json
	// {"plainToken":"xys8n8PGS7mAU0m5-YJjRA","encryptedToken":"2fffc6a967dde4f68024025a5bd991c5ae1e5313b4e6365be4883e3e81d479b3"}
	// webhook authentication failed: signed timestamp 2024-07-11T13:44:15Z is outside the 5m0s replay window
}
