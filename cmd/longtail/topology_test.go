package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/internal/smtptest"
	"github.com/longtailhq/longtail/internal/topology"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/redisconn"
)

// These tests run longtail against real Redis deployments started from
// the Debian binaries (internal/topology). LONGTAIL_TOPOLOGY_LONG=1 (set by
// scripts/test-topologies.sh) makes the Sentinel test post more events.
func topologyLong() bool { return os.Getenv("LONGTAIL_TOPOLOGY_LONG") != "" }

// poster posts single-event batches of web visits, one fresh contact per
// event, for as long as it runs. A batch that is not answered 200 is sent
// again with the same event id until it is (a duplicate is counted once),
// so every event it reports accepted got a 2xx.
type poster struct {
	s        *service
	mu       sync.Mutex
	accepted []string // event ids, which are also the contacts' local parts
	refused  int      // non-2xx answers (503 while Redis fails over)
}

func (p *poster) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.accepted)
}

func (p *poster) run(ctx context.Context, prefix string) {
	for i := 0; ctx.Err() == nil; i++ {
		id := fmt.Sprintf("%s-%d", prefix, i)
		body := fmt.Sprintf(`[{"id":%q,"type":"web.visit","email":"%s@topo.example","occurred_at":%q,"url":"https://vendor.example/storage"}]`,
			id, id, time.Now().UTC().Format(time.RFC3339))
		for {
			req, _ := http.NewRequest("POST", p.s.URL+"/v1/events", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testAPIKey)
			req.Header.Set("Content-Type", "application/json")
			resp, err := p.s.HTTP.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					p.mu.Lock()
					p.accepted = append(p.accepted, id)
					p.mu.Unlock()
					break
				}
			}
			p.mu.Lock()
			p.refused++
			p.mu.Unlock()
			// A retry once the clients have found the new master: the
			// service answers 503 at once meanwhile, and a tight loop
			// would only burn the CPU the failover needs.
			select {
			case <-ctx.Done():
				// The last batch is unanswered: it may or may not have been
				// queued, and a provider would retry it. Nothing is claimed.
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// waitAccepted waits until the poster has n events accepted.
func (p *poster) waitAccepted(t *testing.T, n int, d time.Duration) {
	t.Helper()
	eventually(t, d, func() error {
		if c := p.count(); c < n {
			return errorf("%d events accepted", c)
		}
		return nil
	})
}

// checkScoredOnce checks that every accepted event is in its contact's
// timeline exactly once, with its points.
func checkScoredOnce(t *testing.T, s *service, ids []string) {
	t.Helper()
	// Tasks a worker was running when the master went are lost to it:
	// asynq runs them again once their 30 s lease has expired and its
	// recoverer (every minute) has noticed, so allow for both.
	for _, id := range ids {
		eventually(t, 150*time.Second, func() error {
			var c contactJSON
			if code := s.do(t, "GET", "/v1/contacts/"+id+"@topo.example", "", nil, &c); code != 200 {
				return errorf("event %s: GET contact = %d", id, code)
			}
			n := 0
			for _, it := range c.Timeline {
				if it.ID == id && it.Points > 2.99 {
					n++
				}
			}
			if n != 1 || len(c.Timeline) != 1 || c.Score < 2.99 || c.Score > 3.0001 {
				return errorf("event %s: scored %d times (timeline %+v, score %.4f), want once for 3 points", id, n, c.Timeline, c.Score)
			}
			return nil
		})
	}
}

// logQueues logs the task queues' state and the tasks waiting to be
// retried, with their errors: where a missing event went.
func logQueues(t *testing.T, url string) {
	rdb, _, err := redisconn.Open(url)
	if err != nil {
		t.Log(err)
		return
	}
	defer rdb.Close()
	insp := asynq.NewInspectorFromRedisClient(rdb)
	for _, q := range []string{jobs.QueueIngest, jobs.QueueHandoff, jobs.QueuePeriodic} {
		qi, err := insp.GetQueueInfo(q)
		if err != nil {
			t.Logf("queue %s: %v", q, err)
			continue
		}
		t.Logf("queue %s: pending %d active %d retry %d archived %d completed %d processed %d failed %d",
			q, qi.Pending, qi.Active, qi.Retry, qi.Archived, qi.Completed, qi.Processed, qi.Failed)
		for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){insp.ListRetryTasks, insp.ListArchivedTasks, insp.ListActiveTasks} {
			tasks, _ := list(q)
			for _, ti := range tasks {
				t.Logf("  %s %s state %s retried %d next %s err %s payload %.120s", q, ti.ID, ti.State, ti.Retried, ti.NextProcessAt.Format(time.RFC3339), ti.LastErr, ti.Payload)
			}
		}
	}
}

// TestSentinelFailoverLosesNoAcceptedEvent: events flow in through
// redis+sentinel://, the master is stopped, the sentinels promote the
// replica, ingestion resumes on it, and every event that got a 2xx is
// scored exactly once.
func TestSentinelFailoverLosesNoAcceptedEvent(t *testing.T) {
	t.Parallel()
	set := topology.StartSentinel(t)
	s := startService(t, "LONGTAIL_REDIS_URL="+set.URL())
	t.Cleanup(func() {
		if t.Failed() {
			logQueues(t, set.URL())
		}
	})
	p := &poster{s: s}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); p.run(ctx, "sentinel") }()

	perPhase := 60
	if topologyLong() {
		perPhase = 500
	}
	p.waitAccepted(t, perPhase, 30*time.Second)
	old := set.Master.Addr
	// SIGTERM: Redis 7 stops taking writes and waits for its replica to
	// catch up before it exits, so what it acknowledged is on the replica.
	// (A crash — SIGKILL — can lose the last writes Redis acknowledged
	// before replicating them: replication is asynchronous. See the
	// README, Production.)
	set.Master.Stop(syscall.SIGTERM)
	now := set.WaitFailover(t, old, 30*time.Second)
	before := p.count()
	p.waitAccepted(t, before+perPhase, 60*time.Second)
	p.mu.Lock()
	t.Logf("failover %s → %s; %d events accepted, %d answers refused", old, now, len(p.accepted), p.refused)
	p.mu.Unlock()
	cancel()
	<-done
	p.mu.Lock()
	ids := append([]string(nil), p.accepted...)
	p.mu.Unlock()
	checkScoredOnce(t, s, ids)
}

