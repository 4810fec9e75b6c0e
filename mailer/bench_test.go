package mailer_test

import (
	"context"
	"net/smtp"
	"testing"

	"github.com/longtailhq/longtail/internal/smtptest"
)

// BenchmarkSend compares Mailer.Send (message built by jordan-wright/email
// on every send, pooled session checked with RSET before reuse) with a
// bare net/smtp loop writing pre-built bytes on one connection, against
// the same in-process server. The ratio of the two ns/op is the cost of
// the building, the liveness check and the deadlines.
func BenchmarkSend(b *testing.B) {
	b.Run("mailer", func(b *testing.B) {
		srv := smtptest.Start(b)
		m := newMailer(b, srv.URL)
		ctx := context.Background()
		e := message(b, "bench@longtail")
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if err := m.Send(ctx, e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bare-client", func(b *testing.B) {
		srv := smtptest.Start(b)
		raw, err := message(b, "bench@longtail").Bytes()
		if err != nil {
			b.Fatal(err)
		}
		c, err := smtp.Dial(srv.Addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if err := c.Mail("noreply@vendor.example"); err != nil {
				b.Fatal(err)
			}
			for _, r := range []string{"rep@vendor.example", "audit@vendor.example"} {
				if err := c.Rcpt(r); err != nil {
					b.Fatal(err)
				}
			}
			w, err := c.Data()
			if err != nil {
				b.Fatal(err)
			}
			if _, err := w.Write(raw); err != nil {
				b.Fatal(err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
