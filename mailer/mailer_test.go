package mailer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jordan-wright/email"
	"golang.org/x/time/rate"

	"github.com/longtailhq/longtail/internal/smtptest"
	"github.com/longtailhq/longtail/mailer"
)

const from = "Longtail <noreply@vendor.example>"

func newMailer(t testing.TB, url string, mod ...func(*mailer.Config)) *mailer.Mailer {
	t.Helper()
	cfg := mailer.Config{URL: url, From: from, Timeout: 5 * time.Second}
	for _, f := range mod {
		f(&cfg)
	}
	m, err := mailer.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// message exercises what breaks naive SMTP code: a line starting with a
// dot (dot stuffing), non-ASCII text in the subject and body, a line longer
// than quoted-printable's 76 columns, and a Bcc that must reach the
// envelope but never the headers.
func message(t testing.TB, id string) *email.Email {
	t.Helper()
	e := email.NewEmail()
	e.To = []string{"Renée Rep <rep@vendor.example>"}
	e.Bcc = []string{"audit@vendor.example"}
	e.Subject = "Call Acme Networks today — score 42"
	e.Text = []byte("Hello Renée,\r\n.this line starts with a dot\r\n" + strings.Repeat("long line ", 20) + "\r\nend\r\n")
	e.HTML = []byte("<p>Hello Ren\u00e9e,</p>\r\n<p>.dot</p>\r\n<a href=\"https://app.example/p/acme?x=1&amp;y=2\">open</a>\r\n")
	e.Headers.Set("Date", "Mon, 02 Nov 2026 09:00:00 +0000")
	if err := mailer.SetMessageID(e, id); err != nil {
		t.Fatalf("SetMessageID: %v", err)
	}
	return e
}

// checkDelivered parses what the server received and compares it with
// what was sent, part by part, after transfer decoding.
func checkDelivered(t *testing.T, got smtptest.Message, sent *email.Email, wantID string) {
	t.Helper()
	if got.From != "noreply@vendor.example" {
		t.Errorf("envelope from = %q", got.From)
	}
	if diff := cmp.Diff([]string{"rep@vendor.example", "audit@vendor.example"}, got.To); diff != "" {
		t.Errorf("envelope rcpt (-want, +got):\n%s", diff)
	}
	if bytes.Contains(got.Data, []byte("audit@vendor.example")) {
		t.Errorf("Bcc address leaked into the message:\n%s", got.Data)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got.Data))
	if err != nil {
		t.Fatalf("parse received message: %v\n%s", err, got.Data)
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decode subject: %v", err)
	}
	headers := map[string]string{
		"Subject":    subject,
		"Message-Id": msg.Header.Get("Message-Id"),
		"Date":       msg.Header.Get("Date"),
		"From":       msg.Header.Get("From"),
		"Bcc":        msg.Header.Get("Bcc"),
		"Unsub":      msg.Header.Get("List-Unsubscribe"),
	}
	to, err := mail.ParseAddress(msg.Header.Get("To"))
	if err != nil {
		t.Fatalf("parse To %q: %v", msg.Header.Get("To"), err)
	}
	headers["To"] = to.Name + " / " + to.Address
	want := map[string]string{
		"Subject":    sent.Subject,
		"Message-Id": wantID,
		"Date":       "Mon, 02 Nov 2026 09:00:00 +0000",
		"From":       `"Longtail" <noreply@vendor.example>`,
		"Bcc":        "",
		"Unsub":      "",
		"To":         "Renée Rep / rep@vendor.example",
	}
	if diff := cmp.Diff(want, headers); diff != "" {
		t.Errorf("headers (-want, +got):\n%s", diff)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	parts := map[string][]byte{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		if cte := p.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Fatalf("part encoding %q", cte)
		}
		b, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatalf("decode part: %v", err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts[ct] = b
	}
	if diff := cmp.Diff(string(sent.Text), string(parts["text/plain"])); diff != "" {
		t.Errorf("text part (-want, +got):\n%s", diff)
	}
	if diff := cmp.Diff(string(sent.HTML), string(parts["text/html"])); diff != "" {
		t.Errorf("html part (-want, +got):\n%s", diff)
	}
}

func TestSendDeliversOverEveryTransport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     smtptest.Options
		url      func(s *smtptest.Server) string
		wantTLS  bool
		wantMech string // when set, the SASL mechanism used
	}{
		{name: "plain", opts: smtptest.Options{}, url: func(s *smtptest.Server) string { return s.URL }},
		{name: "plain with auth on localhost", opts: smtptest.Options{Username: "longtail", Password: "s3cret-pass"},
			url: func(s *smtptest.Server) string { return s.URL }},
		{name: "starttls required with auth", opts: smtptest.Options{TLS: smtptest.StartTLS, Username: "longtail", Password: "s3cret-pass"},
			url: func(s *smtptest.Server) string { return s.URL }, wantTLS: true},
		{name: "starttls by default", opts: smtptest.Options{TLS: smtptest.StartTLS},
			url:     func(s *smtptest.Server) string { return "smtp://" + s.Addr + "?insecure_skip_verify=true" },
			wantTLS: true},
		{name: "tls=none stays clear though starttls is offered", opts: smtptest.Options{TLS: smtptest.StartTLS},
			url: func(s *smtptest.Server) string { return "smtp://" + s.Addr + "?tls=none" }},
		{name: "legacy starttls=off stays clear", opts: smtptest.Options{TLS: smtptest.StartTLS},
			url: func(s *smtptest.Server) string { return "smtp://" + s.Addr + "?starttls=off" }},
		{name: "legacy starttls=auto goes clear when not offered", opts: smtptest.Options{},
			url: func(s *smtptest.Server) string { return "smtp://" + s.Addr + "?starttls=auto" }},
		{name: "auth login when the server offers only login", wantMech: "LOGIN",
			opts: smtptest.Options{TLS: smtptest.StartTLS, Username: "longtail", Password: "s3cret-pass", AuthMechanisms: []string{"LOGIN"}},
			url:  func(s *smtptest.Server) string { return s.URL }, wantTLS: true},
		{name: "auth login on a clear local relay", wantMech: "LOGIN",
			opts: smtptest.Options{Username: "longtail", Password: "s3cret-pass", AuthMechanisms: []string{"LOGIN"}},
			url:  func(s *smtptest.Server) string { return s.URL }},
		{name: "auth plain preferred when both are offered", wantMech: "PLAIN",
			opts: smtptest.Options{TLS: smtptest.StartTLS, Username: "longtail", Password: "s3cret-pass", AuthMechanisms: []string{"LOGIN", "PLAIN"}},
			url:  func(s *smtptest.Server) string { return s.URL }, wantTLS: true},
		{name: "implicit tls with auth", opts: smtptest.Options{TLS: smtptest.ImplicitTLS, Username: "longtail", Password: "s3cret-pass"},
			url: func(s *smtptest.Server) string { return s.URL }, wantTLS: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.StartWith(t, tt.opts)
			m := newMailer(t, tt.url(srv))
			sent := message(t, "step-1.acme@longtail")
			if err := m.Send(context.Background(), sent); err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("server got %d messages, want 1", len(msgs))
			}
			if msgs[0].TLS != tt.wantTLS {
				t.Errorf("TLS = %v, want %v", msgs[0].TLS, tt.wantTLS)
			}
			if msgs[0].User != tt.opts.Username {
				t.Errorf("authenticated user = %q, want %q", msgs[0].User, tt.opts.Username)
			}
			if tt.wantMech != "" && msgs[0].Mechanism != tt.wantMech {
				t.Errorf("AUTH mechanism = %q, want %q", msgs[0].Mechanism, tt.wantMech)
			}
			checkDelivered(t, msgs[0], sent, "<step-1.acme@longtail>")
			if sent.From != "" {
				t.Errorf("Send modified the caller's message: From = %q", sent.From)
			}
		})
	}
}

func TestSendClassifiesFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		opts          smtptest.Options
		url           func(s *smtptest.Server) string
		setup         func(s *smtptest.Server)
		wantPermanent bool
		wantInMessage string
	}{
		{name: "recipient refused 550", setup: func(s *smtptest.Server) { s.Reject(smtptest.StageRcpt, 550, "<rep@vendor.example>: no such user") },
			wantPermanent: true, wantInMessage: "RCPT TO: 550"},
		{name: "sender refused 553", setup: func(s *smtptest.Server) { s.Reject(smtptest.StageMail, 553, "not allowed") },
			wantPermanent: true, wantInMessage: "MAIL FROM: 553"},
		{name: "content refused 554", setup: func(s *smtptest.Server) { s.Reject(smtptest.StageData, 554, "spam") },
			wantPermanent: true, wantInMessage: "end of DATA: 554"},
		{name: "greylisted 451", setup: func(s *smtptest.Server) { s.Reject(smtptest.StageRcpt, 451, "try later") },
			wantInMessage: "RCPT TO: 451"},
		{name: "mailbox full 452 at data", setup: func(s *smtptest.Server) { s.Reject(smtptest.StageData, 452, "full") },
			wantInMessage: "end of DATA: 452"},
		{name: "wrong password 535", opts: smtptest.Options{TLS: smtptest.StartTLS, Username: "longtail", Password: "right-password"},
			url: func(s *smtptest.Server) string {
				return "smtp://longtail:wrong-password@" + s.Addr + "?starttls=require&insecure_skip_verify=true"
			},
			wantPermanent: true, wantInMessage: "AUTH: 535"},
		{name: "starttls required by default but not offered", url: func(s *smtptest.Server) string { return "smtp://" + s.Addr },
			wantInMessage: "does not offer STARTTLS"},
		{name: "legacy starttls=require not offered", url: func(s *smtptest.Server) string { return "smtp://" + s.Addr + "?starttls=require" },
			wantInMessage: "does not offer STARTTLS"},
		{name: "auth configured but not offered", url: func(s *smtptest.Server) string { return "smtp://u:p@" + s.Addr + "?tls=none" },
			wantInMessage: "does not offer AUTH"},
		{name: "421 at MAIL is transient", setup: func(s *smtptest.Server) { s.Reject(smtptest.StageMail, 421, "closing") },
			wantInMessage: "MAIL FROM: 421"},
		{name: "server down", setup: func(s *smtptest.Server) { s.Close() }, wantInMessage: "connect to 127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.StartWith(t, tt.opts)
			url := srv.URL
			if tt.url != nil {
				url = tt.url(srv)
			}
			obs := &sends{}
			m := newMailer(t, url, func(c *mailer.Config) { c.Observer = obs })
			if tt.setup != nil {
				tt.setup(srv)
			}
			err := m.Send(context.Background(), message(t, "x@longtail"))
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			want := mailer.ResultDeferred
			if tt.wantPermanent {
				want = mailer.ResultFailed
			}
			if got := obs.String(); got != want {
				t.Errorf("observer heard %q, want one %q send", got, want)
			}
			if got := errors.Is(err, mailer.ErrPermanent); got != tt.wantPermanent {
				t.Errorf("errors.Is(ErrPermanent) = %v, want %v (err: %v)", got, tt.wantPermanent, err)
			}
			if errors.Is(err, mailer.ErrUncertain) {
				t.Errorf("error is marked uncertain though the server refused or was never reached: %v", err)
			}
			if !strings.Contains(err.Error(), tt.wantInMessage) {
				t.Errorf("error %q does not mention %q", err, tt.wantInMessage)
			}
			if strings.Contains(err.Error(), "password") {
				t.Errorf("error reveals the password: %v", err)
			}
			if strings.Contains(err.Error(), "rep@vendor.example") {
				t.Errorf("error carries an email address (errors reach logs): %v", err)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("server accepted %d messages", n)
			}
		})
	}
}

