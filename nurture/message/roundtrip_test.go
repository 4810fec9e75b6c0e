package message_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/webhooktest"
	"github.com/longtailhq/longtail/nurture/message"
	"github.com/longtailhq/longtail/webhook"
	"github.com/longtailhq/longtail/webhook/brevo"
	"github.com/longtailhq/longtail/webhook/mailgun"
	"github.com/longtailhq/longtail/webhook/mandrill"
	"github.com/longtailhq/longtail/webhook/postmark"
	"github.com/longtailhq/longtail/webhook/sendgrid"
	"github.com/longtailhq/longtail/webhook/ses"
)

// The round trip "A click from a nurture email, arriving through a
// provider webhook with the echoed metadata, ... scores for the right
// contact" depends on: build a nurture email's headers, make the click
// webhook each provider would post for that message (the documented
// payload from testdata/webhooks, with the metadata where that provider
// echoes it), sign it as the provider does, and run it through longtail's
// parser for that provider.

const fixtures = "../../testdata/webhooks"

func fixture(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decode reads JSON keeping numbers as written, so a re-encoded fixture
// differs from the documented one only where the test changed it.
func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		t.Fatalf("decode %.80s: %v", b, err)
	}
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sent is the nurture email as a provider receives it over SMTP.
type sent struct {
	fields []field
	to     string
}

// get returns the value of the header written exactly as name.
func (s sent) get(t *testing.T, name string) string {
	t.Helper()
	for _, f := range s.fields {
		if f.name == name {
			return f.value
		}
	}
	t.Fatalf("the email has no %s header", name)
	return ""
}

// jsonHeader decodes a header holding a JSON object.
func (s sent) jsonHeader(t *testing.T, name string) map[string]any {
	t.Helper()
	var m map[string]any
	decode(t, []byte(s.get(t, name)), &m)
	return m
}

// postmarkMetadata is what Postmark makes of X-PM-Metadata-<key> headers:
// Metadata {key: value}, the key as written after the prefix.
func (s sent) postmarkMetadata() map[string]any {
	m := map[string]any{}
	for _, f := range s.fields {
		if k, ok := strings.CutPrefix(f.name, "X-PM-Metadata-"); ok {
			m[k] = f.value
		}
	}
	return m
}

// sesMail is what SES records of the message: its X-SES-MESSAGE-TAGS as
// mail.tags (beside the ses:* tags it adds) and its headers, in order, as
// mail.headers.
func (s sent) sesMail(t *testing.T, tags map[string]any) (map[string]any, []any) {
	t.Helper()
	for _, kv := range strings.Split(s.get(t, "X-SES-MESSAGE-TAGS"), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			t.Fatalf("X-SES-MESSAGE-TAGS entry %q is not name=value", kv)
		}
		tags[k] = []any{v}
	}
	var headers []any
	for _, f := range s.fields {
		headers = append(headers, map[string]any{"name": f.name, "value": f.value})
	}
	return tags, headers
}

// messageIDOf is the Message-ID as providers report it: without brackets.
func (s sent) messageIDOf(t *testing.T) string {
	return strings.Trim(s.get(t, "Message-Id"), "<>")
}

