// Package sendgrid receives the SendGrid (Twilio) Event Webhook.
//
// # Authentication
//
// SendGrid signs every delivery with ECDSA P-256 over SHA-256 of the
// X-Twilio-Email-Event-Webhook-Timestamp header bytes followed by the raw
// body bytes; X-Twilio-Email-Event-Webhook-Signature carries the base64 ASN.1
// DER signature. The signature is checked over the body exactly as received,
// before anything is parsed. Config.MaxAge adds a replay window on the signed
// timestamp (SendGrid documents none).
//
// # Events
//
// The body is a JSON array of event objects, or a single bare object (as A/B
// test events are documented). Types map as follows:
//
//	delivered                       email.delivered
//	open                            email.open (Machine when sg_machine_open is true)
//	click                           email.click
//	bounce                          email.bounce, Bounce "soft" when type is "blocked", else "hard"
//	spamreport                      email.spam
//	unsubscribe, group_unsubscribe  email.unsubscribe
//	anything else                   Result.Ignored under the SendGrid event name
//
// # Event ids
//
// The id is "sendgrid:" + sg_event_id. Events without sg_event_id (legacy
// Marketing Email) get
//
//	event.HashID("sendgrid", event, lower-cased email, timestamp, sg_message_id, url)
//
// where event is SendGrid's event name and timestamp is the decimal text as
// sent. A retried delivery repeats these bytes and so the id.
//
// # Other fields
//
// timestamp is Unix seconds, or milliseconds for Marketing Campaigns Single
// Sends; a value above 10^11 is read as milliseconds. MessageID is
// sg_message_id, Tags come from category (a string or an array), Title is the
// Single Send or campaign name when present. Correlation comes from the custom
// args SendGrid copies to the top level of each event: lt_contact, lt_flow,
// lt_step and lt_message (the latter replacing sg_message_id).
package sendgrid

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
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

// Header names SendGrid signs with.
const (
	HeaderSignature = "X-Twilio-Email-Event-Webhook-Signature"
	HeaderTimestamp = "X-Twilio-Email-Event-Webhook-Timestamp"
)

const name = "sendgrid"

// Config configures the SendGrid provider.
type Config struct {
	// PublicKey is the verification key from SendGrid's Mail Settings →
	// Signed Event Webhook, base64 of a DER SubjectPublicKeyInfo holding an
	// ECDSA P-256 key. Required: there is no default.
	PublicKey string
	// MaxAge is the replay window on the signed timestamp header. Zero
	// disables the check.
	MaxAge time.Duration
}

// Provider verifies and parses SendGrid Event Webhook deliveries.
type Provider struct {
	key    *ecdsa.PublicKey
	maxAge time.Duration
}

var _ webhook.Provider = (*Provider)(nil)

// New checks cfg and returns a provider.
func New(cfg Config) (*Provider, error) {
	if cfg.MaxAge < 0 {
		return nil, fmt.Errorf("sendgrid: MaxAge must not be negative, got %s", cfg.MaxAge)
	}
	key, err := parsePublicKey(cfg.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("sendgrid: PublicKey: %w", err)
	}
	return &Provider{key: key, maxAge: cfg.MaxAge}, nil
}

func parsePublicKey(s string) (*ecdsa.PublicKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("required (base64 DER public key from the Signed Event Webhook settings)")
	}
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("not a DER PKIX public key: %w", err)
	}
	key, ok := pub.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("want an ECDSA P-256 key, got %T", pub)
	}
	return key, nil
}

// Name implements webhook.Provider.
func (p *Provider) Name() string { return name }

// Handle implements webhook.Provider.
func (p *Provider) Handle(_ context.Context, req *webhook.Request) (*webhook.Result, error) {
	if err := p.verify(req); err != nil {
		return nil, err
	}
	items, err := decodeItems(req.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", webhook.ErrBadPayload, err)
	}
	res := &webhook.Result{}
	for i := range items {
		ev, kind, err := normalize(&items[i])
		if err := res.Add(i, ev, kind, err); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// decodeItems decodes the whole batch in one pass (the hot path: SendGrid
// posts up to thousands of events at once). Only when that fails is the
// body split item by item, to name the item that is wrong.
func decodeItems(body []byte) ([]payload, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var one payload
		if err := json.Unmarshal(trimmed, &one); err != nil {
			return nil, fmt.Errorf("item 0: %v", describe(trimmed, err))
		}
		return []payload{one}, nil
	}
	var items []payload
	if err := json.Unmarshal(trimmed, &items); err == nil {
		return items, nil
	}
	raws, err := webhook.SplitItems(trimmed)
	if err != nil {
		return nil, err
	}
	for i, raw := range raws {
		var pl payload
		if err := json.Unmarshal(raw, &pl); err != nil {
			return nil, fmt.Errorf("item %d: %v", i, describe(raw, err))
		}
	}
	return nil, errors.New("body cannot be decoded as SendGrid events")
}

func (p *Provider) verify(req *webhook.Request) error {
	ts := req.Header.Get(HeaderTimestamp)
	sigB64 := req.Header.Get(HeaderSignature)
	if ts == "" || sigB64 == "" {
		return fmt.Errorf("%w: %s and %s headers are required", webhook.ErrUnauthorized, HeaderSignature, HeaderTimestamp)
	}
	// Strict: a signature re-encoded with different padding bits is not the
	// one SendGrid sent.
	sig, err := base64.StdEncoding.Strict().DecodeString(sigB64)
	if err != nil {
		return fmt.Errorf("%w: %s is not base64", webhook.ErrUnauthorized, HeaderSignature)
	}
	h := sha256.New()
	h.Write([]byte(ts))
	h.Write(req.Body)
	if !ecdsa.VerifyASN1(p.key, h.Sum(nil), sig) {
		return fmt.Errorf("%w: signature does not match", webhook.ErrUnauthorized)
	}
	if p.maxAge > 0 {
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: %s %q is not Unix seconds", webhook.ErrUnauthorized, HeaderTimestamp, ts)
		}
		return webhook.CheckAge(time.Unix(sec, 0), req.Now, p.maxAge)
	}
	return nil
}

