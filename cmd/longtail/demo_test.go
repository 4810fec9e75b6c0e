package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/demo"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/outbox"
	"github.com/longtailhq/longtail/program"
	"github.com/longtailhq/longtail/redisconn"
)

var (
	demoStreamingRE = regexp.MustCompile(`(?m)^demo: streaming \S+ events a second$`)
	demoSignInRE    = regexp.MustCompile(`(?m)\(rep (\S+); it works once, for a day\):\n  (\S+/ui/login/link\?code=\S+)\nor enter .+'s token, issued for this run, at \S+/ui/login:\n  (\S+)$`)
)

// startDemo runs `longtail demo args...` in-process as a user runs it
// (no test API key added unless environ has one) and waits until it has
// printed its block and started streaming.
func startDemo(t *testing.T, environ []string, args ...string) *serveProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &serveProcess{stdout: newWatchWriter(demoStreamingRE.MatchString), stderr: newWatchWriter(func(string) bool { return false }),
		stop: cancel, done: make(chan error, 1)}
	go func() {
		p.done <- run(ctx, append([]string{"demo", "--listen", "127.0.0.1:0"}, args...), environ, p.stdout, p.stderr)
	}()
	select {
	case <-p.stdout.ready:
	case err := <-p.done:
		cancel()
		t.Fatalf("demo exited early: %v\nstderr:\n%s", err, p.stderr.String())
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("demo was not streaming within 60s\nstdout:\n%s\nstderr:\n%s", p.stdout.String(), p.stderr.String())
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("demo returned %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("demo did not shut down within 20s")
		}
	})
	return p
}

type demoQueueJSON struct {
	Items []struct {
		PartnerID string              `json:"partner_id"`
		ContactID string              `json:"contact_id"`
		Reasons   map[string][]string `json:"reasons"`
		State     string              `json:"state"`
	} `json:"items"`
}

