package message_test

import (
	"context"
	"fmt"
	"net/smtp"
	"testing"
	"time"

	"github.com/longtailhq/longtail/internal/smtptest"
	"github.com/longtailhq/longtail/mailer"
	"github.com/longtailhq/longtail/nurture/message"
)

// BenchmarkRenderAndDeliver is the first figure: nurture emails
// rendered (subject, text and HTML of a shipped template with its tracked
// links, for a different contact each time), built with every header of
// message.Build, and delivered through mailer.Mailer (one session, as a
// single worker sends) to a local SMTP server, against a bare net/smtp
// loop sending one pre-built message on one connection to the same
// server, both timed in the same run, in alternating chunks. Targets: ratio ≥ 0.5 and ≥ 1,000
// emails/s.
//
//	go test -run '^$' -bench RenderAndDeliver -benchtime 5000x ./nurture/message/
func BenchmarkRenderAndDeliver(b *testing.B) {
	tmpl, err := message.Embedded()
	if err != nil {
		b.Fatal(err)
	}
	srv := smtptest.Start(b)
	m, err := mailer.New(mailer.Config{URL: srv.URL, From: "Vendor Partners <partners@vendor.example>", Timeout: 5 * time.Second, PoolSize: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	n := b.N

	// envelopeOf is contact i's envelope: its own address, ids and links.
	envelopeOf := func(i int) message.Envelope {
		env := envelope()
		env.ContactID = fmt.Sprintf("c_%016x", i)
		env.To = fmt.Sprintf("contact%07d@partner.example", i)
		env.MessageID = fmt.Sprintf("<n.%016x.welcome@longtail>", i)
		return env
	}
	send := func(i int) error {
		env := envelopeOf(i)
		d := message.SampleData()
		d.Contact.Email = env.To
		d.UnsubscribeURL = env.UnsubscribeURL
		c, err := tmpl.Render("dealreg-intro-owner", "fr", d, track)
		if err != nil {
			return err
		}
		e, err := message.Build(env, c)
		if err != nil {
			return err
		}
		return m.Send(ctx, e)
	}

	// The bare loop's message is the first one the engine path would send,
	// built once beforehand.
	env := envelopeOf(0)
	d := message.SampleData()
	c, err := tmpl.Render("dealreg-intro-owner", "fr", d, track)
	if err != nil {
		b.Fatal(err)
	}
	e, err := message.Build(env, c)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := e.Bytes()
	if err != nil {
		b.Fatal(err)
	}
	conn, err := smtp.Dial(srv.Addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()

	bareSend := func() error {
		if err := conn.Mail("partners@vendor.example"); err != nil {
			return err
		}
		if err := conn.Rcpt(env.To); err != nil {
			return err
		}
		w, err := conn.Data()
		if err != nil {
			return err
		}
		if _, err := w.Write(raw); err != nil {
			return err
		}
		return w.Close()
	}

	// The two loops alternate in chunks, so that the load of this shared
	// machine, which changes by the second, weighs on both alike.
	const chunk = 250
	var bare, engine time.Duration
	b.ResetTimer()
	for lo := 0; lo < n; lo += chunk {
		hi := min(n, lo+chunk)
		start := time.Now()
		for range hi - lo {
			if err := bareSend(); err != nil {
				b.Fatal(err)
			}
		}
		bare += time.Since(start)
		start = time.Now()
		for i := lo; i < hi; i++ {
			if err := send(i); err != nil {
				b.Fatal(err)
			}
		}
		engine += time.Since(start)
	}
	b.StopTimer()

	// Both loops reached the server, every message once.
	if got := len(srv.Messages()); got != 2*n {
		b.Fatalf("the server received %d messages; want %d", got, 2*n)
	}
	b.ReportMetric(float64(n)/engine.Seconds(), "emails/s")
	b.ReportMetric(float64(n)/bare.Seconds(), "bare-emails/s")
	b.ReportMetric(bare.Seconds()/engine.Seconds(), "ratio")
}
