package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/smtptest"
)

// scrape reads /metrics into "name{labels}" → value, labels as the
// client library prints them (sorted by name).
func scrape(t *testing.T, s *service) map[string]float64 {
	t.Helper()
	resp, err := s.HTTP.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics = %d %s", resp.StatusCode, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("unparsable metrics line %q", line)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMetricsEndToEnd runs a real serve: events (one a duplicate), a
// hand-off emailed to its rep over SMTP, a converted outcome whose deal
// comes back through ingest; then one scrape of /metrics has each listed
// series with the value of what happened, once.
func TestMetricsEndToEnd(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	cfgPath := filepath.Join(t.TempDir(), "longtail.yaml")
	cfg := fmt.Sprintf("smtp:\n  url: %q\n  from: \"Longtail <noreply@vendor.example>\"\n", smtp.URL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startService(t, "LONGTAIL_CONFIG="+cfgPath, "LONGTAIL_REDIS_URL="+redistest.URL(t),
		"LONGTAIL_WEBHOOKS_BREVO_TOKEN=brevo-webhook-token-0123456789")
	admin := testAPIKey
	for _, put := range [][2]string{
		{"/v1/reps/rep-a", `{"name":"Anne Martin","email":"anne@vendor.example","daily_capacity":5,"active":true}`},
		{"/v1/partners/acme", `{"name":"Acme Networks","type":"MSP","tier":"silver","owner_rep_id":"rep-a"}`},
		{"/v1/contacts/jane", `{"partner_id":"acme","email":"jane@acme.example","first_name":"Jane","persona":"technical"}`},
	} {
		if code := doAs(t, s, admin, "PUT", put[0], put[1], nil); code != 200 {
			t.Fatalf("PUT %s = %d", put[0], code)
		}
	}
	now := time.Now().UTC()
	var b strings.Builder
	for i := range 3 {
		fmt.Fprintf(&b, `{"id":"w-%d","type":"webinar.attended","email":"jane@acme.example","occurred_at":%q,"title":"Zero trust for MSPs"}`+"\n",
			i, now.Add(-time.Duration(i)*time.Hour).Format(time.RFC3339))
	}
	fmt.Fprintf(&b, `{"id":"c-1","type":"email.click","email":"jane@acme.example","occurred_at":%q,"url":"https://vendor.example/security/edr"}`+"\n", now.Format(time.RFC3339))
	if code := doAs(t, s, admin, "POST", "/v1/events", b.String(), nil); code != 200 {
		t.Fatalf("POST /v1/events = %d", code)
	}
	// A second request: one event again (a duplicate), one new.
	again := fmt.Sprintf(`{"id":"w-0","type":"webinar.attended","email":"jane@acme.example","occurred_at":%q,"title":"Zero trust for MSPs"}`+"\n"+
		`{"id":"v-1","type":"web.visit","email":"jane@acme.example","occurred_at":%q,"url":"https://vendor.example/storage"}`+"\n",
		now.Format(time.RFC3339), now.Format(time.RFC3339))
	if code := doAs(t, s, admin, "POST", "/v1/events", again, nil); code != 200 {
		t.Fatalf("POST /v1/events = %d", code)
	}
	// A webhook delivery without the provider's credentials is refused.
	if code := doAs(t, s, "not-the-brevo-token", "POST", "/webhooks/brevo", `{"event":"opened"}`, nil); code != 401 {
		t.Fatalf("POST /webhooks/brevo with a wrong token = %d, want 401", code)
	}
	var q queueJSON
	eventually(t, 10*time.Second, func() error {
		doAs(t, s, admin, "GET", "/v1/reps/rep-a/queue", "", &q)
		if len(q.Items) == 0 {
			return errorf("rep-a's queue is empty")
		}
		return nil
	})
	var tok struct{ Token string }
	if code := doAs(t, s, admin, "POST", "/v1/reps/rep-a/tokens", "", &tok); code != 201 {
		t.Fatalf("issue token = %d", code)
	}
	if code := doAs(t, s, tok.Token, "POST", "/v1/reps/rep-a/queue/acme/claim", "", nil); code != 200 {
		t.Fatalf("claim = %d", code)
	}
	body := `{"outcome":"converted","value":5000}`
	for range 2 { // the same outcome twice counts once
		if code := doAs(t, s, tok.Token, "POST", "/v1/reps/rep-a/queue/acme/outcome", body, nil); code != 200 {
			t.Fatalf("outcome = %d", code)
		}
	}
	// Everything finished: the deal event scored, the rep emailed.
	s.settle(t, "ingest")
	s.settle(t, "handoff")
	if n := len(smtp.Messages()); n != 1 {
		t.Fatalf("%d emails reached the SMTP server, want the one hand-off notification", n)
	}

	got := scrape(t, s)
	for _, c := range []struct {
		series string
		want   float64
	}{
		{`longtail_events_ingested_total{source="api",type="webinar.attended"}`, 3},
		{`longtail_events_ingested_total{source="api",type="email.click"}`, 1},
		{`longtail_events_ingested_total{source="api",type="web.visit"}`, 1},
		{`longtail_events_ingested_total{source="repqueue",type="deal.won"}`, 1},
		{`longtail_events_duplicate_total{source="api"}`, 1},
		{`longtail_points_applied_total{type="webinar.attended"}`, 30},
		{`longtail_points_applied_total{type="email.click"}`, 5},
		{`longtail_handoffs_total{rule="owner"}`, 1},
		{`longtail_handoffs_total{rule="unrouted"}`, 0},
		{`longtail_outcomes_total{outcome="converted"}`, 1},
		{`longtail_outcomes_total{outcome="not_now"}`, 0},
		{`longtail_emails_total{flow="",kind="handoff",result="sent"}`, 1},
		{`longtail_emails_total{flow="",kind="handoff",result="failed"}`, 0},
		{`longtail_smtp_send_seconds_count{result="sent"}`, 1},
		{`longtail_queue_depth{queue="ingest",state="pending"}`, 0},
		{`longtail_queue_depth{queue="periodic",state="pending"}`, 0},
		{`longtail_task_latency_seconds{queue="ingest"}`, 0},
		{`longtail_tasks_failed_total{queue="ingest"}`, 0},
		{`longtail_webhook_rejected_total{provider="brevo",reason="unauthorized"}`, 1},
	} {
		v, ok := got[c.series]
		switch {
		case !ok:
			t.Errorf("%s is missing", c.series)
		case v != c.want:
			t.Errorf("%s = %g, want %g", c.series, v, c.want)
		}
	}
	if v := got[`longtail_tasks_processed_total{queue="ingest"}`]; v < 3 {
		t.Errorf(`longtail_tasks_processed_total{queue="ingest"} = %g, want the 3 ingest tasks at least`, v)
	}
	families := map[string]bool{}
	for series := range got {
		if !strings.HasPrefix(series, "longtail_") {
			t.Errorf("series %s is not prefixed longtail_", series)
		}
		name, _, _ := strings.Cut(series, "{")
		families[name] = true
	}
	// What the Grafana dashboard and the HPA read is what /metrics serves.
	for _, file := range []string{"../../deploy/grafana/longtail.json", "../../deploy/k8s/hpa.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		names := seriesName.FindAllString(string(data), -1)
		if len(names) == 0 {
			t.Errorf("%s names no longtail_ series", file)
		}
		for _, n := range names {
			// Served once an event is dropped, which this configuration
			// (directory.drop_unknown_contacts off) never does.
			if n == "longtail_events_dropped_total" {
				continue
			}
			if !families[n] {
				t.Errorf("%s reads %s, which /metrics does not serve", file, n)
			}
		}
	}
}

// seriesName matches a series name as dashboards and manifests spell it.
var seriesName = regexp.MustCompile(`\blongtail_[a-z_]*[a-z]\b`)
