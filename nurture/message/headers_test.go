package message_test

import (
	"bytes"
	"errors"
	"net/mail"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jordan-wright/email"

	"github.com/longtailhq/longtail/nurture/message"
)

// envelope is a complete envelope; tests change one thing at a time.
func envelope() message.Envelope {
	return message.Envelope{
		ContactID: "c_0123456789abcdef", To: "jane.doe@acme.example", ToName: "Jane Doe",
		RepName: "Camille Martin", RepEmail: "camille.martin@vendor.example",
		Flow: "dealreg-owner-manager", Step: "welcome",
		MessageID:         "<n.5f1c2e9a7b3d4c60.welcome@longtail>",
		UnsubscribeURL:    "https://longtail.vendor.example/u/AQMSY18wMTIz.c2lnbmF0dXJl",
		UnsubscribeMailto: "unsubscribe@vendor.example",
	}
}

var content = &message.Content{Subject: "Deal registration in three clicks", Text: "Hi Jane,\n", HTML: "<p>Hi Jane,</p>", Locale: "en"}

// field is one header line as written, name in its exact case.
type field struct{ name, value string }

// rawHeaders reads the header block of a built message as a receiving
// server does: exact names (net/mail would canonicalise them, and Postmark
// reads the case of X-PM-Metadata-* suffixes), folded lines unfolded.
func rawHeaders(t *testing.T, e *email.Email) []field {
	t.Helper()
	raw, err := e.Bytes()
	if err != nil {
		t.Fatalf("Bytes: %v", err)
	}
	// The whole message must parse as mail, too.
	if _, err := mail.ReadMessage(bytes.NewReader(raw)); err != nil {
		t.Fatalf("the built message does not parse: %v", err)
	}
	head, _, ok := strings.Cut(string(raw), "\r\n\r\n")
	if !ok {
		t.Fatal("no blank line after the headers")
	}
	var out []field
	for _, line := range strings.Split(head, "\r\n") {
		if len(line) > 998 {
			t.Errorf("header line of %d characters: %.60s...", len(line), line)
		}
		if line[0] == ' ' || line[0] == '\t' {
			out[len(out)-1].value += line
			continue
		}
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("header line without ': ': %q", line)
		}
		out = append(out, field{name, value})
	}
	return out
}

// headerMap is rawHeaders by exact name; a name written twice fails.
func headerMap(t *testing.T, e *email.Email) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, f := range rawHeaders(t, e) {
		if _, dup := m[f.name]; dup {
			t.Errorf("header %s written twice", f.name)
		}
		m[f.name] = f.value
	}
	return m
}

