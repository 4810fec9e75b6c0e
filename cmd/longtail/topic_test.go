package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/tracking"
)

// TestTrackedClickGetsTheURLTopic: a click on one of our own tracked links
// goes through the same topic rules as a provider's click webhook, so a
// link to a /security/ page counts toward the security interest even
// though the token names no topic.
func TestTrackedClickGetsTheURLTopic(t *testing.T) {
	t.Parallel()
	secret := strings.Repeat("s", 40)
	cfg := filepath.Join(t.TempDir(), "longtail.yaml")
	if err := os.WriteFile(cfg, []byte("topics:\n  - topic: security\n    url_contains: [/security/]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startService(t, "LONGTAIL_CONFIG="+cfg, "LONGTAIL_REDIS_URL="+redistest.URL(t), "LONGTAIL_TRACKING_SECRET="+secret)
	if code := s.do(t, "PUT", "/v1/partners/acme", "application/json", strings.NewReader(`{"name":"Acme"}`), nil); code != 200 {
		t.Fatal(code)
	}
	if code := s.do(t, "PUT", "/v1/contacts/jane", "application/json", strings.NewReader(`{"partner_id":"acme","email":"jane@acme.example"}`), nil); code != 200 {
		t.Fatal(code)
	}
	signer, err := tracking.NewSigner([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	click, err := signer.Sign(tracking.KindClick, tracking.Claims{ContactID: "jane", PartnerID: "acme", MessageID: "m-7", URL: "https://vendor.example/security/edr"})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", s.URL+tracking.KindClick.Path(click), nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (Macintosh) Safari/605.1.15") // a person, not a scanner
	resp, err := s.NoRedirect().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("click: %d", resp.StatusCode)
	}
	var c contactJSON
	eventually(t, 10*time.Second, func() error {
		if code := s.do(t, "GET", "/v1/contacts/jane", "", nil, &c); code != 200 || len(c.Timeline) == 0 {
			return errorf("GET contact = %d, timeline %+v", code, c.Timeline)
		}
		return nil
	})
	if len(c.Timeline) != 1 || c.Timeline[0].Type != "email.click" || c.Timeline[0].Topic != "security" {
		t.Errorf("timeline %+v, want one click on topic security", c.Timeline)
	}
	if c.Interests["security"] < 4.99 {
		t.Errorf("interests %v, want 5 on security", c.Interests)
	}
}
