package smtptest_test

import (
	"crypto/tls"
	"errors"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/longtailhq/longtail/internal/smtptest"
)

// send speaks to the server with the standard library client, so the
// helper is checked independently of the mailer it serves.
func send(t *testing.T, s *smtptest.Server, auth smtp.Auth, startTLS bool) error {
	t.Helper()
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if startTLS {
		if err := c.StartTLS(&tls.Config{ServerName: "127.0.0.1", RootCAs: s.CertPool()}); err != nil {
			return err
		}
	}
	if auth != nil {
		if err := c.Auth(auth); err != nil {
			return err
		}
	}
	if err := c.Mail("a@x.example"); err != nil {
		return err
	}
	if err := c.Rcpt("b@y.example"); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte("Subject: hi\r\n\r\n.dot\r\nbody\r\n")); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func code(err error) int {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return tp.Code
	}
	return 0
}

func TestServerRecordsMessages(t *testing.T) {
	t.Parallel()
	s := smtptest.StartWith(t, smtptest.Options{TLS: smtptest.StartTLS, Username: "u", Password: "p"})
	if !strings.HasPrefix(s.URL, "smtp://u:p@127.0.0.1:") || !strings.Contains(s.URL, "insecure_skip_verify=true") {
		t.Errorf("URL = %q", s.URL)
	}
	if err := send(t, s, smtp.PlainAuth("", "u", "p", "127.0.0.1"), true); err != nil {
		t.Fatalf("send: %v", err)
	}
	msgs := s.Messages()
	if len(msgs) != 1 {
		t.Fatalf("messages = %d", len(msgs))
	}
	m := msgs[0]
	if m.From != "a@x.example" || len(m.To) != 1 || m.To[0] != "b@y.example" || !m.TLS || m.User != "u" || m.Helo != "localhost" {
		t.Errorf("message = %+v", m)
	}
	if string(m.Data) != "Subject: hi\r\n\r\n.dot\r\nbody\r\n" {
		t.Errorf("data = %q (dot stuffing must be undone)", m.Data)
	}
}

func TestServerEnforcesAndRejects(t *testing.T) {
	t.Parallel()
	s := smtptest.StartWith(t, smtptest.Options{Username: "u", Password: "p"})
	if err := send(t, s, nil, false); code(err) != 502 {
		t.Errorf("MAIL without AUTH: %v, want 502", err)
	}
	if err := send(t, s, smtp.PlainAuth("", "u", "wrong", "127.0.0.1"), false); code(err) != 535 {
		t.Errorf("wrong password: %v, want 535", err)
	}
	auth := smtp.PlainAuth("", "u", "p", "127.0.0.1")
	s.Reject(smtptest.StageRcpt, 450, "busy")
	if err := send(t, s, auth, false); code(err) != 450 {
		t.Errorf("rejected RCPT: %v, want 450", err)
	}
	s.Reject(smtptest.StageRcpt, 0, "")
	s.Reject(smtptest.StageData, 554, "no")
	if err := send(t, s, auth, false); code(err) != 554 {
		t.Errorf("rejected DATA: %v, want 554", err)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("recorded %d rejected messages", n)
	}
	s.Reject(smtptest.StageData, 0, "")
	if err := send(t, s, auth, false); err != nil {
		t.Errorf("after lifting rejections: %v", err)
	}
	if got := s.Connections(); got != 5 {
		t.Errorf("Connections = %d, want 5", got)
	}
	s.Close()
	if err := send(t, s, auth, false); err == nil {
		t.Error("send to a closed server succeeded")
	}
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	s := smtptest.StartWith(t, smtptest.Options{TLS: smtptest.ImplicitTLS})
	if !strings.HasPrefix(s.URL, "smtps://127.0.0.1:") {
		t.Errorf("URL = %q", s.URL)
	}
	conn, err := tls.Dial("tcp", s.Addr, &tls.Config{ServerName: "127.0.0.1", RootCAs: s.CertPool()})
	if err != nil {
		t.Fatalf("TLS dial with the server's CertPool: %v", err)
	}
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("a@x.example"); err != nil {
		t.Fatalf("MAIL over implicit TLS: %v", err)
	}
}

func TestPlainServerURLSaysNoTLS(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	if !strings.HasSuffix(s.URL, "?tls=none") {
		t.Errorf("URL = %q, want tls=none (the mailer requires STARTTLS otherwise)", s.URL)
	}
}

func TestAuthMechanisms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		offered []string
		client  sasl.Client
		want    int // reply code of AUTH; 0 for success
	}{
		{name: "login", offered: []string{"LOGIN"}, client: sasl.NewLoginClient("u", "p")},
		{name: "login wrong password", offered: []string{"LOGIN"}, client: sasl.NewLoginClient("u", "x"), want: 535},
		{name: "plain when both", offered: []string{"PLAIN", "LOGIN"}, client: sasl.NewPlainClient("", "u", "p")},
		{name: "plain not offered", offered: []string{"LOGIN"}, client: sasl.NewPlainClient("", "u", "p"), want: 504},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := smtptest.StartWith(t, smtptest.Options{Username: "u", Password: "p", AuthMechanisms: tt.offered})
			c, err := gosmtp.Dial(s.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = c.Auth(tt.client)
			var se *gosmtp.SMTPError
			switch {
			case tt.want == 0 && err != nil:
				t.Fatalf("AUTH: %v", err)
			case tt.want != 0 && (!errors.As(err, &se) || se.Code != tt.want):
				t.Fatalf("AUTH = %v, want %d", err, tt.want)
			}
		})
	}
}

func TestExpireIdleAnswers421AndCloses(t *testing.T) {
	t.Parallel()
	for _, mode := range []smtptest.TLSMode{smtptest.Plain, smtptest.StartTLS} {
		s := smtptest.StartWith(t, smtptest.Options{TLS: mode})
		c, err := smtp.Dial(s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		if mode == smtptest.StartTLS {
			if err := c.StartTLS(&tls.Config{ServerName: "127.0.0.1", RootCAs: s.CertPool()}); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Noop(); err != nil {
			t.Fatal(err)
		}
		s.ExpireIdle()
		if err := c.Noop(); code(err) != 421 {
			t.Errorf("%s: NOOP after ExpireIdle = %v, want the 421 the server sent before closing", s, err)
		}
		if err := c.Noop(); err == nil {
			t.Errorf("%s: the session is still open after ExpireIdle", s)
		}
		_ = c.Close()
	}
}
