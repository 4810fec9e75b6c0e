// Package outbox is the embedded mail server of longtail's default set-up:
// with no smtp.url, serve starts an SMTP server on loopback
// (github.com/emersion/go-smtp), the mailer sends to it over real SMTP,
// and every message it receives is captured, parsed and kept in Redis for
// /ui/outbox to show. Nothing is delivered anywhere: `longtail serve` with
// no set-up shows exactly what would have been sent, headers and all.
//
// The captured messages live in Redis (keys.go), not in the process, so
// the worker that sends and the api process that shows the pages see the
// same outbox; the newest Capacity messages are kept (default 1,000).
//
// A message is parsed with net/mail and mime/multipart: its headers in
// order (RFC 2047 words decoded), the first text/plain and text/html parts
// (transfer encoding undone), and the flow and step it belongs to when its
// headers say so: the correlation metadata nurture email carries for the
// providers (event.MetaFlow, event.MetaStep), read from X-LT-Flow and
// X-LT-Step, else X-PM-Metadata-lt_flow/-lt_step, else X-Mailgun-Variables.
package outbox

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"

	"github.com/longtailhq/longtail/event"
)

// Message is one captured email.
type Message struct {
	// ID is the outbox's own id, growing with every capture.
	ID string `json:"-"`
	// ReceivedAt is when the server took the message.
	ReceivedAt time.Time `json:"received_at"`
	// EnvelopeFrom and EnvelopeTo are MAIL FROM and RCPT TO: the Bcc
	// recipients show here only.
	EnvelopeFrom string   `json:"envelope_from"`
	EnvelopeTo   []string `json:"envelope_to"`
	// From, To, Subject, Date and MessageID are the headers of the same
	// names, decoded.
	From      string `json:"from"`
	To        string `json:"to"`
	Subject   string `json:"subject"`
	Date      string `json:"date"`
	MessageID string `json:"message_id"`
	// Flow and Step name the nurture flow and step the message belongs
	// to, when its headers say; empty otherwise (a rep notification).
	Flow string `json:"flow,omitempty"`
	Step string `json:"step,omitempty"`
	// Headers are every header in the order received, values decoded.
	Headers []Header `json:"headers"`
	// Text and HTML are the first text/plain and text/html parts.
	Text string `json:"text"`
	HTML string `json:"html"`
	// Size is the message's size in bytes as received.
	Size int `json:"size"`
	// ParseError says why the body could not be split into parts; Text
	// then holds the raw body.
	ParseError string `json:"parse_error,omitempty"`
}

// Header is one header line.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// maxPartBytes bounds a decoded part kept for display.
const maxPartBytes = 2 << 20

var wordDecoder = new(mime.WordDecoder)

// Parse reads a message as received after DATA. A header block that
// cannot be read is an error; a body that cannot be split into parts is
// kept raw with ParseError set, since the point is to show what was sent.
func Parse(raw []byte) (Message, error) {
	m := Message{Size: len(raw)}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return m, fmt.Errorf("outbox: read message: %w", err)
	}
	m.Headers = orderedHeaders(raw)
	dec := func(name string) string { return decodeWords(msg.Header.Get(name)) }
	m.From, m.To, m.Subject, m.Date = dec("From"), dec("To"), dec("Subject"), msg.Header.Get("Date")
	m.MessageID = msg.Header.Get("Message-Id")
	m.Flow, m.Step = flowStep(mail.Header(msg.Header))

	body, err := io.ReadAll(io.LimitReader(msg.Body, int64(len(raw))))
	if err != nil {
		return m, fmt.Errorf("outbox: read body: %w", err)
	}
	ct := msg.Header.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	if err := m.walk(ct, msg.Header.Get("Content-Transfer-Encoding"), body, 0); err != nil {
		m.ParseError = err.Error()
		m.Text, m.HTML = string(body), ""
	}
	return m, nil
}

// walk descends a MIME tree, keeping the first text and HTML parts.
func (m *Message) walk(contentType, cte string, body []byte, depth int) error {
	if depth > 10 {
		return errors.New("MIME parts nested more than 10 deep")
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %v", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %v", mt, err)
			}
			b, err := io.ReadAll(p)
			if err != nil {
				return fmt.Errorf("%s: %v", mt, err)
			}
			pct := p.Header.Get("Content-Type")
			if pct == "" {
				pct = "text/plain"
			}
			if err := m.walk(pct, p.Header.Get("Content-Transfer-Encoding"), b, depth+1); err != nil {
				return err
			}
		}
	}
	if mt != "text/plain" && mt != "text/html" {
		return nil // attachments are not shown
	}
	if (mt == "text/plain" && m.Text != "") || (mt == "text/html" && m.HTML != "") {
		return nil
	}
	text, err := decodeTransfer(cte, body)
	if err != nil {
		return fmt.Errorf("%s part: %v", mt, err)
	}
	if mt == "text/plain" {
		m.Text = text
	} else {
		m.HTML = text
	}
	return nil
}

func decodeTransfer(cte string, body []byte) (string, error) {
	var r io.Reader = bytes.NewReader(body)
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	case "", "7bit", "8bit", "binary":
	default:
		return "", fmt.Errorf("unknown transfer encoding %q", cte)
	}
	b, err := io.ReadAll(io.LimitReader(r, maxPartBytes))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func decodeWords(s string) string {
	d, err := wordDecoder.DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// orderedHeaders returns the header block's fields in order, unfolded and
// decoded; net/mail keeps them in a map.
func orderedHeaders(raw []byte) []Header {
	var out []Header
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			out[len(out)-1].Value += " " + strings.TrimSpace(line)
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		out = append(out, Header{Name: name, Value: strings.TrimSpace(value)})
	}
	for i := range out {
		out[i].Value = decodeWords(out[i].Value)
	}
	return out
}

// flowStep reads the flow and step from the correlation metadata nurture
// email carries for the providers: the X-LT-* headers (SES reads them),
// else Postmark's X-PM-Metadata-*, else Mailgun's X-Mailgun-Variables.
func flowStep(h mail.Header) (flow, step string) {
	if flow = h.Get("X-LT-Flow"); flow != "" {
		return flow, h.Get("X-LT-Step")
	}
	if flow = h.Get("X-PM-Metadata-" + event.MetaFlow); flow != "" {
		return flow, h.Get("X-PM-Metadata-" + event.MetaStep)
	}
	var vars map[string]any
	if v := h.Get("X-Mailgun-Variables"); v != "" && json.Unmarshal([]byte(v), &vars) == nil {
		flow, _ = vars[event.MetaFlow].(string)
		step, _ = vars[event.MetaStep].(string)
	}
	return flow, step
}
