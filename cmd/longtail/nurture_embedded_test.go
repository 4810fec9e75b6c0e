package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/outbox"
	"github.com/longtailhq/longtail/redisconn"
)

// `longtail serve` with no configuration at all (embedded Redis, embedded
// SMTP server, no tracking.secret): enrolling a contact puts the rendered
// email in the outbox within seconds (issue 12). The flow and its template
// are a test's, for a window that is always open: the shipped flows keep
// office hours, and this test runs whatever the day.
func TestServeWithNoConfigurationEnrolsIntoTheOutbox(t *testing.T) {
	t.Parallel()
	_, flows, tmpls := nurtureFiles(t, map[string]string{"e2e.yaml": e2eFlow})
	sv := startServe(t, []string{"LONGTAIL_API_KEYS=" + testAPIKey, "LONGTAIL_LOG_LEVEL=warn",
		"LONGTAIL_NURTURE_FLOWS_DIR=" + flows, "LONGTAIL_NURTURE_TEMPLATES_DIR=" + tmpls}, func(s string) bool {
		return strings.Contains(s, "scheduler started") && redisLineRE.MatchString(s)
	})
	out := sv.stdout.String()
	s := &service{URL: listenRE.FindStringSubmatch(out)[1], HTTP: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}}
	t.Cleanup(s.HTTP.CloseIdleConnections)
	for _, put := range [][2]string{
		{"/v1/reps/rep-a", `{"name":"Anne Martin","email":"anne@vendor.example","daily_capacity":5,"active":true}`},
		{"/v1/partners/acme", `{"name":"Acme Networks","type":"MSP","owner_rep_id":"rep-a"}`},
		{"/v1/contacts/jane", `{"partner_id":"acme","email":"jane@acme.example","first_name":"Jane","consent":"granted"}`},
	} {
		if code := doAs(t, s, testAPIKey, "PUT", put[0], put[1], nil); code != 200 {
			t.Fatalf("PUT %s = %d", put[0], code)
		}
	}
	if code := doAs(t, s, testAPIKey, "POST", "/v1/flows/e2e/enrollments", `{"contact_id":"jane"}`, nil); code != http.StatusCreated {
		t.Fatalf("POST /v1/flows/e2e/enrollments = %d, want 201", code)
	}
	rdb, _, err := redisconn.Open(redisLineRE.FindStringSubmatch(out)[1])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	box, err := outbox.NewStore(rdb, outbox.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var got []outbox.Message
	eventually(t, 10*time.Second, func() error {
		if got, err = box.List(context.Background(), 10); err != nil {
			return err
		}
		if len(got) == 0 {
			return fmt.Errorf("the outbox is empty")
		}
		return nil
	})
	m, err := box.Get(context.Background(), got[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || m.Subject != "Hello Jane" || m.Flow != "e2e" || m.Step != "welcome" ||
		!strings.Contains(m.Text, "Anne Martin") || !strings.Contains(m.Text, "/t/c/") {
		t.Errorf("outbox %d message(s), first %+v: want the welcome email of flow e2e from Anne, with a tracked link", len(got), m)
	}
}
