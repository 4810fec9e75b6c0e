package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/notify"
	"github.com/longtailhq/longtail/outcome"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/reptoken"
	"github.com/longtailhq/longtail/scoring"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// monday10 is Monday 16 November 2026, 10:00 UTC: inside business hours.
var monday10 = time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC)

// fixture is one test's rep pages on a real server, with the real queue,
// directory and scoring engine on its own Redis database.
type fixture struct {
	ctx   context.Context
	rdb   *redis.Client
	dir   *directory.Store
	eng   *scoring.Engine
	q     *repqueue.Queue
	tok   *reptoken.Store
	clock *testclock.Clock
	srv   *httptest.Server
	// outcomes records the outcomes; ins reads the follow-up tasks it
	// queued.
	outcomes *outcome.Recorder
	ins      *asynq.Inspector
	// h and mux are the pages and the server's mux, for a test that
	// mounts more pages on them.
	h   *Handler
	mux *http.ServeMux
}

// setup starts the pages; cfg's Clock is the fixture's.
func setup(t *testing.T, cfg Config) *fixture {
	t.Helper()
	rdb := redistest.New(t)
	return setupOn(t, cfg, rdb, rdb)
}

// setupOn keeps state on rdb and queues the outcomes' follow-ups on tasks,
// which a test may stop.
func setupOn(t *testing.T, cfg Config, rdb, tasks *redis.Client) *fixture {
	t.Helper()
	clk := testclock.New(monday10)
	dir, err := directory.New(rdb, directory.Config{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := scoring.NewEngine(rdb, scoring.Config{Threshold: 10}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	q, err := repqueue.New(rdb, dir, eng, repqueue.Config{}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := reptoken.New(rdb, dir, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClientFromRedisClient(tasks)
	t.Cleanup(func() { _ = client.Close() })
	outcomes, err := outcome.New(outcome.Deps{Queue: q, Events: jobs.NewEventQueue(client, time.Second),
		Webhooks: jobs.NewWebhookQueue(client, 1), Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{ctx: context.Background(), rdb: rdb, dir: dir, eng: eng, q: q, tok: tok, clock: clk,
		outcomes: outcomes, ins: asynq.NewInspectorFromRedisClient(tasks)}
	cfg.Clock = clk.Now
	h, err := New(cfg, q, outcomes, tok, dir, rdb, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	f.h, f.mux = h, mux
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// rep puts an active rep and returns a token for it.
func (f *fixture) rep(t *testing.T, id string, attrs map[string]string) string {
	t.Helper()
	r := directory.Rep{ID: id, Name: "Rep " + strings.ToUpper(id), Email: id + "@vendor.example",
		DailyCapacity: 10, Active: true, Attrs: attrs}
	if _, _, err := f.dir.PutRep(f.ctx, r); err != nil {
		t.Fatal(err)
	}
	tok, err := f.tok.Issue(f.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// hot makes partner pid (owned by repID) cross the threshold through
// real scoring events and hands it off; webinars sets how hot it is.
func (f *fixture) hot(t *testing.T, pid, name, repID string, webinars int) *repqueue.Entry {
	t.Helper()
	if _, _, err := f.dir.PutPartner(f.ctx, directory.Partner{ID: pid, Name: name, OwnerRepID: repID, Timezone: "Europe/Paris"}); err != nil {
		t.Fatal(err)
	}
	cid := "c-" + pid
	if _, _, err := f.dir.PutContact(f.ctx, directory.Contact{ID: cid, PartnerID: pid, Email: "jane@" + pid + ".example",
		FirstName: "Jane", LastName: "Doe " + strings.ToUpper(pid), Persona: "technical", Timezone: "Europe/Paris", Locale: "fr",
		Attrs: map[string]string{"phone": "+33 1 23 45 67 89"}}); err != nil {
		t.Fatal(err)
	}
	now := f.clock.Now()
	evs := []event.Event{{ID: pid + "-click", Type: event.EmailClick, OccurredAt: now.Add(-24 * time.Hour),
		Title: "New security product", Topic: "security", Source: "test", MessageID: "m-" + pid}}
	for i := range webinars {
		evs = append(evs, event.Event{ID: fmt.Sprintf("%s-w%d", pid, i), Type: event.WebinarAttended,
			OccurredAt: now.Add(-time.Duration(i+2) * time.Hour), Title: fmt.Sprintf("Securing SMB storage %d", i+1),
			Topic: "storage", Source: "test"})
	}
	res, err := f.eng.Apply(f.ctx, scoring.Target{PartnerID: pid, ContactID: cid}, evs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Crossing == nil {
		t.Fatalf("%s did not cross the threshold (score %.1f)", pid, res.PartnerScore)
	}
	e, _, err := f.q.Handoff(f.ctx, pid, res.Crossing.Seq, res.Crossing.CrossedAt)
	if err != nil {
		t.Fatal(err)
	}
	if e.RepID != repID {
		t.Fatalf("%s went to %q, want %q", pid, e.RepID, repID)
	}
	return e
}

// followUp is what an outcome passed on: its webhook, with the deal event
// queued for scoring when there was one.
type followUp struct {
	notify.Outcome
	Deal *event.Event
}

// seen returns the follow-ups the outcomes queued, read from the task
// queue: one per outcome webhook.
func (f *fixture) seen(t *testing.T) []followUp {
	t.Helper()
	deals := map[string]*event.Event{}
	if tasks, err := f.ins.ListPendingTasks(jobs.QueueIngest); err == nil {
		for _, ti := range tasks {
			var p jobs.IngestEventsPayload
			if err := json.Unmarshal(ti.Payload, &p); err != nil {
				t.Fatal(err)
			}
			for i, ev := range p.Events {
				if ev.Type == event.DealWon {
					deals[ev.PartnerID] = &p.Events[i]
				}
			}
		}
	}
	var out []followUp
	tasks, err := f.ins.ListPendingTasks(jobs.QueueHandoff)
	if err != nil {
		return nil // nothing was ever queued there
	}
	for _, ti := range tasks {
		if ti.Type != jobs.TypeNotifyWebhook {
			continue
		}
		var p jobs.NotifyWebhookPayload
		var body notify.Payload
		var fu followUp
		if err := json.Unmarshal(ti.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(p.Body, &body); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(body.Data, &fu.Outcome); err != nil {
			t.Fatal(err)
		}
		fu.Deal = deals[fu.PartnerID]
		out = append(out, fu)
	}
	return out
}

func (f *fixture) entry(t *testing.T, pid string) *repqueue.Entry {
	t.Helper()
	e, err := f.q.Get(f.ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// client is a browser stand-in: a cookie jar, no redirect following (the
// tests look at each answer), and an Origin header on POSTs as browsers
// send it.
type client struct {
	t    *testing.T
	base string
	http *http.Client
	// origin is sent on POSTs; "" sends none.
	origin string
}

func (f *fixture) client(t *testing.T) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	// On the server's own transport: closing a parallel test's server
	// closes http.DefaultTransport's idle connections mid-request.
	hc := *f.srv.Client()
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{t: t, base: f.srv.URL, origin: f.srv.URL, http: &hc}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r response) location() string { return r.header.Get("Location") }

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (c *client) get(path string) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

func (c *client) post(path string, form url.Values) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.origin != "" {
		req.Header.Set("Origin", c.origin)
	}
	return c.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token of a page's forms.
func (c *client) csrf(body string) string {
	c.t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatalf("no csrf field in page:\n%s", body)
	}
	return m[1]
}

// login signs in with token and returns the answer to the POST.
func (c *client) login(token string) response {
	c.t.Helper()
	page := c.get("/ui/login")
	if page.status != http.StatusOK {
		c.t.Fatalf("GET /ui/login: %d", page.status)
	}
	return c.post("/ui/login", url.Values{"csrf": {c.csrf(page.body)}, "token": {token}})
}

// signIn signs in and fails the test unless it worked.
func (c *client) signIn(token string) {
	c.t.Helper()
	if r := c.login(token); r.status != http.StatusSeeOther || r.location() != "/ui/queue" {
		c.t.Fatalf("sign-in: %d to %q:\n%s", r.status, r.location(), r.body)
	}
}

// queue fetches the queue page and returns it with its CSRF token.
func (c *client) queue() (string, string) {
	c.t.Helper()
	r := c.get("/ui/queue")
	if r.status != http.StatusOK {
		c.t.Fatalf("GET /ui/queue: %d to %q", r.status, r.location())
	}
	return r.body, c.csrf(r.body)
}

func (c *client) cookie(name string) *http.Cookie {
	u, _ := url.Parse(c.base + "/ui/queue")
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

func setCookie(r response, name string) *http.Cookie {
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}
