// Package mandrill receives Mailchimp Transactional (Mandrill) webhooks.
//
// Mandrill POSTs application/x-www-form-urlencoded bodies with one field,
// mandrill_events, holding a JSON array of events. Each request is signed:
// X-Mandrill-Signature is base64(HMAC-SHA1(webhook key, URL ‖ key₁ ‖ value₁ ‖
// …)), where URL is the webhook URL exactly as configured at Mandrill and the
// POST variables are sorted by key and taken after form decoding.
//
// Mandrill also sends an unsigned HEAD request when a webhook is created; it
// is answered 200 without verification because it carries nothing.
//
// Event ids: Mandrill's _id identifies the message, not the event (every
// event of one message shares it), so the id of an event is
//
//	event.HashID("mandrill", _id, event, ts, url)
//
// with ts the event's "ts" as sent and url the clicked URL (empty except for
// clicks). A redelivered batch yields the same ids; two clicks on different
// links or at different seconds yield different ones.
package mandrill

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/webhook"
)

// SignatureHeader carries Mandrill's request signature.
const SignatureHeader = "X-Mandrill-Signature"

// eventsField is the form field holding the JSON array of events.
const eventsField = "mandrill_events"

// Config configures the Mandrill provider.
type Config struct {
	// Key is the webhook's authentication key shown in Mandrill's webhook
	// settings. Required: there is no default.
	Key string
	// URL is the webhook URL exactly as entered at Mandrill, scheme, host,
	// path, trailing slash and query string included; it is part of the
	// signed string, so any difference makes every request fail. The URL
	// the request arrived on is not used: proxies and load balancers rewrite
	// it. Required: there is no default.
	URL string
}

// Provider verifies and parses Mandrill webhooks. It is safe for
// concurrent use.
type Provider struct {
	key []byte
	url string
}

var _ webhook.Provider = (*Provider)(nil)

// New validates cfg and returns a Provider.
func New(cfg Config) (*Provider, error) {
	if cfg.Key == "" {
		return nil, errors.New("mandrill: Config.Key is required")
	}
	if cfg.URL == "" {
		return nil, errors.New("mandrill: Config.URL is required")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("mandrill: Config.URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("mandrill: Config.URL %q must be an absolute http or https URL", cfg.URL)
	}
	return &Provider{key: []byte(cfg.Key), url: cfg.URL}, nil
}

// Name implements webhook.Provider.
func (p *Provider) Name() string { return "mandrill" }

// Handle implements webhook.Provider.
func (p *Provider) Handle(_ context.Context, req *webhook.Request) (*webhook.Result, error) {
	if req.Method == http.MethodHead {
		// Mandrill's creation probe: unsigned and empty, it only checks
		// that the URL answers.
		return &webhook.Result{Reply: &webhook.Reply{Status: http.StatusOK}}, nil
	}
	form, err := p.verify(req)
	if err != nil {
		return nil, err
	}
	raw := form.Get(eventsField)
	if raw == "" {
		return nil, fmt.Errorf("%w: mandrill: form field %s is missing or empty", webhook.ErrBadPayload, eventsField)
	}
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(raw), &items); err != nil {
		return nil, fmt.Errorf("%w: mandrill: %s is not a JSON array: %v", webhook.ErrBadPayload, eventsField, err)
	}
	res := &webhook.Result{}
	for i, item := range items {
		ev, kind, err := normalise(item)
		if err != nil {
			return nil, fmt.Errorf("%w: mandrill: %s[%d]: %v", webhook.ErrBadPayload, eventsField, i, err)
		}
		if ev == nil {
			res.Ignore(kind)
			continue
		}
		res.Events = append(res.Events, *ev)
	}
	return res, nil
}