// The issue's "done when", in its shortened form: `longtail demo
// --partners 150 --speed 10` from nothing shows, within 60 s, scored
// partners on the leaderboard, hand-offs with reasons in the reps'
// queues and nurture emails in the outbox; and `program kpis` (the API)
// shows the generator's churn, 15–30%, figure for figure. The test reads
// states (API answers, the outbox) and never sleeps.
func TestDemoShowsScoresHandOffsAndEmails(t *testing.T) {
	t.Parallel()
	start := time.Now()
	const partners = 150
	p := startDemo(t, []string{"LONGTAIL_LOG_LEVEL=warn"}, "--partners", fmt.Sprint(partners), "--speed", "10")
	out := p.stdout.String()
	base := listenRE.FindStringSubmatch(out)[1]
	key := keyLineRE.FindStringSubmatch(out)[1]
	redisURL := redisLineRE.FindStringSubmatch(out)[1]
	signIn := demoSignInRE.FindStringSubmatch(out)
	if signIn == nil {
		t.Fatalf("no rep sign-in in the demo's output:\n%s", out)
	}
	for _, want := range []string{base + "/ui/outbox", base + "/ui/ops", base + "/v1/leaderboard?limit=20", base + "/ui/login",
		"curl -s -H 'Authorization: Bearer " + key + "'"} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(p.stderr.String(), key) || strings.Contains(p.stderr.String(), signIn[3]) {
		t.Error("the admin key or the rep token is in the log")
	}

	// What the demo seeded: the same generator, seed and size.
	d, err := demo.Generate(demo.Config{Seed: demoSeed, Partners: partners, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	profile := map[string]demo.Profile{}
	for _, dp := range d.Partners {
		profile[dp.ID] = dp.Profile
	}

	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: 10 * time.Second}
	t.Cleanup(hc.CloseIdleConnections)
	get := func(token, path string, v any) error {
		req, err := http.NewRequest("GET", base+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("GET %s = %d %s", path, resp.StatusCode, data)
		}
		return json.Unmarshal(data, v)
	}
	within := time.Until(start.Add(60 * time.Second))

	// Scores rise on the leaderboard, led by partners the stream warms.
	var lb leaderboardJSON
	eventually(t, within, func() error {
		lb = leaderboardJSON{}
		if err := get(key, "/v1/leaderboard?limit=10", &lb); err != nil {
			return err
		}
		if len(lb.Items) == 0 || lb.Items[0].Score < 30 || !lb.Items[0].InQueue {
			return fmt.Errorf("leaderboard %+v: want a leader at the threshold (30), in a queue", lb.Items)
		}
		return nil
	})
	if pr := profile[lb.Items[0].PartnerID]; pr != demo.Warming {
		t.Errorf("the leader %s is %s, want a warming partner", lb.Items[0].PartnerID, pr)
	}

	// Hand-offs in the reps' queues, with reasons, each partner once.
	var queued []string
	eventually(t, time.Until(start.Add(60*time.Second)), func() error {
		queued = queued[:0]
		for _, rp := range d.Reps {
			var q demoQueueJSON
			if err := get(key, "/v1/reps/"+rp.ID+"/queue", &q); err != nil {
				return err
			}
			for _, it := range q.Items {
				if len(it.Reasons["en"]) == 0 || len(it.Reasons["fr"]) == 0 || it.ContactID == "" {
					return fmt.Errorf("%s's entry %+v has no reasons or contact", rp.ID, it)
				}
				queued = append(queued, it.PartnerID)
			}
		}
		if len(queued) < 2 {
			return fmt.Errorf("%d hand-offs in the reps' queues, want 2 or more", len(queued))
		}
		return nil
	})
	slices.Sort(queued)
	if c := slices.Compact(slices.Clone(queued)); len(c) != len(queued) {
		t.Errorf("a partner is queued twice: %v", queued)
	}
	for _, pid := range queued {
		if profile[pid] == demo.Silent {
			t.Errorf("silent partner %s was handed off", pid)
		}
	}
	// The printed rep token reads that rep's queue.
	var own demoQueueJSON
	if err := get(signIn[3], "/v1/reps/"+signIn[1]+"/queue", &own); err != nil {
		t.Errorf("the printed token of %s: %v", signIn[1], err)
	}
	// The printed sign-in link opens a page that signs that rep in.
	if resp, err := hc.Get(signIn[2]); err != nil {
		t.Error(err)
	} else {
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(page), `name="code"`) || !strings.Contains(string(page), "Sign in as ") {
			t.Errorf("the printed sign-in link: %d\n%s", resp.StatusCode, page)
		}
	}

	// Nurture emails in the outbox (the shipped flows, sent in the
	// demo's always-open window), each step's email once per contact.
	rdb, _, err := redisconn.Open(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	box, err := outbox.NewStore(rdb, outbox.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	tasks := asynq.NewInspectorFromRedisClient(rdb)
	var msgs []outbox.Message
	eventually(t, time.Until(start.Add(60*time.Second)), func() error {
		if msgs, err = box.List(context.Background(), 1000); err != nil {
			return err
		}
		n := 0
		for _, m := range msgs {
			if m.Flow != "" {
				n++
			}
		}
		if n < 5 {
			// Say how far the workers are, for a run on a slow machine.
			nq, _ := tasks.GetQueueInfo(jobs.QueueNurture)
			iq, _ := tasks.GetQueueInfo(jobs.QueueIngest)
			return fmt.Errorf("%d nurture emails among the %d in the outbox, want 5 or more\nnurture queue %+v\ningest queue %+v", n, len(msgs), nq, iq)
		}
		return nil
	})
	t.Logf("within %s: %d hand-offs, %d emails in the outbox", time.Since(start).Round(time.Millisecond), len(queued), len(msgs))
	sent := map[string]bool{}
	for _, m := range msgs {
		if m.Flow == "" {
			continue
		}
		k := m.To + " " + m.Flow + " " + m.Step
		if sent[k] {
			t.Errorf("%s got step %s of %s twice", m.To, m.Step, m.Flow)
		}
		sent[k] = true
		if !strings.HasPrefix(m.Flow, "dealreg-") && !strings.HasPrefix(m.Flow, "tiers-") && !strings.HasPrefix(m.Flow, "reengage-") {
			t.Errorf("an email of flow %s: want the shipped flows the demo's contacts enter", m.Flow)
		}
	}

	// Issue #15: the program's KPIs over the demo's history, through the
	// ingest path and the API, are the generator's, with 15–30% churn.
	var k program.KPIReport
	var want program.KPIReport
	eventually(t, 60*time.Second, func() error {
		k = program.KPIReport{}
		if err := get(key, "/v1/program/kpis", &k); err != nil {
			return err
		}
		want = program.KPIs(d.Facts(), program.DefaultConfig(), k.At)
		if k.Partners != want.Partners || k.Churned != want.Churned || k.Productive != want.Productive || k.WithoutCohort != want.WithoutCohort ||
			k.Sourcing.Deals.Partner.Count != want.Sourcing.Deals.Partner.Count {
			return fmt.Errorf("kpis %d partners, %d productive, %d churned, %d without cohort, %d partner-sourced deals; want %d, %d, %d, %d, %d",
				k.Partners, k.Productive, k.Churned, k.WithoutCohort, k.Sourcing.Deals.Partner.Count,
				want.Partners, want.Productive, want.Churned, want.WithoutCohort, want.Sourcing.Deals.Partner.Count)
		}
		return nil
	})
	if k.ChurnRate < 0.15 || k.ChurnRate > 0.30 {
		t.Errorf("churn rate %.3f, want between 0.15 and 0.30", k.ChurnRate)
	}
	if len(k.Cohorts) != len(want.Cohorts) {
		t.Errorf("%d cohorts, want %d", len(k.Cohorts), len(want.Cohorts))
	}
}

// Bad flags are usage errors naming the flag; a configured Redis or SMTP
// server is refused before anything is written or sent.
func TestDemoRefusesBadFlagsAndRealServers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args, env []string
		code      int
		want      string
	}{
		{[]string{"--partners", "0"}, nil, 2, "--partners 0 is not between 1 and 50000"},
		{[]string{"--speed", "-1"}, nil, 2, "--speed -1 is not above 0 and at most 1000"},
		{[]string{"extra"}, nil, 2, `demo takes no arguments, got "extra"`},
		{nil, []string{"LONGTAIL_REDIS_URL=redis://127.0.0.1:1"}, 1, "demo runs on the embedded Redis only: unset redis.url"},
		{nil, []string{"LONGTAIL_SMTP_URL=smtp://127.0.0.1:1", "LONGTAIL_SMTP_FROM=a@b.example"}, 1, "demo sends to the embedded outbox only: unset smtp.url"},
	} {
		var stdout, stderr syncBuffer
		err := run(context.Background(), append([]string{"demo"}, tc.args...), tc.env, &stdout, &stderr)
		if code := exitCode(err, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("demo %v with %v: exit %d, stderr %q; want %d and %q", tc.args, tc.env, code, stderr.String(), tc.code, tc.want)
		}
	}
}

