package message

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/textproto"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/jordan-wright/email"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/mailer"
)

// ErrEnvelope marks an Envelope no email can be built from (a missing id,
// an address that does not parse, a header that would be too long). No
// retry fixes it: the send step fails.
var ErrEnvelope = errors.New("invalid nurture envelope")

// The headers a nurture email carries besides From, To, Reply-To, Subject
// and Message-ID. Names are written exactly as here (jordan-wright/email
// writes header names as given), because some providers read the suffix of
// a header name back as a metadata key.
const (
	HeaderListUnsubscribe     = "List-Unsubscribe"
	HeaderListUnsubscribePost = "List-Unsubscribe-Post"
	// OneClick is the List-Unsubscribe-Post value of RFC 8058.
	OneClick = "List-Unsubscribe=One-Click"

	// HeaderSendGrid is SendGrid's SMTP API header; its unique_args come
	// back at the top level of every event.
	HeaderSendGrid = "X-SMTPAPI"
	// HeaderMailgun is a JSON object Mailgun returns as user-variables.
	HeaderMailgun = "X-Mailgun-Variables"
	// HeaderPostmarkPrefix + key carries one Postmark Metadata field.
	HeaderPostmarkPrefix = "X-PM-Metadata-"
	// HeaderMandrill is a JSON object Mandrill returns as msg.metadata.
	HeaderMandrill = "X-MC-Metadata"
	// HeaderSES holds "name=value, ..." message tags, returned as mail.tags.
	HeaderSES = "X-SES-MESSAGE-TAGS"
	// HeaderBrevo is a string Brevo returns as X-Mailin-custom.
	HeaderBrevo = "X-Mailin-custom"

	// The X-LT-* headers carry the same four values for any relay: an SES
	// record's mail.headers, or a bounce that quotes the original headers.
	HeaderLTContact = "X-Lt-Contact"
	HeaderLTFlow    = "X-Lt-Flow"
	HeaderLTStep    = "X-Lt-Step"
	HeaderLTMessage = "X-Lt-Message"
)

// Provider limits that decide whether a value is echoed through them.
const (
	// postmarkMaxValue is Postmark's limit on a metadata value.
	postmarkMaxValue = 80
	// sesMaxValue is SES's limit on a message tag value, which may also
	// only hold ASCII letters, digits, '_' and '-'.
	sesMaxValue = 256
	// maxHeaderLine is RFC 5322's hard limit on a header line, CRLF
	// excluded. jordan-wright/email does not fold header lines.
	maxHeaderLine = 998
)

// Envelope is everything about one nurture email besides its content: who
// it goes to, who it is from, which flow step it belongs to, and how to
// leave. It holds no secrets; the unsubscribe URL carries a signed token.
type Envelope struct {
	// ContactID is the recipient's contact id: lt_contact. Required.
	ContactID string
	// To is the contact's address. Required. ToName is the display name
	// ("Jane Doe"), or empty.
	To, ToName string
	// RepName and RepEmail are the sender: the rep, or smtp.from's name
	// and address when the flow sends as the default sender. RepEmail is
	// required and is always the Reply-To.
	RepName, RepEmail string
	// FromAddress, when set, is the address From shows with RepName
	// instead of RepEmail: smtp.sender: domain, so mail leaves from the
	// vendor's own domain (SPF, DKIM) while replies still reach the rep.
	FromAddress string
	// Flow and Step are the flow id and send step id: lt_flow and
	// lt_step. Required.
	Flow, Step string
	// MessageID is the Message-ID, left@right, with or without angle
	// brackets, and lt_message without them. Required. Derive it from the
	// enrollment and step, so a retried send carries the same one. Keep it
	// within 80 characters: Postmark echoes no longer metadata value.
	MessageID string
	// UnsubscribeURL is the contact's one-click link, http(s)://…/u/TOKEN
	// (https in production: mailbox providers ignore http). Required.
	UnsubscribeURL string
	// UnsubscribeMailto, when set, is the address of the mailto form of
	// List-Unsubscribe (nurture.unsubscribe_mailto).
	UnsubscribeMailto string
}