func TestSendRejectsUnsendableMessages(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m := newMailer(t, srv.URL)
	tests := []struct {
		name string
		edit func(e *email.Email)
	}{
		{name: "no message id", edit: func(e *email.Email) { e.Headers.Del("Message-Id") }},
		{name: "no recipient", edit: func(e *email.Email) { e.To, e.Bcc = nil, nil }},
		{name: "bad recipient", edit: func(e *email.Email) { e.To = []string{"not an address"} }},
		{name: "bad from", edit: func(e *email.Email) { e.From = "nobody" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := message(t, "x@longtail")
			tt.edit(e)
			err := m.Send(context.Background(), e)
			if !errors.Is(err, mailer.ErrPermanent) {
				t.Fatalf("Send = %v, want ErrPermanent", err)
			}
		})
	}
	if err := m.Send(context.Background(), nil); !errors.Is(err, mailer.ErrPermanent) {
		t.Errorf("Send(nil) = %v, want ErrPermanent", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server accepted %d messages", n)
	}
}

// silentServer accepts connections and never says a word, like a
// firewalled or wedged relay.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return "smtp://" + l.Addr().String()
}

func TestSendIsBoundedInTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		timeout time.Duration
		ctx     func() (context.Context, context.CancelFunc)
		wantErr error
	}{
		{name: "configured timeout", timeout: 300 * time.Millisecond,
			ctx: func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }, wantErr: context.DeadlineExceeded},
		{name: "caller deadline shorter", timeout: time.Minute,
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 300*time.Millisecond)
			}, wantErr: context.DeadlineExceeded},
		{name: "caller cancels", timeout: time.Minute,
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(300*time.Millisecond, cancel)
				return ctx, cancel
			}, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newMailer(t, silentServer(t), func(c *mailer.Config) { c.Timeout = tt.timeout })
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			err := m.Send(ctx, message(t, "x@longtail"))
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("Send took %s", el)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Send = %v, want %v", err, tt.wantErr)
			}
			if errors.Is(err, mailer.ErrPermanent) {
				t.Errorf("a timeout must be transient: %v", err)
			}
		})
	}
}