// With LONGTAIL_API_KEYS set the demo generates no key, as serve does:
// its lines use $KEY, and the configured key reads the demo's data.
func TestDemoHonoursConfiguredAPIKeys(t *testing.T) {
	t.Parallel()
	p := startDemo(t, []string{"LONGTAIL_LOG_LEVEL=warn", "LONGTAIL_API_KEYS=" + testAPIKey}, "--partners", "30")
	out := p.stdout.String()
	if keyLineRE.MatchString(out) || strings.Contains(out, adminKeyPrefix) {
		t.Errorf("a key was generated although api.keys is set:\n%s", out)
	}
	if !strings.Contains(out, "KEY is one of your api.keys (LONGTAIL_API_KEYS)") || !strings.Contains(out, "Bearer $KEY") {
		t.Errorf("the output does not say to use a configured key:\n%s", out)
	}
	s := &service{URL: listenRE.FindStringSubmatch(out)[1], HTTP: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}}
	t.Cleanup(s.HTTP.CloseIdleConnections)
	var rep struct {
		Name string `json:"name"`
	}
	if code := s.do(t, "GET", "/v1/reps/rep-anne", "", nil, &rep); code != 200 || rep.Name != "Anne Martin" {
		t.Errorf("GET /v1/reps/rep-anne with the configured key = %d %+v, want the demo's Anne Martin", code, rep)
	}
}