func TestBuildHeaders(t *testing.T) {
	t.Parallel()
	const (
		listUnsub = "<https://longtail.vendor.example/u/AQMSY18wMTIz.c2lnbmF0dXJl>, " +
			"<mailto:unsubscribe@vendor.example?subject=unsubscribe%20AQMSY18wMTIz.c2lnbmF0dXJl>"
		meta = `{"lt_contact":"c_0123456789abcdef","lt_flow":"dealreg-owner-manager","lt_message":"n.5f1c2e9a7b3d4c60.welcome@longtail","lt_step":"welcome"}`
	)
	base := map[string]string{
		"From":                      `"Camille Martin" <camille.martin@vendor.example>`,
		"Reply-To":                  `"Camille Martin" <camille.martin@vendor.example>`,
		"To":                        `"Jane Doe" <jane.doe@acme.example>`,
		"Subject":                   "Deal registration in three clicks",
		"Message-Id":                "<n.5f1c2e9a7b3d4c60.welcome@longtail>",
		"List-Unsubscribe":          listUnsub,
		"List-Unsubscribe-Post":     "List-Unsubscribe=One-Click",
		"X-SMTPAPI":                 `{"unique_args":` + meta + `}`,
		"X-Mailgun-Variables":       meta,
		"X-MC-Metadata":             meta,
		"X-Mailin-custom":           meta,
		"X-PM-Metadata-lt_contact":  "c_0123456789abcdef",
		"X-PM-Metadata-lt_flow":     "dealreg-owner-manager",
		"X-PM-Metadata-lt_step":     "welcome",
		"X-PM-Metadata-lt_message":  "n.5f1c2e9a7b3d4c60.welcome@longtail",
		"X-SES-MESSAGE-TAGS":        "lt_contact=c_0123456789abcdef, lt_flow=dealreg-owner-manager, lt_step=welcome",
		"X-Lt-Contact":              "c_0123456789abcdef",
		"X-Lt-Flow":                 "dealreg-owner-manager",
		"X-Lt-Step":                 "welcome",
		"X-Lt-Message":              "n.5f1c2e9a7b3d4c60.welcome@longtail",
		"Mime-Version":              "1.0",
		"Date":                      "", // present, any value
		"Content-Type":              "", // multipart boundary, random
		"Content-Transfer-Encoding": "-",
	}
	tests := []struct {
		name   string
		change func(*message.Envelope)
		want   map[string]string // overrides of base; "-" means absent
	}{
		{"the rep sends", nil, nil},
		{"smtp.sender: domain: the rep's name on smtp.from's address, replies to the rep",
			func(e *message.Envelope) { e.FromAddress = "Vendor Partners <partners@vendor.example>" },
			map[string]string{"From": `"Camille Martin" <partners@vendor.example>`}},
		{"no mailto configured: only the https form",
			func(e *message.Envelope) { e.UnsubscribeMailto = "" },
			map[string]string{"List-Unsubscribe": "<https://longtail.vendor.example/u/AQMSY18wMTIz.c2lnbmF0dXJl>"}},
		{"message id given without brackets; a step id with an underscore",
			func(e *message.Envelope) { e.MessageID = "m-42@longtail"; e.Step = "step_2" },
			map[string]string{
				"Message-Id": "<m-42@longtail>", "X-Lt-Message": "m-42@longtail", "X-Lt-Step": "step_2",
				"X-PM-Metadata-lt_message": "m-42@longtail", "X-PM-Metadata-lt_step": "step_2",
				"X-SES-MESSAGE-TAGS":  "lt_contact=c_0123456789abcdef, lt_flow=dealreg-owner-manager, lt_step=step_2",
				"X-SMTPAPI":           `{"unique_args":{"lt_contact":"c_0123456789abcdef","lt_flow":"dealreg-owner-manager","lt_message":"m-42@longtail","lt_step":"step_2"}}`,
				"X-Mailgun-Variables": "", "X-MC-Metadata": "", "X-Mailin-custom": "",
			}},
		{"a value over Postmark's 80 characters is left out of Postmark's headers only",
			func(e *message.Envelope) { e.MessageID = strings.Repeat("m", 81) + "@longtail" },
			map[string]string{
				"Message-Id": "<" + strings.Repeat("m", 81) + "@longtail>", "X-Lt-Message": strings.Repeat("m", 81) + "@longtail",
				"X-PM-Metadata-lt_message": "-",
				"X-SMTPAPI":                "", "X-Mailgun-Variables": "", "X-MC-Metadata": "", "X-Mailin-custom": "",
			}},
		{"no display names",
			func(e *message.Envelope) { e.RepName, e.ToName = "", "" },
			map[string]string{"From": "<camille.martin@vendor.example>", "Reply-To": "<camille.martin@vendor.example>", "To": "<jane.doe@acme.example>"}},
		{"commas and line breaks in names cannot split an address header",
			func(e *message.Envelope) { e.RepName, e.ToName = "Martin, Camille", "Doe,\r\nBcc: x@evil.example" },
			map[string]string{"From": `"Martin Camille" <camille.martin@vendor.example>`, "Reply-To": `"Martin Camille" <camille.martin@vendor.example>`,
				"To": `"Doe Bcc: x@evil.example" <jane.doe@acme.example>`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := envelope()
			if tt.change != nil {
				tt.change(&env)
			}
			e, err := message.Build(env, content)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			got := headerMap(t, e)
			for name, want := range base {
				if w, ok := tt.want[name]; ok {
					want = w
				}
				v, ok := got[name]
				switch {
				case want == "-":
					if ok {
						t.Errorf("%s: %q, want none", name, v)
					}
				case !ok:
					t.Errorf("%s: missing, want %q", name, want)
				case want != "" && v != want:
					t.Errorf("%s:\n got %s\nwant %s", name, v, want)
				}
				delete(got, name)
			}
			if len(got) > 0 {
				t.Errorf("unexpected headers: %v", got)
			}
		})
	}
}