func TestSendWithoutReplyToDataIsUncertain(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	srv.DelayData(2 * time.Second)
	m := newMailer(t, srv.URL, func(c *mailer.Config) { c.Timeout = 500 * time.Millisecond })
	err := m.Send(context.Background(), message(t, "x@longtail"))
	if !errors.Is(err, mailer.ErrUncertain) || errors.Is(err, mailer.ErrPermanent) {
		t.Fatalf("Send = %v, want ErrUncertain and not ErrPermanent", err)
	}
	// The reason it is uncertain: the server did take the message.
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("server recorded %d messages, want 1", n)
	}
}

func TestSendReusesSessionsAndRecoversFromDroppedOnes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts smtptest.Options
		drop func(s *smtptest.Server)
	}{
		{name: "idle timeout 421 then close, starttls", opts: smtptest.Options{TLS: smtptest.StartTLS, Username: "u", Password: "p4ssword"},
			drop: (*smtptest.Server).ExpireIdle},
		{name: "idle timeout 421 then close, clear", drop: (*smtptest.Server).ExpireIdle},
		{name: "idle timeout 421 then close, implicit tls", opts: smtptest.Options{TLS: smtptest.ImplicitTLS},
			drop: (*smtptest.Server).ExpireIdle},
		{name: "connection closed without a word", opts: smtptest.Options{TLS: smtptest.StartTLS, Username: "u", Password: "p4ssword"},
			drop: (*smtptest.Server).DropConnections},
	}
	// Each drop is met twice: by the RSET check before reuse (CheckIdle
	// -1: every reuse) and, for a session reused at once, by the one
	// redial after MAIL meets the dead session.
	for _, tt := range tests {
		for _, check := range []time.Duration{-1, time.Hour} {
			t.Run(fmt.Sprintf("%s, CheckIdle %s", tt.name, check), func(t *testing.T) {
				t.Parallel()
				reuseAfterDrop(t, tt.opts, tt.drop, check)
			})
		}
	}
}