// payload holds the fields longtail reads, including longtail's own custom
// args, which SendGrid puts at the top level of each event.
type payload struct {
	Event        string      `json:"event"`
	Email        string      `json:"email"`
	Timestamp    json.Number `json:"timestamp"`
	SGEventID    string      `json:"sg_event_id"`
	SGMessageID  string      `json:"sg_message_id"`
	Type         string      `json:"type"`
	URL          string      `json:"url"`
	UserAgent    string      `json:"useragent"`
	IP           string      `json:"ip"`
	Category     stringList  `json:"category"`
	MachineOpen  bool        `json:"sg_machine_open"`
	SingleSend   string      `json:"singlesend_name"`
	CampaignName string      `json:"marketing_campaign_name"`
	// Correlation custom args: the tags spell event.MetaContactID,
	// MetaFlow, MetaStep and MetaMessageID.
	LTContact flexString `json:"lt_contact"`
	LTFlow    flexString `json:"lt_flow"`
	LTStep    flexString `json:"lt_step"`
	LTMessage flexString `json:"lt_message"`
}

// normalize turns one event object into an event, or returns a nil event and
// the SendGrid type name to ignore.
func normalize(pl *payload) (*event.Event, string, error) {
	if pl.Event == "" {
		return nil, "", errors.New("event: missing")
	}
	ev := &event.Event{Source: name, Email: pl.Email, MessageID: pl.SGMessageID}
	switch pl.Event {
	case "delivered":
		ev.Type = event.EmailDelivered
	case "open":
		ev.Type = event.EmailOpen
		if pl.MachineOpen {
			ev.Machine, ev.MachineReason = true, "sendgrid sg_machine_open"
		}
	case "click":
		ev.Type, ev.URL = event.EmailClick, pl.URL
	case "bounce":
		ev.Type, ev.Bounce = event.EmailBounce, event.BounceHard
		if pl.Type == "blocked" {
			ev.Bounce = event.BounceSoft
		}
	case "spamreport":
		ev.Type = event.EmailSpam
	case "unsubscribe", "group_unsubscribe":
		ev.Type = event.EmailUnsubscribe
	default:
		return nil, pl.Event, nil
	}
	at, err := parseTimestamp(pl.Timestamp)
	if err != nil {
		return nil, "", err
	}
	ev.OccurredAt = at
	if len(pl.Category) > 0 {
		ev.Tags = pl.Category
	}
	ev.UserAgent, ev.IP = pl.UserAgent, pl.IP
	ev.Title = pl.SingleSend
	if ev.Title == "" {
		ev.Title = pl.CampaignName
	}
	for _, c := range [...]struct {
		v   flexString
		dst *string
	}{{pl.LTContact, &ev.ContactID}, {pl.LTFlow, &ev.Flow}, {pl.LTStep, &ev.Step}, {pl.LTMessage, &ev.MessageID}} {
		if c.v != "" {
			*c.dst = string(c.v)
		}
	}
	if pl.SGEventID != "" {
		ev.ID = name + ":" + pl.SGEventID
	} else {
		ev.ID = event.HashID(name, pl.Event, strings.ToLower(strings.TrimSpace(pl.Email)),
			pl.Timestamp.String(), pl.SGMessageID, pl.URL)
	}
	return ev, "", nil
}

// msThreshold separates seconds from milliseconds: 10^11 seconds is the year
// 5138, 10^11 milliseconds is 1973.
const msThreshold = 1e11

func parseTimestamp(n json.Number) (time.Time, error) {
	if n == "" {
		return time.Time{}, errors.New("timestamp: missing")
	}
	v, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp: %q is not an integer", n)
	}
	if v <= 0 {
		return time.Time{}, fmt.Errorf("timestamp: %d is not a Unix time", v)
	}
	if v >= msThreshold {
		return time.UnixMilli(v).UTC(), nil
	}
	return time.Unix(v, 0).UTC(), nil
}

// describe names the custom arg behind a decode error, if one is.
func describe(raw json.RawMessage, err error) error {
	var all map[string]json.RawMessage
	if json.Unmarshal(raw, &all) != nil {
		return err
	}
	for _, key := range []string{event.MetaContactID, event.MetaFlow, event.MetaStep, event.MetaMessageID} {
		if v, ok := all[key]; ok {
			var f flexString
			if e := f.UnmarshalJSON(v); e != nil {
				return fmt.Errorf("%s: %v", key, e)
			}
		}
	}
	return err
}

// stringList is a category: SendGrid sends one string or an array.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*l = nil
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = nil
		if one != "" {
			*l = stringList{one}
		}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("category: want a string or an array of strings")
	}
	*l = many
	return nil
}

// flexString is a custom arg: SendGrid sends strings, but a number written
// by another sender is accepted as its decimal text.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*f = flexString(n.String())
		return nil
	}
	return errors.New("custom arg: want a string or a number")
}