// Build returns the email for content c sent as env says: From, To,
// Reply-To, Subject, the text and HTML parts, and every header of Apply.
func Build(env Envelope, c *Content) (*email.Email, error) {
	if c == nil || c.Subject == "" || c.Text == "" {
		return nil, fmt.Errorf("message: build: no subject or plain part: %w", ErrEnvelope)
	}
	e := email.NewEmail()
	e.Subject = c.Subject
	e.Text = []byte(c.Text)
	if c.HTML != "" {
		e.HTML = []byte(c.HTML)
	}
	if err := env.Apply(e); err != nil {
		return nil, err
	}
	return e, nil
}

// Apply sets env's addressing, unsubscribe and correlation headers on e,
// replacing any it had:
//
//   - From: the rep's name and address (FromAddress instead of the rep's
//     address when set); Reply-To: the rep; To: the contact.
//   - Message-ID from MessageID.
//   - List-Unsubscribe: <UnsubscribeURL>, <mailto:UnsubscribeMailto?subject=unsubscribe%20TOKEN>
//     and List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058).
//   - lt_contact, lt_flow, lt_step and lt_message where each provider
//     echoes them in its webhooks; see Correlation.
//
// Errors wrap ErrEnvelope and never quote an email address.
func (env Envelope) Apply(e *email.Email) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("message: envelope of contact %q, flow %q, step %q: %s: %w",
			env.ContactID, env.Flow, env.Step, fmt.Sprintf(format, args...), ErrEnvelope)
	}
	to, err := mail.ParseAddress(env.To)
	if err != nil {
		return bad("the contact's address does not parse")
	}
	rep, err := mail.ParseAddress(env.RepEmail)
	if err != nil {
		return bad("the sender's address does not parse")
	}
	fromAddr := rep.Address
	if env.FromAddress != "" {
		a, err := mail.ParseAddress(env.FromAddress)
		if err != nil {
			return bad("the From address (smtp.from) does not parse")
		}
		fromAddr = a.Address
	}
	meta := env.correlation()
	for _, k := range correlationKeys {
		if err := checkCorrelation(meta[k]); err != nil {
			return bad("%s: %v", k, err)
		}
	}
	listUnsub, err := env.listUnsubscribe()
	if err != nil {
		return bad("%v", err)
	}

	if e.Headers == nil {
		e.Headers = textproto.MIMEHeader{}
	}
	if err := mailer.SetMessageID(e, env.MessageID); err != nil {
		return bad("%v", err)
	}
	repName := displayName(env.RepName)
	e.From = (&mail.Address{Name: repName, Address: fromAddr}).String()
	e.To = []string{(&mail.Address{Name: displayName(env.ToName), Address: to.Address}).String()}
	// jordan-wright/email Q-encodes a Reply-To with non-ASCII as a whole,
	// address included; mail.Address encodes only the name.
	e.ReplyTo = []string{(&mail.Address{Name: repName, Address: rep.Address}).String()}
	h := e.Headers
	for _, k := range []string{"From", "To", "Reply-To"} {
		delete(h, k) // the fields above are the truth
	}
	h.Set(HeaderListUnsubscribe, listUnsub)
	h.Set(HeaderListUnsubscribePost, OneClick)
	for name, value := range Correlation(meta) {
		h[name] = []string{value} // exact names: see the constants
	}
	for name, vals := range h {
		for _, v := range vals {
			if n := len(name) + 2 + len(v); n > maxHeaderLine {
				return bad("header %s would be %d characters, over the %d a header line may have: shorten the ids", name, n, maxHeaderLine)
			}
		}
	}
	return nil
}

// correlationKeys are the correlation keys, in the order they are checked.
var correlationKeys = []string{event.MetaContactID, event.MetaFlow, event.MetaStep, event.MetaMessageID}

func (env Envelope) correlation() map[string]string {
	return map[string]string{
		event.MetaContactID: env.ContactID,
		event.MetaFlow:      env.Flow,
		event.MetaStep:      env.Step,
		event.MetaMessageID: strings.TrimSuffix(strings.TrimPrefix(env.MessageID, "<"), ">"),
	}
}

// checkCorrelation keeps values to what every header form carries
// unchanged: printable ASCII without spaces (ids are). A non-ASCII value
// would be RFC 2047-encoded in the X-LT-* headers and read back wrong.
func checkCorrelation(v string) error {
	if v == "" {
		return errors.New("required")
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' {
			return fmt.Errorf("%q must be printable ASCII without spaces", v)
		}
	}
	return nil
}