func reuseAfterDrop(t *testing.T, opts smtptest.Options, drop func(*smtptest.Server), check time.Duration) {
	srv := smtptest.StartWith(t, opts)
	m := newMailer(t, srv.URL, func(c *mailer.Config) { c.CheckIdle = check })
	ctx := context.Background()
	for i := range 3 {
		if err := m.Send(ctx, message(t, "seq@longtail")); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if got := srv.Connections(); got != 1 {
		t.Errorf("3 sequential sends used %d connections, want 1", got)
	}
	drop(srv)
	sent := message(t, "after-drop@longtail")
	if err := m.Send(ctx, sent); err != nil {
		t.Fatalf("send after the server dropped the session: %v", err)
	}
	if got := srv.Connections(); got != 2 {
		t.Errorf("connections = %d, want 2 (one redial)", got)
	}
	msgs := srv.Messages()
	if n := len(msgs); n != 4 {
		t.Fatalf("server got %d messages, want 4 (the one after the drop exactly once)", n)
	}
	var after int
	for _, msg := range msgs {
		if bytes.Contains(msg.Data, []byte("<after-drop@longtail>")) {
			after++
		}
	}
	if after != 1 {
		t.Errorf("the message sent after the drop arrived %d times, want 1", after)
	}
}

// TestSendRedialsOnceWhenAReusedSessionIsClosing covers a kept session
// the server closes with 421 at MAIL: one redial, and a server that keeps
// refusing is reported, not looped on. Any other refusal is the server's
// answer to the message and is not retried on a new session.
func TestSendRedialsOnceWhenAReusedSessionIsClosing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		stage         smtptest.Stage
		code          int
		wantConns     int // the kept session, plus one for a redial
		wantPermanent bool
	}{
		{stage: smtptest.StageMail, code: 421, wantConns: 2},
		{stage: smtptest.StageRcpt, code: 421, wantConns: 2},
		{stage: smtptest.StageMail, code: 451, wantConns: 1},
		{stage: smtptest.StageRcpt, code: 550, wantConns: 1, wantPermanent: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d at stage %d", tt.code, tt.stage), func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t)
			m := newMailer(t, srv.URL)
			ctx := context.Background()
			if err := m.Send(ctx, message(t, "first@longtail")); err != nil {
				t.Fatal(err)
			}
			srv.Reject(tt.stage, tt.code, "refused")
			err := m.Send(ctx, message(t, "second@longtail"))
			if err == nil || errors.Is(err, mailer.ErrPermanent) != tt.wantPermanent || !strings.Contains(err.Error(), strconv.Itoa(tt.code)) {
				t.Fatalf("Send = %v, want %d (permanent %v)", err, tt.code, tt.wantPermanent)
			}
			if got := srv.Connections(); got != tt.wantConns {
				t.Errorf("connections = %d, want %d", got, tt.wantConns)
			}
			srv.Reject(tt.stage, 0, "")
			if err := m.Send(ctx, message(t, "third@longtail")); err != nil {
				t.Fatal(err)
			}
			if n := len(srv.Messages()); n != 2 {
				t.Errorf("server got %d messages, want 2", n)
			}
		})
	}
}

