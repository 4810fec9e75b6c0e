package main

// Abuse tests against serve's whole HTTP surface, wired from configuration
// as `longtail serve` wires it, on a real Redis: each reproduces what an
// abuse probe got through (issue #16) and fails if it comes back. The
// packages' own tests (httpapi/abuse_test.go, webhook/mailgun,
// webhook/ses, ui) cover each defence in detail.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/webhooktest"
	"github.com/longtailhq/longtail/jobs"
)

// edge is serve's HTTP handler on an httptest server.
type edge struct {
	t    *testing.T
	srv  *httptest.Server
	http *http.Client
	logs *syncBuffer
	rdb  redis.UniversalClient
	ins  *asynq.Inspector
}

// newEdge loads the configuration as serve does (file, then environ, with
// a real Redis and the test API key), builds the app and serves its HTTP
// handler. Its log goes, through serve's logger, to edge.logs.
func newEdge(t *testing.T, file string, environ ...string) *edge {
	t.Helper()
	env := append([]string{"LONGTAIL_REDIS_URL=" + redistest.URL(t), "LONGTAIL_API_KEYS=" + testAPIKey}, environ...)
	cfg, err := loadConfig(file, env)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := newLogger(cfg.Log, logs)
	ctx := context.Background()
	st, err := openStore(ctx, cfg, log, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	a, err := newApp(ctx, cfg, st, log, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	h, err := a.httpHandler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	hc := *srv.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &edge{t: t, srv: srv, http: &hc, logs: logs, rdb: st.rdb, ins: asynq.NewInspectorFromRedisClient(st.rdb)}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (e *edge) do(method, path, body string, header map[string]string) answer {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func (e *edge) admin(method, path, body string) answer {
	e.t.Helper()
	return e.do(method, path, body, map[string]string{"Authorization": "Bearer " + testAPIKey, "Content-Type": "application/json"})
}

// 1. A page on another site made a signed-in admin's browser pause queues
// and archive every pending task through /ops/queues.
func TestAbuseOpsConsoleForgery(t *testing.T) {
	t.Parallel()
	forged := map[string]string{
		"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site", "Content-Type": "application/x-www-form-urlencoded",
	}
	basic := func(h map[string]string) map[string]string {
		out := map[string]string{"Authorization": "Basic " + basicAuth("x", testAPIKey)}
		for k, v := range h {
			out[k] = v
		}
		return out
	}
	for _, tc := range []struct {
		name string
		env  []string
		// own is the answer to the same request from the console's page.
		own int
	}{
		{"default: read-only", nil, http.StatusForbidden},
		{"ops.allow_actions", []string{"LONGTAIL_OPS_ALLOW_ACTIONS=true"}, http.StatusNoContent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEdge(t, "", tc.env...)
			client := asynq.NewClientFromRedisClient(e.rdb)
			t.Cleanup(func() { client.Close() })
			if _, err := client.Enqueue(asynq.NewTask("probe", nil), asynq.Queue(jobs.QueueIngest)); err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{"/ops/queues/api/queues/periodic:pause", "/ops/queues/api/queues/ingest:pause",
				"/ops/queues/api/queues/ingest/pending_tasks:archive_all"} {
				if r := e.do("POST", path, "", basic(forged)); r.status != http.StatusForbidden {
					t.Errorf("forged POST %s: %d %s, want 403", path, r.status, r.body)
				}
			}
			if info, err := e.ins.GetQueueInfo(jobs.QueueIngest); err != nil || info.Paused || info.Pending != 1 {
				t.Fatalf("after the forged requests: %+v, %v", info, err)
			}
			own := basic(map[string]string{"Origin": e.srv.URL, "Sec-Fetch-Site": "same-origin"})
			if r := e.do("POST", "/ops/queues/api/queues/ingest:pause", "", own); r.status != tc.own {
				t.Errorf("POST from the console's own page: %d %s, want %d", r.status, r.body, tc.own)
			}
			page := e.do("GET", "/ops/queues/", "", basic(nil))
			if page.status != http.StatusOK || page.header.Get("X-Frame-Options") != "DENY" ||
				!strings.Contains(page.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Errorf("console page: %d, headers %v", page.status, page.header)
			}
		})
	}
}

func basicAuth(user, pass string) string {
	r := &http.Request{Header: http.Header{}}
	r.SetBasicAuth(user, pass)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

// 2. With the default configuration, one captured Mailgun signature
// carried any events for 24 hours.
func TestAbuseMailgunSignatureReplay(t *testing.T) {
	t.Parallel()
	const key = "mailgun-signing-key-abuse"
	e := newEdge(t, "", "LONGTAIL_WEBHOOKS_MAILGUN_SIGNING_KEY="+key)
	now := time.Now()
	stamp := strconv.FormatInt(now.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(stamp + "captured-token"))
	sig := hex.EncodeToString(mac.Sum(nil))
	for i, ev := range []string{"clicked", "opened", "complained"} {
		body := fmt.Sprintf(`{"signature":{"timestamp":%q,"token":"captured-token","signature":%q},`+
			`"event-data":{"event":%q,"id":"ev-%d","timestamp":%d,"recipient":"jane@acme.example"}}`, stamp, sig, ev, i, now.Unix())
		want := http.StatusUnauthorized
		if i == 0 {
			want = http.StatusOK
		}
		if r := e.do("POST", "/webhooks/mailgun", body, map[string]string{"Content-Type": "application/json"}); r.status != want {
			t.Errorf("%s under the captured signature: %d %s, want %d", ev, r.status, r.body, want)
		}
	}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn posts a token to /ui/login as a browser behind the proxy at
// 127.0.0.1 would, the client's address in X-Forwarded-For.
func (e *edge) signIn(clientAddr, token string) answer {
	e.t.Helper()
	page := e.do("GET", "/ui/login", "", nil)
	m := csrfInput.FindStringSubmatch(page.body)
	if m == nil {
		e.t.Fatalf("no sign-in form: %d", page.status)
	}
	var cookie string
	for _, c := range (&http.Response{Header: page.header}).Cookies() {
		cookie = c.Name + "=" + c.Value
	}
	return e.do("POST", "/ui/login", url.Values{"csrf": {m[1]}, "token": {token}}.Encode(), map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", "Origin": e.srv.URL, "Cookie": cookie,
		"X-Forwarded-For": clientAddr,
	})
}

// 3. Behind the proxy, every rep shared one budget of 10 sign-in attempts
// that successes spent too: anyone could lock every rep out.
func TestAbuseSignInLockout(t *testing.T) {
	t.Parallel()
	e := newEdge(t, "", "LONGTAIL_HTTP_TRUSTED_PROXIES=127.0.0.1,::1")
	if r := e.admin("PUT", "/v1/reps/rep1", `{"name":"Rep One","email":"rep1@vendor.example","daily_capacity":5,"active":true}`); r.status != 200 {
		t.Fatalf("PUT rep: %d %s", r.status, r.body)
	}
	r := e.admin("POST", "/v1/reps/rep1/tokens", "")
	var issued struct{ Token string }
	if err := json.Unmarshal([]byte(r.body), &issued); err != nil || issued.Token == "" {
		t.Fatalf("issue token: %d %s", r.status, r.body)
	}
	// Successes never count: more sign-ins than the whole budget.
	for i := range 12 {
		if r := e.signIn("198.51.100.7", issued.Token); r.status != http.StatusSeeOther {
			t.Fatalf("sign-in %d: %d", i+1, r.status)
		}
	}
	// An attacker spends its address's budget...
	for i := range 10 {
		if r := e.signIn("203.0.113.66", fmt.Sprintf("ltr_guess-%02d", i)); r.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i+1, r.status)
		}
	}
	if r := e.signIn("203.0.113.66", "ltr_guess-10"); r.status != http.StatusTooManyRequests {
		t.Fatalf("11th guess: %d, want 429", r.status)
	}
	// ...and the rep, elsewhere behind the same proxy, still signs in.
	if r := e.signIn("198.51.100.7", issued.Token); r.status != http.StatusSeeOther {
		t.Fatalf("rep after the attack: %d, want 303", r.status)
	}
	// The attacker cannot buy a fresh budget by naming another address:
	// only the proxy's own entry counts.
	if r := e.signIn("192.0.2.1, 203.0.113.66", "ltr_guess-11"); r.status != http.StatusTooManyRequests {
		t.Fatalf("guess with a forged X-Forwarded-For entry: %d, want 429", r.status)
	}
}

// 4. An SES notification signed in 2020 was accepted and scored:
// webhooks.max_age never reached the SES provider.
func TestAbuseSESOldNotification(t *testing.T) {
	t.Parallel()
	sns := webhooktest.NewSNS(t)
	e := newEdge(t, "", "LONGTAIL_WEBHOOKS_SES_ENABLED=true", "LONGTAIL_WEBHOOKS_SES_CERT_DIR="+sns.CertDir(t))
	record, err := os.ReadFile("../../testdata/webhooks/amazon-ses-sns/ses-event-publishing-examples/open.json")
	if err != nil {
		t.Fatal(err)
	}
	const topic = "arn:aws:sns:us-east-1:123456789012:longtail-ses"
	for _, tc := range []struct {
		name string
		at   time.Time
		want int
	}{
		{"signed in 2020", time.Date(2020, 3, 2, 10, 0, 0, 0, time.UTC), http.StatusUnauthorized},
		{"signed two days ago", time.Now().Add(-48 * time.Hour), http.StatusUnauthorized},
		{"signed now", time.Now(), http.StatusOK},
	} {
		body := sns.Notification(topic, "msg-"+tc.name, string(record), tc.at)
		if r := e.do("POST", "/webhooks/ses", string(body), map[string]string{"Content-Type": "text/plain; charset=UTF-8"}); r.status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.body, tc.want)
		}
	}
}

