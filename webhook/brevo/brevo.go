// Package brevo receives Brevo (formerly Sendinblue) transactional and
// marketing webhooks.
//
// # Authentication
//
// Brevo signs nothing. The webhook is configured either with a bearer token
// (its "auth" setting) or with Basic credentials in the URL; Handle accepts
// "Authorization: Bearer <Token>" or Basic credentials whose "user:pass"
// equals Token, compared in constant time before the body is read.
//
// # Events
//
// The body is one event object, or an array of them when the webhook is
// batched. Types map as follows:
//
//	delivered                     email.delivered
//	opened, unique_opened         email.open
//	proxy_open, unique_proxy_open email.open, Machine (the open came through a
//	                              mail provider's image proxy)
//	click                         email.click (link, or URL on marketing webhooks)
//	hard_bounce                   email.bounce, Bounce "hard"
//	soft_bounce                   email.bounce, Bounce "soft"
//	spam                          email.spam
//	unsubscribed                  email.unsubscribe
//	anything else                 Result.Ignored under the Brevo event name
//	                              (request, deferred, blocked, invalid_email, error...)
//
// # Event ids
//
// Brevo sends no event id (its "id" is the webhook's), so every id is
//
//	event.HashID("brevo", canonical type, message-id, lower-cased email, time, link)
//
// where time is the text as sent of the first present of ts_epoch, ts_event
// and ts. The canonical type (email.open, ...) is hashed rather than Brevo's
// name because opened, unique_opened and the proxy variants can report the
// same open: they must count once.
//
// # Other fields
//
// ts_epoch is milliseconds in live traffic but seconds in the documentation
// sample; a value above 10^11 is read as milliseconds. ts_event and ts are
// seconds. MessageID is message-id, Title is subject, Tags are tags, or tag
// when tags is absent (tag may itself hold a JSON array). Brevo has no
// standard correlation field: when X-Mailin-custom (the header set at send
// time) holds a JSON object, its lt_contact, lt_flow, lt_step and lt_message
// keys are used.
package brevo

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/webhook"
)

const name = "brevo"

// Config configures the Brevo provider.
type Config struct {
	// Token is the bearer token set as the webhook's auth, or the
	// "user:pass" of Basic credentials in the webhook URL. Required: there
	// is no default.
	Token string
}

// Provider authenticates and parses Brevo webhook deliveries.
type Provider struct {
	// want is the SHA-256 of Token: comparing digests keeps the comparison
	// constant-time whatever the lengths.
	want [sha256.Size]byte
}

var _ webhook.Provider = (*Provider)(nil)

// New checks cfg and returns a provider.
func New(cfg Config) (*Provider, error) {
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, errors.New("brevo: Token: required (the webhook's bearer token or Basic \"user:pass\")")
	}
	return &Provider{want: sha256.Sum256([]byte(cfg.Token))}, nil
}

// Name implements webhook.Provider.
func (p *Provider) Name() string { return name }