func TestSendIsPacedByTheLimiter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  func(c *mailer.Config)
		want int // messages the server gets out of 5
	}{
		// A limiter that never refills lets exactly its burst through,
		// then refuses at once a wait the caller's deadline cannot
		// cover: the count at the server is the limiter's, and no test
		// assertion reads a clock.
		{name: "injected limiter, burst 3", cfg: func(c *mailer.Config) { c.Limiter = rate.NewLimiter(0, 3) }, want: 3},
		// smtp.rate 0.001/s: one message, then a wait of ~17 minutes.
		{name: "smtp.rate far slower than the caller's deadline", cfg: func(c *mailer.Config) { c.Rate = 0.001 }, want: 1},
		{name: "unlimited", cfg: func(c *mailer.Config) {}, want: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t)
			m := newMailer(t, srv.URL, tt.cfg)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var refused int
			for range 5 {
				err := m.Send(ctx, message(t, "r@longtail"))
				if err == nil {
					continue
				}
				refused++
				if errors.Is(err, mailer.ErrPermanent) || !strings.Contains(err.Error(), "smtp.rate") {
					t.Errorf("Send = %v, want a transient error naming smtp.rate", err)
				}
			}
			if n := len(srv.Messages()); n != tt.want || refused != 5-tt.want {
				t.Errorf("server got %d messages and %d sends were refused, want %d and %d", n, refused, tt.want, 5-tt.want)
			}
		})
	}
}

