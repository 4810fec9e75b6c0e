package ses

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"sort"
	"strings"
	"time"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/webhook"
)

// Ignored kinds besides the SES event types themselves.
const (
	// IgnoredNotSES counts authentic notifications whose Message is not an
	// SES event record (another publisher on the topic, SNS test messages).
	IgnoredNotSES = "Notification"
	// IgnoredOptIn counts Subscription events that subscribe rather than
	// opt out.
	IgnoredOptIn = "Subscription.opt_in"
	// ambiguousSuffix, after the event type, counts opens, clicks and
	// unsubscribes of a message sent to several addresses that carries no
	// lt_contact: SES does not say which recipient acted.
	ambiguousSuffix = ".ambiguous_recipient"
)

// Correlation headers the nurture engine may set on outgoing mail, read when
// the matching message tag is absent.
var correlationHeaders = map[string]string{
	"x-lt-contact": event.MetaContactID,
	"x-lt-flow":    event.MetaFlow,
	"x-lt-step":    event.MetaStep,
	"x-lt-message": event.MetaMessageID,
}

// record is an SES event-publishing record or feedback notification; the
// two share these fields.
type record struct {
	Mail struct {
		Timestamp   string   `json:"timestamp"`
		MessageID   string   `json:"messageId"`
		Destination []string `json:"destination"`
		Headers     []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"headers"`
		CommonHeaders struct {
			Subject string `json:"subject"`
		} `json:"commonHeaders"`
		Tags map[string][]string `json:"tags"`
	} `json:"mail"`
	Bounce *struct {
		BounceType        string      `json:"bounceType"`
		BouncedRecipients []recipient `json:"bouncedRecipients"`
		Timestamp         string      `json:"timestamp"`
	} `json:"bounce"`
	Complaint *struct {
		ComplainedRecipients []recipient `json:"complainedRecipients"`
		Timestamp            string      `json:"timestamp"`
	} `json:"complaint"`
	Delivery *struct {
		Recipients []string `json:"recipients"`
		Timestamp  string   `json:"timestamp"`
	} `json:"delivery"`
	Open *struct {
		IPAddress string `json:"ipAddress"`
		UserAgent string `json:"userAgent"`
		Timestamp string `json:"timestamp"`
	} `json:"open"`
	Click *struct {
		IPAddress string              `json:"ipAddress"`
		Link      string              `json:"link"`
		LinkTags  map[string][]string `json:"linkTags"`
		UserAgent string              `json:"userAgent"`
		Timestamp string              `json:"timestamp"`
	} `json:"click"`
	Subscription *struct {
		Timestamp           string `json:"timestamp"`
		NewTopicPreferences struct {
			UnsubscribeAll          bool `json:"unsubscribeAll"`
			TopicSubscriptionStatus []struct {
				SubscriptionStatus string `json:"subscriptionStatus"`
			} `json:"topicSubscriptionStatus"`
		} `json:"newTopicPreferences"`
	} `json:"subscription"`
}

type recipient struct {
	EmailAddress string `json:"emailAddress"`
}

// parseMessage turns a Notification's Message into events on res. An error
// means an SES record longtail scores that cannot be normalised; the whole
// delivery is then refused, since SNS would otherwise never resend the rest.
func parseMessage(msg string, res *webhook.Result) error {
	var head map[string]json.RawMessage
	if json.Unmarshal([]byte(msg), &head) != nil {
		res.Ignore(IgnoredNotSES)
		return nil
	}
	kind := jsonString(head["eventType"])
	if kind == "" {
		kind = jsonString(head["notificationType"])
	}
	if kind == "" {
		res.Ignore(IgnoredNotSES)
		return nil
	}
	switch kind {
	case "Delivery", "Bounce", "Complaint", "Open", "Click", "Subscription":
	default:
		// Send, Reject, Rendering Failure, DeliveryDelay,
		// AmazonSnsSubscriptionSucceeded, Received and anything AWS adds.
		res.Ignore(kind)
		return nil
	}
	var r record
	if err := json.Unmarshal([]byte(msg), &r); err != nil {
		return fmt.Errorf("%s record: %v", kind, err)
	}
	n := normaliser{r: &r, kind: kind}
	evs, ignored, err := n.events()
	if err != nil {
		return fmt.Errorf("%s record: %v", kind, err)
	}
	if ignored != "" {
		res.Ignore(ignored)
		return nil
	}
	res.Events = append(res.Events, evs...)
	return nil
}

func jsonString(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

type normaliser struct {
	r    *record
	kind string
	base event.Event
}

// events returns the record's events, or the kind to ignore it under.
func (n *normaliser) events() ([]event.Event, string, error) {
	r := n.r
	if r.Mail.MessageID == "" {
		return nil, "", errors.New("mail.messageId is missing")
	}
	n.base = event.Event{
		Source:    "ses",
		Title:     event.Truncate(r.Mail.CommonHeaders.Subject, event.MaxTextLen),
		MessageID: r.Mail.MessageID,
		Tags:      tagList(r.Mail.Tags),
	}
	corr := n.correlation()
	n.base.ContactID = corr[event.MetaContactID]
	n.base.Flow = corr[event.MetaFlow]
	n.base.Step = corr[event.MetaStep]
	if m := corr[event.MetaMessageID]; m != "" {
		n.base.MessageID = m
	}

	switch n.kind {
	case "Delivery":
		d := r.Delivery
		if d == nil || len(d.Recipients) == 0 {
			return nil, "", errors.New("delivery.recipients is empty")
		}
		var out []event.Event
		for i, addr := range d.Recipients {
			ev, err := n.event(event.EmailDelivered, addr, d.Timestamp, "")
			if err != nil {
				return nil, "", fmt.Errorf("delivery.recipients[%d]: %v", i, err)
			}
			out = append(out, *ev)
		}
		return out, "", nil
	case "Bounce":
		b := r.Bounce
		if b == nil || len(b.BouncedRecipients) == 0 {
			return nil, "", errors.New("bounce.bouncedRecipients is empty")
		}
		kind := event.BounceSoft
		if b.BounceType == "Permanent" {
			kind = event.BounceHard
		}
		var out []event.Event
		for i, rcpt := range b.BouncedRecipients {
			ev, err := n.event(event.EmailBounce, rcpt.EmailAddress, b.Timestamp, "")
			if err != nil {
				return nil, "", fmt.Errorf("bounce.bouncedRecipients[%d]: %v", i, err)
			}
			ev.Bounce = kind
			out = append(out, *ev)
		}
		return out, "", nil
	case "Complaint":
		c := r.Complaint
		if c == nil || len(c.ComplainedRecipients) == 0 {
			return nil, "", errors.New("complaint.complainedRecipients is empty")
		}
		var out []event.Event
		for i, rcpt := range c.ComplainedRecipients {
			ev, err := n.event(event.EmailSpam, rcpt.EmailAddress, c.Timestamp, "")
			if err != nil {
				return nil, "", fmt.Errorf("complaint.complainedRecipients[%d]: %v", i, err)
			}
			out = append(out, *ev)
		}
		return out, "", nil
	case "Open":
		o := r.Open
		if o == nil {
			return nil, "", errors.New("open is missing")
		}
		return n.single(event.EmailOpen, o.Timestamp, "", func(ev *event.Event) {
			ev.IP, ev.UserAgent = o.IPAddress, event.Truncate(o.UserAgent, event.MaxTextLen)
		})
	case "Click":
		c := r.Click
		if c == nil || c.Link == "" {
			return nil, "", errors.New("click.link is missing")
		}
		return n.single(event.EmailClick, c.Timestamp, c.Link, func(ev *event.Event) {
			ev.URL = event.Truncate(c.Link, event.MaxTextLen)
			ev.IP, ev.UserAgent = c.IPAddress, event.Truncate(c.UserAgent, event.MaxTextLen)
			ev.Tags = tagList(r.Mail.Tags, c.LinkTags)
		})
	case "Subscription":
		s := r.Subscription
		if s == nil {
			return nil, "", errors.New("subscription is missing")
		}
		optOut := s.NewTopicPreferences.UnsubscribeAll
		for _, t := range s.NewTopicPreferences.TopicSubscriptionStatus {
			optOut = optOut || strings.EqualFold(t.SubscriptionStatus, "OptOut")
		}
		if !optOut {
			return nil, IgnoredOptIn, nil
		}
		return n.single(event.EmailUnsubscribe, s.Timestamp, "", nil)
	}
	return nil, "", fmt.Errorf("unhandled type %q", n.kind)
}

// single builds the one event of an open, click or unsubscribe. SES does
// not say which recipient acted, so the event goes to the message's only
// destination, or to its lt_contact when it had several; without either it
// cannot be attributed.
func (n *normaliser) single(typ event.Type, ts, link string, set func(*event.Event)) ([]event.Event, string, error) {
	var dest []string
	for _, d := range n.r.Mail.Destination {
		if strings.TrimSpace(d) != "" {
			dest = append(dest, d)
		}
	}
	addr := ""
	switch {
	case len(dest) == 1:
		addr = dest[0]
	case n.base.ContactID != "":
		// Several or no addresses, but the contact is known.
	case len(dest) == 0:
		return nil, "", errors.New("mail.destination is empty and no lt_contact is set")
	default:
		return nil, n.kind + ambiguousSuffix, nil
	}
	ev, err := n.event(typ, addr, ts, link)
	if err != nil {
		return nil, "", err
	}
	if set != nil {
		set(ev)
		if err := ev.Validate(); err != nil {
			return nil, "", err
		}
	}
	return []event.Event{*ev}, "", nil
}

// event builds one validated event for rawAddr (empty: attributed to the
// contact id alone).
func (n *normaliser) event(typ event.Type, rawAddr, ts, link string) (*event.Event, error) {
	ev := n.base
	ev.Type = typ
	ev.Tags = append([]string(nil), n.base.Tags...)
	idRecipient := "contact:" + ev.ContactID
	if rawAddr != "" {
		addr, err := address(rawAddr)
		if err != nil {
			return nil, err
		}
		ev.Email = addr
		idRecipient = addr
	}
	if ts == "" {
		ts = n.r.Mail.Timestamp
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return nil, fmt.Errorf("timestamp %q is not RFC 3339", ts)
	}
	ev.OccurredAt = at.UTC()
	ev.ID = event.HashID("ses", n.kind, n.r.Mail.MessageID, idRecipient, ts, link)
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	return &ev, nil
}

// address accepts a bare address or SES's occasional "Name <addr>" form.
func address(s string) (string, error) {
	if a, err := mail.ParseAddress(s); err == nil {
		s = a.Address
	}
	addr, err := event.NormalizeEmail(s)
	if err != nil {
		return "", fmt.Errorf("recipient: %v", err)
	}
	return addr, nil
}

// correlation reads the lt_* keys from message tags (first value) and,
// where a tag is absent, from the X-LT-* headers.
func (n *normaliser) correlation() map[string]string {
	out := map[string]string{}
	for _, key := range correlationHeaders {
		if vs := n.r.Mail.Tags[key]; len(vs) > 0 && vs[0] != "" {
			out[key] = vs[0]
		}
	}
	for _, h := range n.r.Mail.Headers {
		key, ok := correlationHeaders[strings.ToLower(h.Name)]
		if ok && out[key] == "" {
			out[key] = strings.TrimSpace(h.Value)
		}
	}
	return out
}

// tagList renders message and link tags as "key:value", sorted by key for
// stable output. SES's own tags (ses:*, aws:*) describe the sending
// infrastructure and the lt_* keys are correlation, not topics, so both are
// left out.
func tagList(sets ...map[string][]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range sets {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if strings.HasPrefix(k, "ses:") || strings.HasPrefix(k, "aws:") || strings.HasPrefix(k, "lt_") {
				continue
			}
			for _, v := range m[k] {
				t := k + ":" + v
				if seen[t] {
					continue
				}
				seen[t] = true
				out = append(out, t)
				if len(out) == event.MaxTags {
					return out
				}
			}
		}
	}
	return out
}