func TestBuildNonASCIINames(t *testing.T) {
	t.Parallel()
	env := envelope()
	env.RepName, env.ToName = "Zoé Lefèvre", "Jérôme Dupont"
	e, err := message.Build(env, content)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	raw, err := e.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ header, name, addr string }{
		{"From", "Zoé Lefèvre", "camille.martin@vendor.example"},
		{"Reply-To", "Zoé Lefèvre", "camille.martin@vendor.example"},
		{"To", "Jérôme Dupont", "jane.doe@acme.example"},
	} {
		a, err := msg.Header.AddressList(c.header)
		if err != nil || len(a) != 1 {
			t.Fatalf("%s %q does not parse back to one address: %v", c.header, msg.Header.Get(c.header), err)
		}
		if diff := cmp.Diff(mail.Address{Name: c.name, Address: c.addr}, *a[0]); diff != "" {
			t.Errorf("%s (-want, +got):\n%s", c.header, diff)
		}
	}
}

func TestBuildRefusesBadEnvelopes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*message.Envelope)
		want   string
	}{
		{"no contact id", func(e *message.Envelope) { e.ContactID = "" }, "lt_contact: required"},
		{"no flow", func(e *message.Envelope) { e.Flow = "" }, "lt_flow: required"},
		{"no step", func(e *message.Envelope) { e.Step = "" }, "lt_step: required"},
		{"no message id", func(e *message.Envelope) { e.MessageID = "" }, "lt_message: required"},
		{"message id without @", func(e *message.Envelope) { e.MessageID = "n.1" }, "not of the form left@right"},
		{"a line break in an id", func(e *message.Envelope) { e.Step = "welcome\r\nBcc: x@evil.example" }, "printable ASCII"},
		{"a non-ASCII id", func(e *message.Envelope) { e.ContactID = "c_é" }, "printable ASCII"},
		{"contact address", func(e *message.Envelope) { e.To = "not an address" }, "contact's address does not parse"},
		{"rep address", func(e *message.Envelope) { e.RepEmail = "" }, "sender's address does not parse"},
		{"From address", func(e *message.Envelope) { e.FromAddress = "x" }, "From address (smtp.from) does not parse"},
		{"no unsubscribe URL", func(e *message.Envelope) { e.UnsubscribeURL = "" }, "unsubscribe URL"},
		{"relative unsubscribe URL", func(e *message.Envelope) { e.UnsubscribeURL = "/u/tok" }, "unsubscribe URL"},
		{"javascript unsubscribe URL", func(e *message.Envelope) { e.UnsubscribeURL = "javascript:alert(1)" }, "unsubscribe URL"},
		{"a comma would split List-Unsubscribe", func(e *message.Envelope) { e.UnsubscribeURL = "https://x.example/u/a,b" }, "unsubscribe URL"},
		{"an angle bracket would end it", func(e *message.Envelope) { e.UnsubscribeURL = "https://x.example/u/a>b" }, "unsubscribe URL"},
		{"bad mailto", func(e *message.Envelope) { e.UnsubscribeMailto = "nope" }, "mailto address does not parse"},
		{"a header line over 998 characters", func(e *message.Envelope) { e.Flow = strings.Repeat("f", 500); e.Step = strings.Repeat("s", 500) },
			"over the 998 a header line may have"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := envelope()
			tt.change(&env)
			_, err := message.Build(env, content)
			if !errors.Is(err, message.ErrEnvelope) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Build error = %v, want ErrEnvelope containing %q", err, tt.want)
			}
			// Errors end up in logs: no address in them.
			if strings.Contains(err.Error(), "jane.doe@") || strings.Contains(err.Error(), "camille.martin@") {
				t.Errorf("error quotes an address: %v", err)
			}
		})
	}
	if _, err := message.Build(envelope(), &message.Content{}); !errors.Is(err, message.ErrEnvelope) {
		t.Errorf("Build with empty content: %v, want ErrEnvelope", err)
	}
}