// Handle implements webhook.Provider.
func (p *Provider) Handle(_ context.Context, req *webhook.Request) (*webhook.Result, error) {
	if err := p.authenticate(req.Header.Get("Authorization")); err != nil {
		return nil, err
	}
	items, err := webhook.SplitItems(req.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", webhook.ErrBadPayload, err)
	}
	res := &webhook.Result{}
	for i, raw := range items {
		ev, kind, err := normalize(raw)
		if err := res.Add(i, ev, kind, err); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (p *Provider) authenticate(header string) error {
	scheme, cred, _ := strings.Cut(header, " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
	case strings.EqualFold(scheme, "Basic"):
		decoded, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return fmt.Errorf("%w: Basic credentials are not base64", webhook.ErrUnauthorized)
		}
		cred = string(decoded)
	default:
		return fmt.Errorf("%w: Bearer token or Basic credentials required", webhook.ErrUnauthorized)
	}
	got := sha256.Sum256([]byte(cred))
	if subtle.ConstantTimeCompare(got[:], p.want[:]) != 1 {
		return fmt.Errorf("%w: wrong token", webhook.ErrUnauthorized)
	}
	return nil
}

type payload struct {
	Event     string          `json:"event"`
	Email     string          `json:"email"`
	MessageID string          `json:"message-id"`
	TSEpoch   json.Number     `json:"ts_epoch"`
	TSEvent   json.Number     `json:"ts_event"`
	TS        json.Number     `json:"ts"`
	Subject   string          `json:"subject"`
	Link      string          `json:"link"`
	URL       string          `json:"URL"`
	UserAgent string          `json:"user_agent"`
	Tag       string          `json:"tag"`
	Tags      []string        `json:"tags"`
	Custom    json.RawMessage `json:"X-Mailin-custom"`
}

// normalize turns one event object into an event, or returns a nil event and
// the Brevo type name to ignore.
func normalize(raw json.RawMessage) (*event.Event, string, error) {
	var pl payload
	if err := json.Unmarshal(raw, &pl); err != nil {
		return nil, "", err
	}
	if pl.Event == "" {
		return nil, "", errors.New("event: missing")
	}
	ev := &event.Event{Source: name, Email: pl.Email, MessageID: pl.MessageID, Title: pl.Subject, UserAgent: pl.UserAgent}
	switch pl.Event {
	case "delivered":
		ev.Type = event.EmailDelivered
	case "opened", "unique_opened":
		ev.Type = event.EmailOpen
	case "proxy_open", "unique_proxy_open":
		ev.Type, ev.Machine, ev.MachineReason = event.EmailOpen, true, "brevo "+pl.Event
	case "click":
		ev.Type, ev.URL = event.EmailClick, pl.Link
		if ev.URL == "" {
			// Marketing (campaign) webhooks name the link URL.
			ev.URL = pl.URL
		}
	case "hard_bounce":
		ev.Type, ev.Bounce = event.EmailBounce, event.BounceHard
	case "soft_bounce":
		ev.Type, ev.Bounce = event.EmailBounce, event.BounceSoft
	case "spam":
		ev.Type = event.EmailSpam
	case "unsubscribed":
		ev.Type = event.EmailUnsubscribe
	default:
		return nil, pl.Event, nil
	}
	stamp, at, err := occurredAt(pl)
	if err != nil {
		return nil, "", err
	}
	ev.OccurredAt = at
	ev.Tags = tags(pl)
	if err := correlate(pl.Custom, ev); err != nil {
		return nil, "", err
	}
	ev.ID = event.HashID(name, string(ev.Type), pl.MessageID, strings.ToLower(strings.TrimSpace(pl.Email)), stamp, ev.URL)
	return ev, "", nil
}

// msThreshold separates seconds from milliseconds: 10^11 seconds is the year
// 5138, 10^11 milliseconds is 1973.
const msThreshold = 1e11

// occurredAt returns the timestamp text it used and the time it means.
func occurredAt(pl payload) (string, time.Time, error) {
	for _, f := range []struct {
		name string
		v    json.Number
	}{{"ts_epoch", pl.TSEpoch}, {"ts_event", pl.TSEvent}, {"ts", pl.TS}} {
		if f.v == "" {
			continue
		}
		n, err := strconv.ParseInt(f.v.String(), 10, 64)
		if err != nil || n <= 0 {
			return "", time.Time{}, fmt.Errorf("%s: %q is not a Unix time", f.name, f.v)
		}
		if n >= msThreshold {
			return f.v.String(), time.UnixMilli(n).UTC(), nil
		}
		return f.v.String(), time.Unix(n, 0).UTC(), nil
	}
	return "", time.Time{}, errors.New("ts_epoch: missing (and no ts_event or ts)")
}

// tags prefers the tags array; tag is the X-Mailin-Tag header, which Brevo
// sometimes sends as a JSON-encoded array.
func tags(pl payload) []string {
	if len(pl.Tags) > 0 {
		return pl.Tags
	}
	if pl.Tag == "" {
		return nil
	}
	var many []string
	if strings.HasPrefix(pl.Tag, "[") && json.Unmarshal([]byte(pl.Tag), &many) == nil {
		if len(many) == 0 {
			return nil
		}
		return many
	}
	return []string{pl.Tag}
}

// correlate reads longtail's keys from X-Mailin-custom when it holds a JSON
// object (as a string, as Brevo relays the header, or inline). Any other
// value is someone else's custom header and is left alone.
func correlate(raw json.RawMessage, ev *event.Event) error {
	if len(raw) == 0 {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	var custom map[string]json.RawMessage
	if json.Unmarshal(raw, &custom) != nil {
		return nil
	}
	return webhook.Correlate(custom, ev, "X-Mailin-custom")
}