func TestSendBoundsConcurrentSessions(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m := newMailer(t, srv.URL, func(c *mailer.Config) { c.PoolSize = 2 })
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for range 12 {
		wg.Go(func() { errs <- m.Send(context.Background(), message(t, "c@longtail")) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	if n := len(srv.Messages()); n != 12 {
		t.Errorf("server got %d messages, want 12", n)
	}
	if c := srv.Connections(); c > 2 {
		t.Errorf("PoolSize 2 opened %d connections", c)
	}
}

func TestSendAfterClose(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m := newMailer(t, srv.URL)
	if err := m.Send(context.Background(), message(t, "a@longtail")); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), message(t, "b@longtail")); !errors.Is(err, mailer.ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	const secret = "hunter2-secret"
	tests := []struct {
		name string
		cfg  mailer.Config
		want string
	}{
		{name: "empty url", cfg: mailer.Config{From: from}, want: "smtp.url is empty"},
		{name: "unparsable", cfg: mailer.Config{URL: "smtp://u:" + secret + "@host:port", From: from}, want: "smtp.url"},
		{name: "bad percent escape", cfg: mailer.Config{URL: "smtp://u:" + secret + "%zz@host", From: from}, want: "smtp.url"},
		{name: "scheme", cfg: mailer.Config{URL: "http://u:" + secret + "@host", From: from}, want: `smtp.url scheme "http"`},
		{name: "no host", cfg: mailer.Config{URL: "smtp:///", From: from}, want: "smtp.url has no host"},
		{name: "port", cfg: mailer.Config{URL: "smtp://host:70000", From: from}, want: `smtp.url port "70000"`},
		{name: "path", cfg: mailer.Config{URL: "smtp://host/x", From: from}, want: "must not have a path"},
		{name: "unknown param", cfg: mailer.Config{URL: "smtp://host?tsl=none", From: from}, want: `unknown parameter "tsl"`},
		{name: "tls value", cfg: mailer.Config{URL: "smtp://host?tls=off", From: from}, want: `tls="off" is not none or starttls`},
		{name: "tls and starttls", cfg: mailer.Config{URL: "smtp://host?tls=none&starttls=off", From: from}, want: "not both"},
		{name: "tls on smtps", cfg: mailer.Config{URL: "smtps://host?tls=none", From: from}, want: "does not apply to smtps"},
		{name: "clear text password with tls=none", cfg: mailer.Config{URL: "smtp://u:" + secret + "@mail.example?tls=none", From: from}, want: "clear text"},
		{name: "negative rate", cfg: mailer.Config{URL: "smtp://host", From: from, Rate: -1}, want: "smtp.rate"},
		{name: "starttls value", cfg: mailer.Config{URL: "smtp://host?starttls=yes", From: from}, want: `starttls="yes"`},
		{name: "starttls on smtps", cfg: mailer.Config{URL: "smtps://host?starttls=require", From: from}, want: "does not apply to smtps"},
		{name: "skip verify value", cfg: mailer.Config{URL: "smtp://host?insecure_skip_verify=maybe", From: from}, want: "insecure_skip_verify"},
		{name: "clear text password", cfg: mailer.Config{URL: "smtp://u:" + secret + "@mail.example?starttls=off", From: from}, want: "clear text"},
		{name: "no from", cfg: mailer.Config{URL: "smtp://host"}, want: "smtp.from is empty"},
		{name: "bad from", cfg: mailer.Config{URL: "smtp://host", From: "longtail"}, want: "smtp.from"},
		{name: "negative timeout", cfg: mailer.Config{URL: "smtp://host", From: from, Timeout: -time.Second}, want: "timeout"},
		{name: "negative pool", cfg: mailer.Config{URL: "smtp://host", From: from, PoolSize: -1}, want: "pool size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := mailer.New(tt.cfg)
			if err == nil {
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error reveals the password: %q", err)
			}
		})
	}
	for _, ok := range []string{
		"smtp://mail.example", "smtp://u:p@mail.example:2525?starttls=require",
		"smtps://u:p@mail.example", "smtp://u:p@localhost:25?starttls=off&helo=worker-1.example",
		"smtp://u:p@127.0.0.1:2525?tls=none", "smtp://mail.example?tls=starttls", "smtp://mail.example?starttls=auto",
	} {
		if _, err := mailer.New(mailer.Config{URL: ok, From: from}); err != nil {
			t.Errorf("New(%q) = %v", ok, err)
		}
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	got := mailer.Config{URL: "smtps://user:hunter2@mail.example:465"}.Redacted()
	if strings.Contains(got, "hunter2") || !strings.Contains(got, "mail.example:465") {
		t.Errorf("Redacted = %q", got)
	}
}

func TestSetMessageID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{in: "abc@longtail", want: "<abc@longtail>", ok: true},
		{in: "<abc@longtail>", want: "<abc@longtail>", ok: true},
		{in: "abc", ok: false},
		{in: "a@b@c", ok: false},
		{in: "a b@c", ok: false},
		{in: "a@c\r\nBcc: x@y", ok: false},
	}
	for _, tt := range tests {
		e := email.NewEmail()
		err := mailer.SetMessageID(e, tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("SetMessageID(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if got := e.Headers.Get("Message-Id"); tt.ok && got != tt.want {
			t.Errorf("SetMessageID(%q) header = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHeloName(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	for url, want := range map[string]string{srv.URL + "&helo=worker-1.example": "worker-1.example", srv.URL: host} {
		m := newMailer(t, url)
		if err := m.Send(context.Background(), message(t, "h@longtail")); err != nil {
			t.Fatal(err)
		}
		msgs := srv.Messages()
		if got := msgs[len(msgs)-1].Helo; got != want {
			t.Errorf("%s: EHLO name = %q, want %q", url, got, want)
		}
	}
}

// sends records what a mailer.Observer hears: each send's result.
type sends struct {
	mu      sync.Mutex
	results []string
}

func (s *sends) ObserveSend(d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		s.results = append(s.results, "no duration")
	}
	s.results = append(s.results, mailer.Result(err))
}

func (s *sends) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.results, ",")
}

// The observer hears every send that reached the SMTP stage once, with
// its result; a message refused before (no Message-ID) is not a send.
func TestObserverHearsEachSend(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	obs := &sends{}
	m := newMailer(t, srv.URL, func(c *mailer.Config) { c.Observer = obs })
	for _, id := range []string{"a@longtail", "b@longtail"} {
		if err := m.Send(context.Background(), message(t, id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Send(context.Background(), &email.Email{To: []string{"x@example.com"}}); err == nil {
		t.Fatal("a message without Message-ID was sent")
	}
	if got, want := obs.String(), "sent,sent"; got != want {
		t.Errorf("observer heard %q, want %q", got, want)
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("server got %d messages, want 2", n)
	}
}
