package outbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jordan-wright/email"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/mailer"
	"github.com/longtailhq/longtail/outbox"
)

func TestMain(m *testing.M) { redistest.Main(m) }

var received = time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC)

// setup starts the embedded server on a store of its own Redis database
// and a mailer pointed at it, as serve wires them.
func setup(t *testing.T, rdb redis.UniversalClient, capacity int) (*outbox.Store, *mailer.Mailer) {
	t.Helper()
	st, err := outbox.NewStore(rdb, outbox.StoreConfig{Capacity: capacity})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := outbox.Start(outbox.ServerConfig{Store: st, Clock: func() time.Time { return received }, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	if !strings.HasPrefix(srv.URL(), "smtp://127.0.0.1:") || !strings.HasSuffix(srv.URL(), "?tls=none") {
		t.Errorf("URL = %q", srv.URL())
	}
	m, err := mailer.New(mailer.Config{URL: srv.URL(), From: "Longtail <noreply@longtail.localhost>", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return st, m
}

func nurtureEmail(t *testing.T, id string) *email.Email {
	t.Helper()
	e := email.NewEmail()
	e.From = "Anne Rep <anne@vendor.example>"
	e.ReplyTo = []string{"anne@vendor.example"}
	e.To = []string{"Jane Doe <jane@acme.example>"}
	e.Bcc = []string{"audit@vendor.example"}
	e.Subject = "Déclarer un deal, simplement"
	e.Text = []byte("Bonjour Jane,\r\n.une ligne qui commence par un point\r\n")
	e.HTML = []byte("<p>Bonjour Jane,</p><script>alert(1)</script>")
	e.Headers.Set("List-Unsubscribe", "<https://lt.example/u/TOKEN>, <mailto:unsub@lt.example>")
	e.Headers.Set("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	e.Headers.Set("X-LT-Flow", "dealreg-owner-manager")
	e.Headers.Set("X-LT-Step", "welcome")
	if err := mailer.SetMessageID(e, id); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestCapturesWhatTheMailerSends(t *testing.T) {
	t.Parallel()
	st, m := setup(t, redistest.New(t), 0)
	ctx := context.Background()
	if err := m.Send(ctx, nurtureEmail(t, "e1.welcome@longtail")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	list, err := st.List(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("List = %d messages, want 1", len(list))
	}
	sum := list[0]
	if sum.Text != "" || sum.HTML != "" || sum.Headers != nil {
		t.Errorf("List carries bodies: %+v", sum)
	}
	got, err := st.Get(ctx, sum.ID)
	if err != nil {
		t.Fatal(err)
	}
	headers := map[string]string{}
	for _, h := range got.Headers {
		headers[h.Name] = h.Value
	}
	if headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" || headers["Reply-To"] != "anne@vendor.example" {
		t.Errorf("headers = %v", headers)
	}
	if _, ok := headers["Bcc"]; ok {
		t.Errorf("a Bcc header was captured: %v", headers)
	}
	want := outbox.Message{
		ID: sum.ID, ReceivedAt: received,
		EnvelopeFrom: "anne@vendor.example", EnvelopeTo: []string{"jane@acme.example", "audit@vendor.example"},
		From: `"Anne Rep" <anne@vendor.example>`, To: `"Jane Doe" <jane@acme.example>`,
		Subject: "Déclarer un deal, simplement", MessageID: "<e1.welcome@longtail>",
		Flow: "dealreg-owner-manager", Step: "welcome",
		Text: "Bonjour Jane,\r\n.une ligne qui commence par un point\r\n",
		HTML: "<p>Bonjour Jane,</p><script>alert(1)</script>",
	}
	ignore := func(m outbox.Message) outbox.Message { m.Headers, m.Date, m.Size = nil, "", 0; return m }
	if diff := cmp.Diff(want, ignore(*got)); diff != "" {
		t.Errorf("captured message (-want, +got):\n%s", diff)
	}
	if got.Date == "" || got.Size == 0 {
		t.Errorf("Date %q, Size %d: want both set", got.Date, got.Size)
	}
}

func TestKeepsTheNewestCapacityMessages(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t)
	st, m := setup(t, rdb, 3)
	ctx := context.Background()
	for i := range 5 {
		e := nurtureEmail(t, "m"+string(rune('1'+i))+"@longtail")
		e.Subject = "message " + string(rune('1'+i))
		if err := m.Send(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	list, err := st.List(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, msg := range list {
		subjects = append(subjects, msg.Subject)
	}
	if diff := cmp.Diff([]string{"message 5", "message 4", "message 3"}, subjects); diff != "" {
		t.Errorf("List, newest first (-want, +got):\n%s", diff)
	}
	if _, err := st.Get(ctx, "1"); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("Get of a message pushed out = %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"", "x", "../1", "-1"} {
		if _, err := st.Get(ctx, bad); !errors.Is(err, outbox.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", bad, err)
		}
	}
	// The trimmed messages' keys are gone too: 3 messages, the id list
	// and the counter.
	if n := rdb.DBSize(ctx).Val(); n != 5 {
		keys, _ := rdb.Keys(ctx, "*").Result()
		t.Errorf("Redis holds %d keys, want 5: %v", n, keys)
	}
}

func TestRedisDownIsATransientRefusal(t *testing.T) {
	t.Parallel()
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = down.Close() })
	_, m := setup(t, down, 0)
	err := m.Send(context.Background(), nurtureEmail(t, "x@longtail"))
	if err == nil || errors.Is(err, mailer.ErrPermanent) || !strings.Contains(err.Error(), "451") {
		t.Fatalf("Send = %v, want a transient 451 so the sender retries", err)
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	st, err := outbox.NewStore(redistest.New(t), outbox.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:25", "mail.example:25"} {
		if srv, err := outbox.Start(outbox.ServerConfig{Store: st, Addr: addr}); err == nil {
			_ = srv.Close()
			t.Errorf("Start(%q) succeeded, want a refusal", addr)
		}
	}
	if _, err := outbox.Start(outbox.ServerConfig{}); err == nil {
		t.Error("Start without a store succeeded")
	}
	if _, err := outbox.NewStore(redistest.New(t), outbox.StoreConfig{Capacity: -1}); err == nil {
		t.Error("NewStore with a negative capacity succeeded")
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  string
		want outbox.Message
	}{
		{name: "plain, mailgun metadata",
			raw:  "From: a@x.example\r\nSubject: =?UTF-8?q?caf=C3=A9?=\r\nX-Mailgun-Variables: {\"lt_flow\":\"tiers\",\"lt_step\":\"climb\"}\r\n\r\nhello\r\n",
			want: outbox.Message{From: "a@x.example", Subject: "café", Flow: "tiers", Step: "climb", Text: "hello\r\n"}},
		{name: "base64 html in a mixed message with an attachment",
			raw: "Subject: s\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/html; charset=utf-8\r\n" +
				"Content-Transfer-Encoding: base64\r\n\r\nPHA+aGk8L3A+\r\n--B\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n--B--\r\n",
			want: outbox.Message{Subject: "s", HTML: "<p>hi</p>"}},
		{name: "postmark metadata",
			raw:  "Subject: s\r\nX-PM-Metadata-lt_flow: reengage\r\nX-PM-Metadata-lt_step: nudge\r\n\r\nhi\r\n",
			want: outbox.Message{Subject: "s", Flow: "reengage", Step: "nudge", Text: "hi\r\n"}},
		{name: "broken multipart is kept raw",
			raw:  "Subject: s\r\nContent-Type: multipart/alternative\r\n\r\nbody\r\n",
			want: outbox.Message{Subject: "s", Text: "body\r\n", ParseError: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := outbox.Parse([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			if (got.ParseError != "") != (tt.want.ParseError != "") {
				t.Errorf("ParseError = %q", got.ParseError)
			}
			got.ParseError, tt.want.ParseError = "", ""
			got.Headers, got.Size = nil, 0
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse (-want, +got):\n%s", diff)
			}
		})
	}
	if _, err := outbox.Parse([]byte("no header block")); err == nil {
		t.Error("Parse of a message without headers succeeded")
	}
}
