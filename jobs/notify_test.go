package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/smtptest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/mailer"
	"github.com/longtailhq/longtail/notify"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
	"github.com/longtailhq/longtail/sendonce"
)

// syncBuffer lets the handler's logger and the test share a buffer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type notifySetup struct {
	rdb      *redis.Client
	renderer *notify.Renderer
	logs     *syncBuffer
	clock    *testclock.Clock
	dir      *directory.Store
	engine   *scoring.Engine
	queue    *repqueue.Queue
}

func newNotifySetup(t *testing.T) notifySetup {
	t.Helper()
	r, err := notify.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	rdb := redistest.New(t)
	clk := testclock.New(time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC))
	dir, err := directory.New(rdb, directory.Config{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	// A low threshold, so one webinar hands a partner off.
	engine, err := scoring.NewEngine(rdb, scoring.Config{Threshold: 9}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	q, err := repqueue.New(rdb, dir, engine, repqueue.Config{}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	return notifySetup{rdb: rdb, renderer: r, logs: &syncBuffer{}, clock: clk, dir: dir, engine: engine, queue: q}
}

// once is the send-once store the worker would use, on the setup's clock.
func (s notifySetup) once(t *testing.T, policy sendonce.Policy) *sendonce.Store {
	t.Helper()
	o, err := sendonce.New(s.rdb, sendonce.Config{SendingTTL: 2 * time.Second, Abandoned: policy, Clock: s.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// notifier wires the rep notifications as cmd does: m nil means no
// smtp.url, and then no send-once store either.
func (s notifySetup) notifier(t *testing.T, m notify.Mailer, once *sendonce.Store, level zerolog.Level) *notify.RepNotifier {
	t.Helper()
	d := notify.RepDeps{Renderer: s.renderer, Reps: s.dir, Queue: s.queue, Log: zerolog.New(s.logs).Level(level)}
	if m != nil {
		d.Mailer, d.Once = m, once
	}
	n, err := notify.NewRepNotifier(notify.RepConfig{PageURL: "http://longtail.test/ui/queue", Clock: s.clock.Now}, d)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// mux wires the notification handlers as the worker does.
func (s notifySetup) mux(t *testing.T, m notify.Mailer, hooks *notify.WebhookSender, level zerolog.Level) *asynq.ServeMux {
	t.Helper()
	return s.muxWith(t, s.notifier(t, m, s.once(t, sendonce.AbandonedIsUncertain), level), hooks)
}

func (s notifySetup) muxWith(t *testing.T, n *notify.RepNotifier, hooks *notify.WebhookSender) *asynq.ServeMux {
	t.Helper()
	mux := asynq.NewServeMux()
	jobs.RegisterNotify(mux, jobs.NotifyDeps{Reps: n, Webhooks: hooks, Log: zerolog.New(s.logs)})
	return mux
}

func newTestMailer(t *testing.T, url string, timeout time.Duration) *mailer.Mailer {
	t.Helper()
	m, err := mailer.New(mailer.Config{URL: url, From: "Longtail <noreply@vendor.example>", Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func handoff() notify.Handoff {
	return notify.Handoff{
		RepID: "rep-7", RepName: "Camille Martin", RepEmail: "camille@vendor.example", Locale: "fr",
		PartnerID: "acme", PartnerName: "Acme Networks", ContactName: "Jane Doe", ContactEmail: "jane@acme.example",
		Score: 42, Reasons: []string{"Clicked the deal registration email", "Visited /products/security"},
		QueuedAt: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), DueAt: time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC),
		PageURL: "https://longtail.vendor.example/ui/partners/acme",
	}
}

const markerKey = "lt:{p:acme}:notify:notify:rep:acme:1"

func marker(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	v, err := rdb.Get(context.Background(), markerKey).Result()
	if errors.Is(err, redis.Nil) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestNotifyRepSendsOncePerStep(t *testing.T) {
	t.Parallel()
	s := newNotifySetup(t)
	srv := smtptest.StartWith(t, smtptest.Options{TLS: smtptest.StartTLS, Username: "longtail", Password: "smtp-password"})
	mux := s.mux(t, newTestMailer(t, srv.URL, 5*time.Second), nil, zerolog.InfoLevel)
	task := jobs.NewNotifyRepTask(handoff(), 1)
	for i := range 3 {
		if err := mux.ProcessTask(context.Background(), task); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages for one step run 3 times, want 1", len(msgs))
	}
	want, err := s.renderer.RenderHandoff(handoff())
	if err != nil {
		t.Fatal(err)
	}
	data := string(msgs[0].Data)
	for _, s := range []string{
		"Message-Id: " + want.Headers.Get("Message-Id"), "Auto-Submitted: auto-generated",
		"From: \"Longtail\" <noreply@vendor.example>", "camille@vendor.example",
	} {
		if !strings.Contains(data, s) {
			t.Errorf("message lacks %q:\n%s", s, data)
		}
	}
	if got := marker(t, s.rdb); got != "sent" {
		t.Errorf("marker = %q, want sent", got)
	}
	ttl := s.rdb.TTL(context.Background(), markerKey).Val()
	if ttl < 24*time.Hour {
		t.Errorf("sent marker TTL = %s, want days (it must outlive the task's retries)", ttl)
	}
	if logs := s.logs.String(); strings.Contains(logs, "@vendor.example") || strings.Contains(logs, "@acme.example") {
		t.Errorf("an email address was logged above debug level:\n%s", logs)
	}
}

func TestNotifyRepWithoutMailerLogsOnly(t *testing.T) {
	t.Parallel()
	s := newNotifySetup(t)
	mux := s.mux(t, nil, nil, zerolog.InfoLevel) // as cmd wires it when smtp.url is unset
	if err := mux.ProcessTask(context.Background(), jobs.NewNotifyRepTask(handoff(), 1)); err != nil {
		t.Fatalf("ProcessTask: %v", err)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(s.logs.String())), &line); err != nil {
		t.Fatalf("want one JSON log line, got %q: %v", s.logs.String(), err)
	}
	for k, want := range map[string]any{"level": "info", "rep_id": "rep-7", "partner_id": "acme", "step": "notify:rep:acme:1", "reasons": 2.0} {
		if line[k] != want {
			t.Errorf("log %s = %v, want %v", k, line[k], want)
		}
	}
	if logs := s.logs.String(); strings.Contains(logs, "@") {
		t.Errorf("an email address was logged at info:\n%s", logs)
	}
	if got := marker(t, s.rdb); got != "" {
		t.Errorf("logging-only mode wrote marker %q", got)
	}
}

func TestNotifyRepFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		setup     func(t *testing.T, srv *smtptest.Server) string // returns the SMTP URL
		wantSkip  bool
		wantMsgs  int
		wantMark  string
		wantRetry bool // a second run (server healthy) sends
	}{
		{
			name: "permanent 550 is not retried",
			setup: func(t *testing.T, srv *smtptest.Server) string {
				srv.Reject(smtptest.StageRcpt, 550, "no such user")
				return srv.URL
			},
			wantSkip: true,
		},
		{
			name: "transient 451 clears the marker for the retry",
			setup: func(t *testing.T, srv *smtptest.Server) string {
				srv.Reject(smtptest.StageRcpt, 451, "greylisted")
				return srv.URL
			},
			wantRetry: true,
		},
		{
			name: "lost reply after DATA counts as sent",
			setup: func(t *testing.T, srv *smtptest.Server) string {
				srv.DelayData(1500 * time.Millisecond)
				return srv.URL
			},
			wantMsgs: 1, wantMark: "uncertain",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newNotifySetup(t)
			srv := smtptest.Start(t)
			url := tt.setup(t, srv)
			mux := s.mux(t, newTestMailer(t, url, 300*time.Millisecond), nil, zerolog.InfoLevel)
			task := jobs.NewNotifyRepTask(handoff(), 1)
			err := mux.ProcessTask(context.Background(), task)
			wantErr := tt.wantSkip || tt.wantRetry
			if (err != nil) != wantErr {
				t.Fatalf("ProcessTask = %v, want error %v", err, wantErr)
			}
			if got := errors.Is(err, asynq.SkipRetry); got != tt.wantSkip {
				t.Errorf("SkipRetry = %v, want %v (%v)", got, tt.wantSkip, err)
			}
			if err != nil && strings.Contains(err.Error(), "@vendor.example") {
				t.Errorf("error carries the rep's address: %v", err)
			}
			if n := len(srv.Messages()); n != tt.wantMsgs {
				t.Errorf("messages = %d, want %d", n, tt.wantMsgs)
			}
			if got := marker(t, s.rdb); got != tt.wantMark {
				t.Errorf("marker = %q, want %q", got, tt.wantMark)
			}
			// A retry of the same task, with the server healthy again.
			srv.Reject(smtptest.StageRcpt, 0, "")
			srv.DelayData(0)
			if err := mux.ProcessTask(context.Background(), task); err != nil {
				t.Fatalf("second run: %v", err)
			}
			wantAfter := tt.wantMsgs
			if tt.wantRetry || tt.wantSkip {
				// A skipped task is not retried by asynq; run by hand (an
				// operator's requeue) it may send, since nothing went out.
				wantAfter++
			}
			if n := len(srv.Messages()); n != wantAfter {
				t.Errorf("after a second run: messages = %d, want %d", n, wantAfter)
			}
		})
	}
}

func TestNotifyRepServerDownThenUp(t *testing.T) {
	t.Parallel()
	s := newNotifySetup(t)
	down := smtptest.Start(t)
	down.Close()
	task := jobs.NewNotifyRepTask(handoff(), 1)
	err := s.mux(t, newTestMailer(t, down.URL, time.Second), nil, zerolog.InfoLevel).ProcessTask(context.Background(), task)
	if err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("ProcessTask with the server down = %v, want a retryable error", err)
	}
	if got := marker(t, s.rdb); got != "" {
		t.Errorf("marker after a failed connect = %q, want none", got)
	}
	up := smtptest.Start(t)
	if err := s.mux(t, newTestMailer(t, up.URL, time.Second), nil, zerolog.InfoLevel).ProcessTask(context.Background(), task); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := len(up.Messages()); n != 1 {
		t.Errorf("messages = %d, want 1", n)
	}
}

// TestNotifyRepWaitsForAnAttemptInFlight: while another attempt holds the
// marker the task retries without sending; once that attempt has timed
// out (the clock, not a wait, moves past SendingTTL) the crash policy
// decides, and either way the rep gets at most one email.
func TestNotifyRepWaitsForAnAttemptInFlight(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		policy     sendonce.Policy
		wantMsgs   int
		wantMarker string
	}{
		{"died attempt counts as uncertain (default)", sendonce.AbandonedIsUncertain, 0, "uncertain"},
		{"died attempt is resent when configured", sendonce.AbandonedIsResent, 1, "sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newNotifySetup(t)
			srv := smtptest.Start(t)
			once := s.once(t, tt.policy)
			mux := s.muxWith(t, s.notifier(t, newTestMailer(t, srv.URL, time.Second), once, zerolog.InfoLevel), nil)
			// Another worker's attempt, which then dies mid-send.
			if m, err := once.Mark(context.Background(), "{p:acme}", "notify:rep:acme:1"); err != nil || m.State != sendonce.Acquired {
				t.Fatalf("the other attempt's Mark = %v, %v", m.State, err)
			}
			task := jobs.NewNotifyRepTask(handoff(), 1)
			err := mux.ProcessTask(context.Background(), task)
			if err == nil || errors.Is(err, asynq.SkipRetry) {
				t.Fatalf("ProcessTask = %v, want a retryable error while another attempt holds the marker", err)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Fatalf("sent %d messages while another attempt was sending", n)
			}
			s.clock.Advance(2*time.Second + time.Millisecond) // past SendingTTL
			for i := range 2 {                                // the retry, and a later duplicate run
				if err := mux.ProcessTask(context.Background(), task); err != nil {
					t.Fatalf("run %d after the other attempt timed out: %v", i, err)
				}
			}
			if n := len(srv.Messages()); n != tt.wantMsgs {
				t.Errorf("messages = %d, want %d", n, tt.wantMsgs)
			}
			if got := marker(t, s.rdb); got != tt.wantMarker {
				t.Errorf("marker = %q, want %q", got, tt.wantMarker)
			}
			if got, want := once.Stats().Abandoned, int64(1-tt.wantMsgs); got != want {
				t.Errorf("abandoned attempts counted = %d, want %d", got, want)
			}
		})
	}
}

func TestNotifyRepRedisDownDoesNotSend(t *testing.T) {
	t.Parallel()
	s := newNotifySetup(t)
	rs := redistest.StartServer(t)
	rdb := redis.NewClient(rs.Options())
	t.Cleanup(func() { _ = rdb.Close() })
	once, err := sendonce.New(rdb, sendonce.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := smtptest.Start(t)
	mux := s.muxWith(t, s.notifier(t, newTestMailer(t, srv.URL, time.Second), once, zerolog.Disabled), nil)
	rs.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = mux.ProcessTask(ctx, jobs.NewNotifyRepTask(handoff(), 1))
	if err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("ProcessTask with Redis down = %v, want a retryable error", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("sent %d messages without a marker", n)
	}
}

func TestNotifyRepRejectsBadPayloads(t *testing.T) {
	t.Parallel()
	s := newNotifySetup(t)
	srv := smtptest.Start(t)
	mux := s.mux(t, newTestMailer(t, srv.URL, time.Second), nil, zerolog.InfoLevel)
	bad := handoff()
	bad.PageURL = "not a url"
	forged, err := json.Marshal(jobs.NotifyRepPayload{StepID: "notify:rep:globex:1", Handoff: handoff()})
	if err != nil {
		t.Fatal(err)
	}
	for name, task := range map[string]*asynq.Task{
		"invalid hand-off": jobs.NewNotifyRepTask(bad, 1),
		"foreign step id":  asynq.NewTask(jobs.TypeNotifyRep, forged),
		"not json":         asynq.NewTask(jobs.TypeNotifyRep, []byte("{")),
	} {
		if err := mux.ProcessTask(context.Background(), task); !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("%s: %v, want SkipRetry", name, err)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("sent %d messages", n)
	}
}

func TestNotifyRepTaskIsQueuedOncePerStep(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t)
	client := asynq.NewClientFromRedisClient(rdb)
	defer client.Close()
	ctx := context.Background()
	for range 3 {
		if err := jobs.EnqueueNotifyRep(ctx, client, handoff(), 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := jobs.EnqueueNotifyRep(ctx, client, handoff(), 2); err != nil {
		t.Fatal(err)
	}
	tasks, err := asynq.NewInspectorFromRedisClient(rdb).ListPendingTasks(jobs.QueueHandoff)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, ti := range tasks {
		ids[ti.ID] = true
	}
	if len(tasks) != 2 || !ids["notify:rep:acme:1"] || !ids["notify:rep:acme:2"] {
		t.Errorf("pending tasks %v, want notify:rep:acme:1 and :2 once each", ids)
	}
}

const hookSecret = "crm-webhook-secret-0123"

func TestNotifyWebhookDeliversSignedAndMapsStatus(t *testing.T) {
	t.Parallel()
	var (
		mu     sync.Mutex
		status = http.StatusNoContent
		got    []*http.Request
		bodies [][]byte
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if err := notify.VerifySignature(hookSecret, r.Header.Get(notify.HeaderSignature), b, time.Now(), time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		got, bodies = append(got, r), append(bodies, b)
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "90")
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rcv.Close)
	hooks, err := notify.NewWebhookSender([]notify.Webhook{{URL: rcv.URL, Secret: hookSecret}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newNotifySetup(t)
	mux := s.mux(t, nil, hooks, zerolog.InfoLevel)
	p, err := notify.NewOutcomePayload(notify.Outcome{RepID: "rep-7", PartnerID: "acme", Outcome: "connected", At: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	body, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	task := jobs.NewNotifyWebhookTask(0, p.ID, body)

	tests := []struct {
		status    int
		wantErr   bool
		wantSkip  bool
		wantDelay time.Duration
	}{
		{status: http.StatusNoContent},
		{status: http.StatusServiceUnavailable, wantErr: true},
		{status: http.StatusTooManyRequests, wantErr: true, wantDelay: 90 * time.Second},
		{status: http.StatusGone, wantErr: true, wantSkip: true},
	}
	for _, tt := range tests {
		mu.Lock()
		status = tt.status
		mu.Unlock()
		err := mux.ProcessTask(context.Background(), task)
		if (err != nil) != tt.wantErr || errors.Is(err, asynq.SkipRetry) != tt.wantSkip {
			t.Errorf("status %d: ProcessTask = %v, want error %v, skip %v", tt.status, err, tt.wantErr, tt.wantSkip)
		}
		if tt.wantDelay > 0 {
			if d := jobs.RetryDelay(3, err, task); d != tt.wantDelay {
				t.Errorf("status %d: RetryDelay = %s, want the receiver's Retry-After %s", tt.status, d, tt.wantDelay)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(tests) {
		t.Fatalf("receiver verified %d deliveries, want %d", len(got), len(tests))
	}
	for i, r := range got {
		if r.Header.Get(notify.HeaderDelivery) != p.ID || r.Header.Get(notify.HeaderEvent) != notify.EventHandoffOutcome {
			t.Errorf("delivery %d headers: %v", i, r.Header)
		}
		if !bytes.Equal(bodies[i], body) {
			t.Errorf("delivery %d body %s, want %s", i, bodies[i], body)
		}
	}
}

func TestNotifyWebhookUnknownReceiverIsPermanent(t *testing.T) {
	t.Parallel()
	s := newNotifySetup(t)
	mux := s.mux(t, nil, nil, zerolog.InfoLevel)
	err := mux.ProcessTask(context.Background(), jobs.NewNotifyWebhookTask(0, "handoff.created.x", []byte(`{"type":"handoff.created","id":"handoff.created.x"}`)))
	if !errors.Is(err, asynq.SkipRetry) {
		t.Errorf("ProcessTask = %v, want SkipRetry for a receiver that is no longer configured", err)
	}
}

func TestEnqueueWebhooksOncePerReceiver(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t)
	client := asynq.NewClientFromRedisClient(rdb)
	defer client.Close()
	p, err := notify.NewHandoffPayload(handoff())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := jobs.EnqueueWebhooks(context.Background(), client, 3, p); err != nil {
			t.Fatal(err)
		}
	}
	tasks, err := asynq.NewInspectorFromRedisClient(rdb).ListPendingTasks(jobs.QueueHandoff)
	if err != nil {
		t.Fatal(err)
	}
	hooks := map[int]int{}
	for _, ti := range tasks {
		var pl jobs.NotifyWebhookPayload
		if err := json.Unmarshal(ti.Payload, &pl); err != nil {
			t.Fatal(err)
		}
		if pl.DeliveryID != p.ID || ti.MaxRetry != 20 {
			t.Errorf("task %s: delivery %q max retry %d", ti.ID, pl.DeliveryID, ti.MaxRetry)
		}
		hooks[pl.HookIndex]++
	}
	if len(tasks) != 3 || hooks[0] != 1 || hooks[1] != 1 || hooks[2] != 1 {
		t.Errorf("pending deliveries per receiver = %v (%d tasks), want one each for 0, 1, 2", hooks, len(tasks))
	}
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	task := asynq.NewTask(jobs.TypeNotifyWebhook, nil)
	tests := []struct {
		n        int
		min, max time.Duration
	}{
		{n: 0, min: 8 * time.Second, max: 12 * time.Second},
		{n: 1, min: 16 * time.Second, max: 24 * time.Second},
		{n: 5, min: 256 * time.Second, max: 384 * time.Second},
		{n: 12, min: 48 * time.Minute, max: 72 * time.Minute},
		{n: 100, min: 48 * time.Minute, max: 72 * time.Minute},
	}
	for _, tt := range tests {
		for range 20 {
			if d := jobs.RetryDelay(tt.n, errors.New("503"), task); d < tt.min || d > tt.max {
				t.Errorf("RetryDelay(%d) = %s, want within [%s, %s]", tt.n, d, tt.min, tt.max)
			}
		}
	}
	capped := jobs.RetryDelay(0, &notify.HTTPError{Status: 429, RetryAfter: 48 * time.Hour}, task)
	if capped != time.Hour {
		t.Errorf("Retry-After of 48h gave %s, want the 1h cap", capped)
	}
	other := asynq.NewTask(jobs.TypeScoreRFM, nil)
	if d := jobs.RetryDelay(0, errors.New("x"), other); d > time.Minute {
		t.Errorf("other task types should keep asynq's default; got %s", d)
	}
}

func TestRegisterNotifyPanicsOnMissingDeps(t *testing.T) {
	t.Parallel()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("RegisterNotify without a rep notifier did not panic")
			}
		}()
		jobs.RegisterNotify(asynq.NewServeMux(), jobs.NotifyDeps{})
	}()
	// Logging-only needs neither a send-once store nor webhooks.
	s := newNotifySetup(t)
	jobs.RegisterNotify(asynq.NewServeMux(), jobs.NotifyDeps{Reps: s.notifier(t, nil, nil, zerolog.InfoLevel)})
}

var _ notify.Mailer = (*mailer.Mailer)(nil)
