package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/internal/redistest"
)

// TestNoSMTPURLGoesToTheOutbox is `longtail serve` with no smtp.url: it
// starts the embedded SMTP server, says where the outbox is, and a rep
// notification sent by the worker over SMTP shows at /ui/outbox for an
// admin signed in with the API key.
func TestNoSMTPURLGoesToTheOutbox(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	env := []string{"LONGTAIL_API_KEYS=" + testAPIKey, "LONGTAIL_LOG_LEVEL=warn", "LONGTAIL_REDIS_URL=" + redistest.URL(t)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0"}, env, stdout, stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop within 20s")
		}
	})
	outboxLine := regexp.MustCompile(`longtail outbox at (http://\S+)/ui/outbox`)
	var base string
	eventually(t, 10*time.Second, func() error {
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s", err, stderr)
		default:
		}
		m := outboxLine.FindStringSubmatch(stdout.String())
		if m == nil {
			return errorf("no outbox line yet in:\n%s", stdout)
		}
		base = m[1]
		return nil
	})
	if !strings.Contains(stderr.String(), "embedded SMTP server") {
		t.Errorf("serve did not warn that mail goes to the embedded server:\n%s", stderr)
	}
	s := &service{URL: base, HTTP: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}}
	t.Cleanup(s.HTTP.CloseIdleConnections)
	for _, put := range [][2]string{
		{"/v1/reps/rep-a", `{"name":"Anne Martin","email":"anne@vendor.example","daily_capacity":5,"active":true}`},
		{"/v1/partners/acme", `{"name":"Acme Networks","type":"MSP","tier":"silver","owner_rep_id":"rep-a"}`},
		{"/v1/contacts/jane", `{"partner_id":"acme","email":"jane@acme.example","first_name":"Jane","persona":"technical"}`},
	} {
		if code := doAs(t, s, testAPIKey, "PUT", put[0], put[1], nil); code != 200 {
			t.Fatalf("PUT %s = %d", put[0], code)
		}
	}
	now := time.Now().UTC()
	var b strings.Builder
	for i := range 4 {
		fmt.Fprintf(&b, `{"id":"w-%d","type":"webinar.attended","email":"jane@acme.example","occurred_at":%q,"title":"Zero trust for MSPs"}`+"\n",
			i, now.Add(-time.Duration(i)*time.Hour).Format(time.RFC3339))
	}
	if code := doAs(t, s, testAPIKey, "POST", "/v1/events", b.String(), nil); code != 200 {
		t.Fatalf("POST /v1/events = %d", code)
	}

	// The admin's view of the outbox, signed in with the API key.
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: s.HTTP.Transport, Jar: jar}
	get := func(path string) string {
		t.Helper()
		resp, err := hc.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d", path, resp.StatusCode)
		}
		return string(body)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(get("/ui/login"))
	if csrf == nil {
		t.Fatal("no csrf field on the sign-in page")
	}
	req, _ := http.NewRequest("POST", base+"/ui/login", strings.NewReader(url.Values{"csrf": {csrf[1]}, "token": {testAPIKey}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.Request.URL.Path != "/ui/outbox" {
		t.Fatalf("admin sign-in ended at %s, want /ui/outbox", resp.Request.URL.Path)
	}
	eventually(t, 10*time.Second, func() error {
		if !strings.Contains(get("/ui/outbox"), `href="/ui/outbox/1"`) {
			return errorf("the rep notification is not in the outbox yet")
		}
		return nil
	})
	page := get("/ui/outbox/1")
	for _, want := range []string{"anne@vendor.example", "Acme Networks", "noreply@longtail.localhost"} {
		if !strings.Contains(page, want) {
			t.Errorf("the captured notification does not show %q:\n%s", want, page)
		}
	}
	if strings.Contains(get("/ui/outbox"), `href="/ui/outbox/2"`) {
		t.Error("the one hand-off was emailed twice")
	}
}
