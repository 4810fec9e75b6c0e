package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/tracking"
)

// TestOneClickUnsubscribeOnServe checks the wiring of /u/{token} in serve:
// a one-click POST with nothing but the signed token stops nurture mail at
// once, and its email.unsubscribe event reaches the contact's timeline.
func TestOneClickUnsubscribeOnServe(t *testing.T) {
	t.Parallel()
	secret := strings.Repeat("u", 40)
	s := startService(t, "LONGTAIL_REDIS_URL="+redistest.URL(t), "LONGTAIL_TRACKING_SECRET="+secret)
	if code := s.do(t, "PUT", "/v1/partners/acme", "application/json", strings.NewReader(`{"name":"Acme"}`), nil); code != 200 {
		t.Fatal(code)
	}
	if code := s.do(t, "PUT", "/v1/contacts/jane", "application/json", strings.NewReader(`{"partner_id":"acme","email":"jane@acme.example","consent":"granted"}`), nil); code != 200 {
		t.Fatal(code)
	}
	var mailable struct {
		Allowed bool   `json:"allowed"`
		Reason  string `json:"reason"`
	}
	if code := s.do(t, "GET", "/v1/contacts/jane/mailable", "", nil, &mailable); code != 200 || !mailable.Allowed {
		t.Fatalf("before: %d %+v", code, mailable)
	}
	signer, err := tracking.NewSigner([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := signer.Sign(tracking.KindUnsubscribe, tracking.Claims{ContactID: "jane", PartnerID: "acme", Flow: "dealreg-owner-manager", Step: "welcome", MessageID: "n.1@longtail"})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{
		tracking.KindUnsubscribe.Path(tok[:len(tok)-2] + "AA"): 404, // forged: changes nothing
		tracking.KindUnsubscribe.Path(tok):                     200,
	} {
		// As a mailbox provider sends it: no API key, no cookie.
		req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader("List-Unsubscribe=One-Click"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := s.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("POST %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
	if code := s.do(t, "GET", "/v1/contacts/jane/mailable", "", nil, &mailable); code != 200 || mailable.Allowed || mailable.Reason != "consent_withdrawn" {
		t.Fatalf("right after the 200: %d %+v, want refused for consent_withdrawn", code, mailable)
	}
	eventually(t, 10*time.Second, func() error {
		var c contactJSON
		if code := s.do(t, "GET", "/v1/contacts/jane", "", nil, &c); code != 200 || len(c.Timeline) != 1 || c.Timeline[0].Type != "email.unsubscribe" {
			return errorf("GET contact = %d, timeline %+v", code, c.Timeline)
		}
		return nil
	})
}
