package tracking_test

import (
	"fmt"

	"github.com/longtailhq/longtail/tracking"
)

// The nurture sender signs one token per link when it renders a mail and
// puts it in a path under the server's public base URL; the handler
// registered at that base verifies it when the link is followed.
func ExampleSigner_Sign() {
	signer, err := tracking.NewSigner([]byte("an example secret of at least 32 bytes"))
	if err != nil {
		panic(err)
	}
	claims := tracking.Claims{
		ContactID: "c42",
		Flow:      "msp-onboarding",
		Step:      "welcome",
		MessageID: "m7",
		Topic:     "security",
		URL:       "https://vendor.example/security",
	}
	token, err := signer.Sign(tracking.KindClick, claims)
	if err != nil {
		panic(err)
	}
	fmt.Println("https://t.vendor.example" + tracking.KindClick.Path(token))

	kind, got, err := signer.Verify(token)
	fmt.Println(kind, got.ContactID, got.URL, err)

	_, err = signer.Sign(tracking.KindClick, tracking.Claims{ContactID: "c42", URL: "javascript:alert(1)"})
	fmt.Println(err)
	// Output:
	// https://t.vendor.example/t/c/AQIDYzQyAA5tc3Atb25ib2FyZGluZwd3ZWxjb21lAm03CHNlY3VyaXR5H2h0dHBzOi8vdmVuZG9yLmV4YW1wbGUvc2VjdXJpdHkA.K_vDeJNeB8eAkJgSRIEWkQ
	// click c42 https://vendor.example/security <nil>
	// tracking: click token: url "javascript:alert(1)" must be absolute http or https
}