// Correlation returns the correlation headers for meta (lt_contact,
// lt_flow, lt_step, lt_message → value), by header name:
//
//	SendGrid   X-SMTPAPI: {"unique_args":{"lt_contact":"…",…}}   → each event's top level
//	Mailgun    X-Mailgun-Variables: {"lt_contact":"…",…}          → event-data.user-variables
//	Postmark   X-PM-Metadata-lt_contact: …  (one header per key)  → Metadata
//	Mandrill   X-MC-Metadata: {"lt_contact":"…",…}                → msg.metadata
//	SES        X-SES-MESSAGE-TAGS: lt_contact=…, lt_flow=…        → mail.tags
//	Brevo      X-Mailin-custom: {"lt_contact":"…",…}              → X-Mailin-custom
//	any relay  X-Lt-Contact, X-Lt-Flow, X-Lt-Step, X-Lt-Message    → SES mail.headers
//
// A value a provider cannot carry is left out of its header only: Postmark
// metadata over 80 characters, SES tags with characters other than ASCII
// letters, digits, '_' and '-' (a Message-ID's '@' and '.'), for which the
// SES edge reads the X-Lt-* header instead.
func Correlation(meta map[string]string) map[string]string {
	out := map[string]string{}
	obj := asciiJSON(meta)
	out[HeaderSendGrid] = `{"unique_args":` + obj + `}`
	out[HeaderMailgun] = obj
	out[HeaderMandrill] = obj
	out[HeaderBrevo] = obj
	var tags []string
	for _, k := range correlationKeys {
		v, ok := meta[k]
		if !ok {
			continue
		}
		out[ltHeader[k]] = v
		if len(v) <= postmarkMaxValue {
			out[HeaderPostmarkPrefix+k] = v
		}
		if sesSafe(v) {
			tags = append(tags, k+"="+v)
		}
	}
	if len(tags) > 0 {
		out[HeaderSES] = strings.Join(tags, ", ")
	}
	return out
}

var ltHeader = map[string]string{
	event.MetaContactID: HeaderLTContact,
	event.MetaFlow:      HeaderLTFlow,
	event.MetaStep:      HeaderLTStep,
	event.MetaMessageID: HeaderLTMessage,
}

func sesSafe(v string) bool {
	if v == "" || len(v) > sesMaxValue {
		return false
	}
	for i := 0; i < len(v); i++ {
		b := v[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '_' || b == '-') {
			return false
		}
	}
	return true
}

// asciiJSON encodes m as a JSON object with sorted keys and only ASCII
// bytes, so that no header encoding touches it on the way.
func asciiJSON(m map[string]string) string {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // a map of strings always encodes
	}
	if utf8.RuneCount(b) == len(b) {
		return string(b)
	}
	var out bytes.Buffer
	for _, r := range string(b) {
		switch {
		case r < 0x80:
			out.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&out, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&out, `\u%04x`, r)
		}
	}
	return out.String()
}

// listUnsubscribe builds the List-Unsubscribe value: the https form
// first (the one RFC 8058 one-click uses), then the mailto form when an
// address is configured. The mailto subject carries the token of the URL,
// so whoever reads that mailbox can tell which contact asked.
func (env Envelope) listUnsubscribe() (string, error) {
	raw := env.UnsubscribeURL
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		strings.ContainsAny(raw, " \t\r\n<>,\"") {
		return "", errors.New("the unsubscribe URL is not an absolute http(s) URL that fits in <…>")
	}
	v := "<" + raw + ">"
	if env.UnsubscribeMailto != "" {
		a, err := mail.ParseAddress(env.UnsubscribeMailto)
		if err != nil {
			return "", errors.New("the unsubscribe mailto address does not parse")
		}
		subject := "unsubscribe"
		if i := strings.LastIndexByte(u.Path, '/'); i >= 0 && i < len(u.Path)-1 {
			subject += " " + u.Path[i+1:]
		}
		mailto := url.URL{Scheme: "mailto", Opaque: url.PathEscape(a.Address), RawQuery: "subject=" + url.PathEscape(subject)}
		v += ", <" + mailto.String() + ">"
	}
	return v, nil
}

// displayName makes a name safe for jordan-wright/email, which splits
// address headers on commas, and keeps it on one line.
func displayName(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, ",", " ")), " ")
}