// TestClusterRunsEveryScript runs the whole service on a three-master
// Redis Cluster: directory writes and CSV import, scoring, the hand-off
// and its notification email (the send-once marker), rep tokens, claim
// and outcome, the SLA sweep, RFM and the leaderboard. Redis Cluster
// refuses a script whose keys span slots or nodes, so each step passing
// proves its hash tags; asynq carries every step between them.
func TestClusterRunsEveryScript(t *testing.T) {
	t.Parallel()
	cl := topology.StartCluster(t, 3)
	smtp := smtptest.Start(t)
	cfgPath := filepath.Join(t.TempDir(), "longtail.yaml")
	cfg := fmt.Sprintf(`
smtp:
  url: %q
  from: "Longtail <noreply@vendor.example>"
handoff:
  claim_sla: 1s
  business_hours: {start: "00:00", end: "24:00", days: [mon, tue, wed, thu, fri, sat, sun]}
  territories:
    - {name: emea, regions: [emea], reps: [rep-b]}
`, smtp.URL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"LONGTAIL_CONFIG=" + cfgPath, "LONGTAIL_REDIS_URL=" + cl.URL()}
	s := startService(t, env...)
	admin := testAPIKey

	// Directory: CSV import (pipelined upserts) and the API.
	dir := t.TempDir()
	files := map[string]string{
		"reps.csv":     "id,name,email,phone,regions,daily_capacity,active\nrep-a,Anne Martin,anne@vendor.example,+33 1 23 45 67 89,emea,5,true\nrep-b,Bruno Diaz,bruno@vendor.example,,emea,5,true\n",
		"partners.csv": "id,name,type,tier,region,country,timezone,owner_rep_id,tags\nacme,Acme Networks,MSP,silver,emea,FR,Europe/Paris,rep-a,\nglobex,Globex IT,VAR,silver,emea,DE,Europe/Berlin,rep-a,\n",
		"contacts.csv": "id,partner_id,email,first_name,last_name,persona,timezone,locale\njane,acme,jane@acme.example,Jane,Doe,technical,Europe/Paris,fr\ngus,globex,gus@globex.example,Gus,Meyer,owner-manager,Europe/Berlin,en\n",
	}
	for _, kind := range []string{"reps", "partners", "contacts"} {
		path := filepath.Join(dir, kind+".csv")
		if err := os.WriteFile(path, []byte(files[kind+".csv"]), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errOut syncBuffer
		if err := run(context.Background(), []string{"import", kind, path, "--quiet"}, env, &out, &errOut); err != nil {
			t.Fatalf("import %s: %v\n%s%s", kind, err, out.String(), errOut.String())
		}
	}
	if code := doAs(t, s, admin, "PUT", "/v1/contacts/lena", `{"partner_id":"acme","email":"lena@acme.example","persona":"sales"}`, nil); code != 200 {
		t.Fatalf("PUT contact = %d", code)
	}

	// Scoring: both partners cross the threshold.
	now := time.Now().UTC()
	var b strings.Builder
	for _, c := range []string{"jane@acme.example", "gus@globex.example"} {
		for i, title := range []string{"Securing SMB storage", "Zero trust for MSPs", "Deal registration in 3 clicks"} {
			fmt.Fprintf(&b, `{"id":"w-%s-%d","type":"webinar.attended","email":%q,"occurred_at":%q,"title":%q}`+"\n", c, i, c, now.Add(-time.Duration(i)*time.Hour).Format(time.RFC3339), title)
		}
		fmt.Fprintf(&b, `{"id":"c-%s","type":"email.click","email":%q,"occurred_at":%q,"url":"https://vendor.example/security/edr"}`+"\n", c, c, now.Format(time.RFC3339))
	}
	// An unknown email: a new contact of the unassigned partner.
	fmt.Fprintf(&b, `{"id":"v-new","type":"web.visit","email":"new@unknown.example","occurred_at":%q}`+"\n", now.Format(time.RFC3339))
	if code := doAs(t, s, admin, "POST", "/v1/events", b.String(), nil); code != 200 {
		t.Fatalf("POST /v1/events = %d", code)
	}
	// A duplicate delivery counts once.
	if code := doAs(t, s, admin, "POST", "/v1/events", b.String(), nil); code != 200 {
		t.Fatalf("POST /v1/events again = %d", code)
	}

	// Hand-off: both partners reach rep-a's queue (owner), with reasons.
	var qa queueJSON
	eventually(t, 15*time.Second, func() error {
		doAs(t, s, admin, "GET", "/v1/reps/rep-a/queue", "", &qa)
		if len(qa.Items) != 2 {
			return errorf("rep-a's queue = %v", qa.partners())
		}
		return nil
	})
	for _, it := range qa.Items {
		if len(it.Reasons["en"]) == 0 || it.Score < 30 {
			t.Errorf("entry %+v: no reasons or score below the threshold", it)
		}
	}
	var lb struct {
		Items []struct {
			PartnerID string  `json:"partner_id"`
			Score     float64 `json:"score"`
		} `json:"items"`
	}
	if code := doAs(t, s, admin, "GET", "/v1/leaderboard?limit=5", "", &lb); code != 200 || len(lb.Items) < 2 {
		t.Errorf("leaderboard = %d %+v", code, lb)
	}
	var c contactJSON
	if code := doAs(t, s, admin, "GET", "/v1/contacts/jane@acme.example", "", &c); code != 200 || len(c.Timeline) != 4 || c.Score < 30 {
		t.Errorf("jane = %d, score %.1f, %d timeline items (want 4: the duplicate counted once)", code, c.Score, len(c.Timeline))
	}
	if code := doAs(t, s, admin, "GET", "/v1/partners/acme/score", "", nil); code != 200 {
		t.Errorf("explain = %d", code)
	}
	var mail struct{ Allowed bool }
	if code := doAs(t, s, admin, "GET", "/v1/contacts/jane/mailable", "", &mail); code != 200 || mail.Allowed {
		t.Errorf("mailable while queued = %d %+v", code, mail)
	}

	// The notification emails: one per hand-off, sent once.
	eventually(t, 15*time.Second, func() error {
		if n := len(smtp.Messages()); n != 2 {
			return errorf("%d emails", n)
		}
		return nil
	})

	// A rep token, a claim and an outcome.
	var tok struct{ Token string }
	if code := doAs(t, s, admin, "POST", "/v1/reps/rep-a/tokens", "", &tok); code != 201 {
		t.Fatalf("issue token = %d", code)
	}
	if code := doAs(t, s, tok.Token, "POST", "/v1/reps/rep-a/queue/acme/claim", "", nil); code != 200 {
		t.Fatalf("claim = %d", code)
	}
	if code := doAs(t, s, tok.Token, "POST", "/v1/reps/rep-a/queue/acme/outcome", `{"outcome":"converted","value":5000}`, nil); code != 200 {
		t.Fatalf("outcome = %d", code)
	}

	// The SLA sweep moves globex, unclaimed past its 1s SLA, to rep-b.
	eventually(t, 15*time.Second, func() error {
		var out, errOut syncBuffer
		if err := run(context.Background(), []string{"handoff", "sweep"}, env, &out, &errOut); err != nil {
			return errorf("handoff sweep: %v %s", err, errOut.String())
		}
		var qb queueJSON
		doAs(t, s, admin, "GET", "/v1/reps/rep-b/queue", "", &qb)
		if fmt.Sprint(qb.partners()) != "[globex]" {
			return errorf("rep-b's queue = %v", qb.partners())
		}
		return nil
	})

	// RFM ranks every partner (a worker task through asynq).
	if code := doAs(t, s, admin, "POST", "/v1/scoring/rfm", "", nil); code != http.StatusAccepted {
		t.Fatalf("POST /v1/scoring/rfm = %d", code)
	}
	eventually(t, 15*time.Second, func() error {
		var p struct {
			RFM *struct{ Segment string } `json:"rfm"`
		}
		doAs(t, s, admin, "GET", "/v1/partners/acme", "", &p)
		if p.RFM == nil || p.RFM.Segment == "" {
			return errorf("no RFM on acme yet")
		}
		return nil
	})
	var stats map[string]any
	if code := doAs(t, s, admin, "GET", "/v1/handoffs/stats", "", &stats); code != 200 {
		t.Errorf("stats = %d", code)
	}
}