// verify checks X-Mandrill-Signature over the form decoded from the raw body
// and returns that form. Everything that prevents the check is an
// authentication failure: an unauthenticated body is never parsed further.
func (p *Provider) verify(req *webhook.Request) (url.Values, error) {
	sig := req.Header.Get(SignatureHeader)
	if sig == "" {
		return nil, fmt.Errorf("%w: mandrill: %s header is missing", webhook.ErrUnauthorized, SignatureHeader)
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return nil, fmt.Errorf("%w: mandrill: %s is not base64", webhook.ErrUnauthorized, SignatureHeader)
	}
	form, err := url.ParseQuery(string(req.Body))
	if err != nil {
		return nil, fmt.Errorf("%w: mandrill: body is not a urlencoded form: %v", webhook.ErrUnauthorized, err)
	}
	keys := make([]string, 0, len(form))
	for k, vs := range form {
		if len(vs) != 1 {
			// Mandrill never repeats a field. Signers disagree on which
			// value of a repeated one counts (PHP keeps the last), so an
			// ambiguous body is refused rather than guessed at.
			return nil, fmt.Errorf("%w: mandrill: form field %q appears %d times", webhook.ErrUnauthorized, k, len(vs))
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	mac := hmac.New(sha1.New, p.key)
	mac.Write([]byte(p.url))
	for _, k := range keys {
		mac.Write([]byte(k))
		mac.Write([]byte(form[k][0]))
	}
	if !hmac.Equal(mac.Sum(nil), got) {
		return nil, fmt.Errorf("%w: mandrill: %s does not match", webhook.ErrUnauthorized, SignatureHeader)
	}
	return form, nil
}

// item is one element of mandrill_events: a message event (event set) or a
// sync event (type set, no event).
type item struct {
	Event     *string     `json:"event"`
	Type      string      `json:"type"`
	ID        string      `json:"_id"`
	TS        json.Number `json:"ts"`
	URL       string      `json:"url"`
	IP        string      `json:"ip"`
	UserAgent string      `json:"user_agent"`
	Msg       *message    `json:"msg"`
}

type message struct {
	ID       string                     `json:"_id"`
	Email    string                     `json:"email"`
	Subject  string                     `json:"subject"`
	Tags     []string                   `json:"tags"`
	Metadata map[string]json.RawMessage `json:"metadata"`
}

// eventTypes maps the Mandrill message events longtail scores. Every other
// message event (send, deferral, reject, and any added later) is ignored.
var eventTypes = map[string]event.Type{
	"hard_bounce": event.EmailBounce,
	"soft_bounce": event.EmailBounce,
	"open":        event.EmailOpen,
	"click":       event.EmailClick,
	"spam":        event.EmailSpam,
	"unsub":       event.EmailUnsubscribe,
}

// normalise turns one item into an event, or reports the kind to ignore it
// under (ev nil). An error names what makes a scored item unusable.
func normalise(raw json.RawMessage) (*event.Event, string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var it item
	if err := dec.Decode(&it); err != nil {
		return nil, "", fmt.Errorf("not an event object: %v", err)
	}
	if it.Event == nil {
		if it.Type == "" {
			return nil, "", errors.New("neither \"event\" nor \"type\" is set")
		}
		// Sync events (blacklist/whitelist changes) describe list
		// maintenance, not engagement.
		return nil, it.Type, nil
	}
	name := *it.Event
	if name == "" {
		return nil, "", errors.New("\"event\" is empty")
	}
	typ, ok := eventTypes[name]
	if !ok {
		return nil, name, nil
	}
	if it.Msg == nil {
		return nil, "", fmt.Errorf("%s event has no msg", name)
	}
	occurred, err := parseTS(it.TS)
	if err != nil {
		return nil, "", fmt.Errorf("%s event: ts: %v", name, err)
	}
	if it.Msg.Email == "" {
		return nil, "", fmt.Errorf("%s event: msg.email is empty", name)
	}
	msgID := it.ID
	if msgID == "" {
		msgID = it.Msg.ID
	}
	if msgID == "" {
		return nil, "", fmt.Errorf("%s event: _id is empty", name)
	}
	ev := &event.Event{
		ID:         event.HashID("mandrill", msgID, name, it.TS.String(), it.URL),
		Type:       typ,
		Email:      it.Msg.Email,
		OccurredAt: occurred,
		Source:     "mandrill",
		Title:      event.Truncate(it.Msg.Subject, event.MaxTextLen),
		IP:         it.IP,
		UserAgent:  event.Truncate(it.UserAgent, event.MaxTextLen),
		MessageID:  msgID,
	}
	if typ == event.EmailClick {
		if it.URL == "" {
			return nil, "", errors.New("click event: url is empty")
		}
		ev.URL = event.Truncate(it.URL, event.MaxTextLen)
	}
	switch name {
	case "hard_bounce":
		ev.Bounce = event.BounceHard
	case "soft_bounce":
		ev.Bounce = event.BounceSoft
	}
	ev.Tags = capTags(it.Msg.Tags)
	meta := func(key string) string { return webhook.ScalarText(it.Msg.Metadata[key]) }
	ev.ContactID = meta(event.MetaContactID)
	ev.Flow = meta(event.MetaFlow)
	ev.Step = meta(event.MetaStep)
	if m := meta(event.MetaMessageID); m != "" {
		ev.MessageID = m
	}
	if err := ev.Validate(); err != nil {
		return nil, "", fmt.Errorf("%s event: %v", name, err)
	}
	return ev, "", nil
}

// parseTS reads Mandrill's Unix seconds. Fractions are accepted in case a
// sender writes them; the id keeps the number as sent.
func parseTS(n json.Number) (time.Time, error) {
	if n == "" {
		return time.Time{}, errors.New("missing")
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		if i <= 0 || i > maxUnix {
			return time.Time{}, fmt.Errorf("%s is out of range", n)
		}
		return time.Unix(i, 0).UTC(), nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f <= 0 || f > maxUnix {
		return time.Time{}, fmt.Errorf("%s is not a Unix time", n)
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
}

// maxUnix (year 9999) keeps absurd timestamps out of the store.
const maxUnix = 253402300799

func capTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		out = append(out, t)
		if len(out) == event.MaxTags {
			break
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