func TestClickRoundTripThroughEveryProvider(t *testing.T) {
	t.Parallel()
	env := envelope()
	e, err := message.Build(env, content)
	if err != nil {
		t.Fatal(err)
	}
	msg := sent{fields: rawHeaders(t, e), to: env.To}
	want := struct{ contact, flow, step, message string }{env.ContactID, env.Flow, env.Step, strings.Trim(env.MessageID, "<>")}
	now := time.Now()

	tests := []struct {
		name    string
		deliver func(t *testing.T) (webhook.Provider, *webhook.Request)
	}{
		{"sendgrid: X-SMTPAPI unique_args at each event's top level", func(t *testing.T) (webhook.Provider, *webhook.Request) {
			var events []map[string]any
			decode(t, fixture(t, "sendgrid/docs-2021/click.json"), &events)
			ev := events[0]
			ev["email"] = msg.to
			args, ok := msg.jsonHeader(t, "X-SMTPAPI")["unique_args"].(map[string]any)
			if !ok {
				t.Fatal("X-SMTPAPI has no unique_args object")
			}
			for k, v := range args {
				ev[k] = v
			}
			body := append(encode(t, events), "\r\n"...)
			sg := webhooktest.NewSendGrid(t)
			p, err := sendgrid.New(sendgrid.Config{PublicKey: sg.PublicKey()})
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			sg.Sign(h, body, now)
			return p, &webhook.Request{Method: http.MethodPost, URL: "/webhooks/sendgrid", Header: h, Body: body, Now: now}
		}},
		{"mailgun: X-Mailgun-Variables as event-data.user-variables", func(t *testing.T) (webhook.Provider, *webhook.Request) {
			var data map[string]any
			decode(t, mailgunFix(fixture(t, "mailgun/docs-events-api-structure/clicked.json.txt")), &data)
			data["recipient"] = msg.to
			data["user-variables"] = msg.jsonHeader(t, "X-Mailgun-Variables")
			data["message"] = map[string]any{"headers": map[string]any{"message-id": msg.messageIDOf(t)}}
			const key, token, ts = "mailgun-signing-key", "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0", "1529006854"
			mac := hmac.New(sha256.New, []byte(key))
			mac.Write([]byte(ts + token))
			body := encode(t, map[string]any{
				"signature":  map[string]any{"timestamp": ts, "token": token, "signature": hex.EncodeToString(mac.Sum(nil))},
				"event-data": data,
			})
			p, err := mailgun.New(mailgun.Config{SigningKey: key})
			if err != nil {
				t.Fatal(err)
			}
			return p, &webhook.Request{Method: http.MethodPost, URL: "/webhooks/mailgun", Header: http.Header{"Content-Type": {"application/json"}}, Body: body, Now: now}
		}},
		{"postmark: X-PM-Metadata-* as Metadata", func(t *testing.T) (webhook.Provider, *webhook.Request) {
			var rec map[string]any
			decode(t, fixture(t, "postmark/activecampaign-postmark-skills/Click.json"), &rec)
			rec["Recipient"] = msg.to
			rec["Metadata"] = msg.postmarkMetadata()
			const creds = "longtail:postmark-webhook-pass"
			p, err := postmark.New(postmark.Config{BasicAuth: creds})
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(creds))}}
			return p, &webhook.Request{Method: http.MethodPost, URL: "/webhooks/postmark", Header: h, Body: encode(t, rec), Now: now}
		}},
		{"mandrill: X-MC-Metadata as msg.metadata", func(t *testing.T) (webhook.Provider, *webhook.Request) {
			var all []map[string]any
			decode(t, fixture(t, "mandrill/webhook-example-all-message-and-sync-events.json"), &all)
			var click map[string]any
			for _, ev := range all {
				if ev["event"] == "click" {
					click = ev
				}
			}
			if click == nil {
				t.Fatal("no click in the Mandrill fixture")
			}
			m := click["msg"].(map[string]any)
			m["email"] = msg.to
			m["metadata"] = msg.jsonHeader(t, "X-MC-Metadata")
			const key, hookURL = "mandrill-webhook-key", "https://longtail.vendor.example/webhooks/mandrill"
			events := string(encode(t, []any{click}))
			// Mandrill signs the URL followed by each POST field's name
			// and value, fields sorted by name: here the one field.
			mac := hmac.New(sha1.New, []byte(key))
			mac.Write([]byte(hookURL + "mandrill_events" + events))
			h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
			h.Set(mandrill.SignatureHeader, base64.StdEncoding.EncodeToString(mac.Sum(nil)))
			p, err := mandrill.New(mandrill.Config{Key: key, URL: hookURL})
			if err != nil {
				t.Fatal(err)
			}
			body := url.Values{"mandrill_events": {events}}.Encode()
			return p, &webhook.Request{Method: http.MethodPost, URL: "/webhooks/mandrill", Header: h, Body: []byte(body), Now: now}
		}},
		{"ses: X-SES-MESSAGE-TAGS as mail.tags, lt_message from the X-Lt-Message header", func(t *testing.T) (webhook.Provider, *webhook.Request) {
			var rec map[string]any
			decode(t, fixture(t, "amazon-ses-sns/ses-event-publishing-examples/click.json"), &rec)
			mail := rec["mail"].(map[string]any)
			mail["destination"] = []any{msg.to}
			mail["tags"], mail["headers"] = msg.sesMail(t, mail["tags"].(map[string]any))
			sns := webhooktest.NewSNS(t)
			const topic = "arn:aws:sns:us-east-1:123456789012:ses-events"
			body := sns.Notification(topic, "5b4b3c3e-8f0e-4c59-a1b6-3f1c2f4b9d10", string(encode(t, rec)), now)
			p, err := ses.New(ses.Config{CertDir: sns.CertDir(t), TopicARNs: []string{topic}})
			if err != nil {
				t.Fatal(err)
			}
			return p, &webhook.Request{Method: http.MethodPost, URL: "/webhooks/ses", Header: http.Header{"Content-Type": {"text/plain; charset=UTF-8"}}, Body: body, Now: now}
		}},
		{"brevo: X-Mailin-custom echoed as is", func(t *testing.T) (webhook.Provider, *webhook.Request) {
			var rec map[string]any
			decode(t, fixture(t, "brevo/anymail-live-captured-transcribed/delivered.json"), &rec)
			rec["event"] = "click"
			rec["link"] = "https://vendor.example/dealreg"
			rec["email"] = msg.to
			rec["message-id"] = msg.get(t, "Message-Id")
			rec["X-Mailin-custom"] = msg.get(t, "X-Mailin-custom")
			const token = "brevo-webhook-token"
			p, err := brevo.New(brevo.Config{Token: token})
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{"Authorization": {"Bearer " + token}}
			return p, &webhook.Request{Method: http.MethodPost, URL: "/webhooks/brevo", Header: h, Body: encode(t, rec), Now: now}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, req := tt.deliver(t)
			res, err := p.Handle(context.Background(), req)
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if len(res.Events) != 1 {
				t.Fatalf("%d events (ignored %v), want the one click", len(res.Events), res.Ignored)
			}
			ev := res.Events[0]
			if ev.Type != event.EmailClick {
				t.Errorf("type %s, want %s", ev.Type, event.EmailClick)
			}
			got := struct{ contact, flow, step, message string }{ev.ContactID, ev.Flow, ev.Step, ev.MessageID}
			if got != want {
				t.Errorf("correlation\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// mailgunFix is the mechanical fix testdata/webhooks/README.md gives for
// Mailgun's *.json.txt samples: the comma after the last member goes.
func mailgunFix(b []byte) []byte {
	s := strings.TrimSuffix(strings.TrimSpace(string(b)), ",")
	return []byte(regexp.MustCompile(`,(\s*)}$`).ReplaceAllString(s, "$1}"))
}