// 5. The shipped production config served https without Secure cookies.
func TestAbuseCookiesSecureOverHTTPS(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file string
		env        []string
	}{
		{"deploy/longtail.yaml", "../../deploy/longtail.yaml", nil},
		{"an https public_url", "", []string{"LONGTAIL_HTTP_PUBLIC_URL=https://longtail.vendor.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEdge(t, tc.file, tc.env...)
			page := e.do("GET", "/ui/login", "", nil)
			cookies := (&http.Response{Header: page.header}).Cookies()
			if len(cookies) == 0 {
				t.Fatalf("GET /ui/login set no cookie: %d", page.status)
			}
			for _, c := range cookies {
				if !c.Secure || !c.HttpOnly {
					t.Errorf("cookie %s: Secure %v HttpOnly %v", c.Name, c.Secure, c.HttpOnly)
				}
			}
		})
	}
}

// 6. Email addresses reached the logs at info and warn: a request path
// naming a contact, a refused Mailgun payload's recipient.
func TestAbuseNoAddressesInLogs(t *testing.T) {
	t.Parallel()
	const key = "mailgun-signing-key-abuse"
	e := newEdge(t, "", "LONGTAIL_WEBHOOKS_MAILGUN_SIGNING_KEY="+key)
	if r := e.admin("GET", "/v1/contacts/jane.doe@acme.example", ""); r.status != http.StatusNotFound {
		t.Fatalf("GET contact: %d %s", r.status, r.body)
	}
	now := time.Now()
	stamp := strconv.FormatInt(now.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(stamp + "tok"))
	body := fmt.Sprintf(`{"signature":{"timestamp":%q,"token":"tok","signature":%q},`+
		`"event-data":{"event":"clicked","id":"e1","timestamp":%d,"recipient":"john.smith@acme"}}`, stamp, hex.EncodeToString(mac.Sum(nil)), now.Unix())
	if r := e.do("POST", "/webhooks/mailgun", body, map[string]string{"Content-Type": "application/json"}); r.status != http.StatusBadRequest {
		t.Fatalf("refused payload: %d %s", r.status, r.body)
	}
	logs := e.logs.String()
	for _, want := range []string{`"path":"/v1/contacts/***@acme.example"`, `***@acme`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	for _, leak := range []string{"jane.doe@", "john.smith@"} {
		if strings.Contains(logs, leak) {
			t.Errorf("log names %s:\n%s", leak, logs)
		}
	}
}

// 8. /metrics answered anyone, and JSON answers lacked nosniff.
func TestAbuseMetricsAndNosniff(t *testing.T) {
	t.Parallel()
	const token = "metrics-token-0123456789"
	e := newEdge(t, "", "LONGTAIL_METRICS_TOKEN="+token)
	if r := e.do("GET", "/metrics", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("GET /metrics without the token: %d", r.status)
	}
	if r := e.do("GET", "/metrics", "", map[string]string{"Authorization": "Bearer " + token}); r.status != http.StatusOK ||
		!strings.Contains(r.body, "longtail_") {
		t.Errorf("GET /metrics with the token: %d", r.status)
	}
	for _, path := range []string{"/healthz", "/v1/partners/p1", "/webhooks/nobody"} {
		if r := e.do("GET", path, "", nil); r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: %d without nosniff", path, r.status)
		}
	}
}
