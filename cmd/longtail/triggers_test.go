package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/smtptest"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/redisconn"
)

// Two flows, one per trigger source wired outside ingest: a new contact,
// and a partner entering the RFM segment "lost" (a partner that never
// engaged ranks there at its first ranking).
var triggerFlows = map[string]string{
	"created.yaml": `id: created
name: New contacts
triggers: [contact.created]
window: always
steps:
  - {id: hello, send: hello}
`,
	"segment.yaml": `id: segment
name: Lost partners
triggers: [{segment: lost}]
window: always
steps:
  - {id: hello, send: hello}
`,
}

// startTriggers runs serve with triggerFlows, a real SMTP server and a
// real Redis, with a rep and the partner acme (no contact yet).
func startTriggers(t *testing.T) (*service, *smtptest.Server, *nurture.Store, string) {
	t.Helper()
	smtp := smtptest.Start(t)
	dir, flows, tmpls := nurtureFiles(t, triggerFlows)
	cfgPath := filepath.Join(dir, "longtail.yaml")
	cfg := fmt.Sprintf(`
smtp:
  url: %q
  from: "Vendor Partners <partners@vendor.example>"
tracking:
  secret: %q
nurture:
  flows_dir: %q
  templates_dir: %q
  frequency_cap: {count: 10, per: 7d}
`, smtp.URL, strings.Repeat("k", 32), flows, tmpls)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	redisURL := redistest.URL(t)
	s := startService(t, "LONGTAIL_CONFIG="+cfgPath, "LONGTAIL_REDIS_URL="+redisURL)
	for _, put := range [][2]string{
		{"/v1/reps/rep-a", `{"name":"Anne Martin","email":"anne@vendor.example","daily_capacity":5,"active":true}`},
		{"/v1/partners/acme", `{"name":"Acme Networks","type":"MSP","tier":"silver","owner_rep_id":"rep-a"}`},
	} {
		if code := doAs(t, s, testAPIKey, "PUT", put[0], put[1], nil); code != 200 {
			t.Fatalf("PUT %s = %d", put[0], code)
		}
	}
	rdb, _, err := redisconn.Open(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	store, err := nurture.NewStore(rdb)
	if err != nil {
		t.Fatal(err)
	}
	return s, smtp, store, dir
}

// recipients lists who got mail, sorted, one entry per message.
func recipients(smtp *smtptest.Server) []string {
	var out []string
	for _, m := range smtp.Messages() {
		out = append(out, strings.Join(m.To, ","))
	}
	slices.Sort(out)
	return out
}

// contact.created fires from PUT /v1/contacts/{id} and from the CSV
// import, for new contacts only and once; a ranking run fires {segment:
// lost} for every contact of the partner that entered it, once.
func TestTriggersFromTheirSources(t *testing.T) {
	t.Parallel()
	s, smtp, store, dir := startTriggers(t)
	ctx := context.Background()
	jane := `{"partner_id":"acme","email":"jane@acme.example","first_name":"Jane","consent":"granted"}`
	for range 2 { // created, then updated: one trigger
		if code := doAs(t, s, testAPIKey, "PUT", "/v1/contacts/jane", jane, nil); code != 200 {
			t.Fatalf("PUT jane = %d", code)
		}
	}
	csv := filepath.Join(dir, "contacts.csv")
	body := "id,partner_id,email,first_name\njane,acme,jane@acme.example,Jane\nbob,acme,bob@acme.example,Bob\n"
	if err := os.WriteFile(csv, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 { // bob created, jane unchanged; then both unchanged
		s.cli(t, "import", "contacts", csv, "--quiet")
	}
	eventually(t, 15*time.Second, func() error {
		if got := recipients(smtp); !slices.Equal(got, []string{"bob@acme.example", "jane@acme.example"}) {
			return errorf("mail to %v, want bob and jane once each", got)
		}
		return nil
	})
	// The email is at the server before its step completes the enrollment.
	for _, cid := range []string{"jane", "bob"} {
		eventually(t, 15*time.Second, func() error {
			en, err := store.Get(ctx, nurture.EnrollmentID("acme", "created", cid))
			if err != nil || en.Status != nurture.StatusCompleted {
				return errorf("%s in created: %+v %v, want completed", cid, en, err)
			}
			return nil
		})
	}
	// The first ranking puts acme (never engaged) in "lost": both its
	// contacts enter the segment flow.
	if code := doAs(t, s, testAPIKey, "POST", "/v1/scoring/rfm", "", nil); code/100 != 2 {
		t.Fatalf("POST /v1/scoring/rfm = %d", code)
	}
	eventually(t, 20*time.Second, func() error {
		if n := len(smtp.Messages()); n != 4 {
			return errorf("%d messages, want 2 more from the segment flow", n)
		}
		return nil
	})
	settleSlow(t, s, jobs.QueueNurture)
	for _, cid := range []string{"jane", "bob"} {
		list, err := store.OfPartner(ctx, "acme", cid)
		if err != nil || len(list) != 2 {
			t.Errorf("%s: %d enrollments %v, want created and segment, once each", cid, len(list), err)
		}
	}
	if got := recipients(smtp); !slices.Equal(got, []string{"bob@acme.example", "bob@acme.example", "jane@acme.example", "jane@acme.example"}) {
		t.Errorf("mail to %v, want two each", got)
	}
}
