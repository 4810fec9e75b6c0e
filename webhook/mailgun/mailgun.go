// Package mailgun receives Mailgun webhooks (the JSON format of the current
// webhooks API).
//
// # Authentication
//
// The body is {"signature":{"timestamp","token","signature"},"event-data":{...}}
// and signature is hex HMAC-SHA256 of timestamp ‖ token under the webhook
// signing key. Mailgun signs those two strings only, not the event data, so
// a captured signature could be replayed with other event data: Config.MaxAge
// bounds how long a signature is good for, and Config.Tokens accepts each
// token once. A delivery claims its token in one atomic step once its
// signature, age and payload check out, so of any number of copies sent at
// once exactly one is accepted and the others are ErrUnauthorized. When its
// events then cannot be queued, Result.Release gives the claim back, so
// Mailgun's retry of the same delivery is not mistaken for a replay. A body
// that is not JSON at all carries no signature to check and is
// ErrBadPayload; every other failure before the HMAC matches is
// ErrUnauthorized, and event-data is read only after it matches.
//
// # Events
//
//	delivered     email.delivered
//	opened        email.open (Machine when client-info.bot is non-empty)
//	clicked       email.click
//	failed        email.bounce, Bounce "hard" for severity permanent, "soft" for temporary
//	complained    email.spam
//	unsubscribed  email.unsubscribe
//	anything else Result.Ignored under the Mailgun event name (accepted,
//	              stored, failed with another severity, ...)
//
// # Event ids
//
// The id is "mailgun:" + event-data.id. Without one it is
//
//	event.HashID("mailgun", event, lower-cased recipient, timestamp, message-id, url)
//
// with timestamp the decimal text as sent and message-id
// message.headers.message-id.
//
// # Other fields
//
// OccurredAt is event-data.timestamp (fractional Unix seconds), MessageID is
// message.headers.message-id, Title is message.headers.subject, Tags are tags,
// UserAgent is client-info.user-agent and IP is ip. Correlation comes from
// user-variables: lt_contact, lt_flow, lt_step and lt_message (the latter
// replacing the Message-Id).
package mailgun

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/webhook"
)

const name = "mailgun"

// TokenCache remembers the signature tokens of accepted deliveries so a
// replayed signature is refused.
type TokenCache interface {
	// Claim records token for ttl under the claim id unless it is already
	// recorded, as one atomic step, and reports whether this call recorded
	// it. Of concurrent claims of one token exactly one succeeds.
	Claim(ctx context.Context, token, id string, ttl time.Duration) (bool, error)
	// Release forgets token if the claim id still holds it, so that the
	// same delivery can be accepted again.
	Release(ctx context.Context, token, id string) error
}

// Config configures the Mailgun provider.
type Config struct {
	// SigningKey is the HTTP webhook signing key from the Mailgun control
	// panel. Required: there is no default.
	SigningKey string
	// MaxAge is the replay window on signature.timestamp. Zero disables the
	// check, which is only allowed without Tokens.
	MaxAge time.Duration
	// Tokens, when set, accepts each signature token once. Tokens are kept
	// for twice MaxAge, the span over which CheckAge would accept them
	// (MaxAge either side of the signed time). If nil, tokens are not
	// tracked and MaxAge alone limits replays: one captured signature then
	// carries any event data for MaxAge. Production sets it.
	Tokens TokenCache
}

// Provider verifies and parses Mailgun webhook deliveries.
type Provider struct {
	key    []byte
	maxAge time.Duration
	tokens TokenCache
}

var _ webhook.Provider = (*Provider)(nil)

// New checks cfg and returns a provider.
func New(cfg Config) (*Provider, error) {
	if strings.TrimSpace(cfg.SigningKey) == "" {
		return nil, errors.New("mailgun: SigningKey: required (the HTTP webhook signing key)")
	}
	if cfg.MaxAge < 0 {
		return nil, fmt.Errorf("mailgun: MaxAge must not be negative, got %s", cfg.MaxAge)
	}
	if cfg.Tokens != nil && cfg.MaxAge == 0 {
		return nil, errors.New("mailgun: Tokens needs MaxAge > 0: without a replay window a token would have to be kept forever")
	}
	return &Provider{key: []byte(strings.TrimSpace(cfg.SigningKey)), maxAge: cfg.MaxAge, tokens: cfg.Tokens}, nil
}

// Name implements webhook.Provider.
func (p *Provider) Name() string { return name }

type envelope struct {
	Signature struct {
		Timestamp string `json:"timestamp"`
		Token     string `json:"token"`
		Signature string `json:"signature"`
	} `json:"signature"`
	EventData json.RawMessage `json:"event-data"`
}

// Handle implements webhook.Provider.
func (p *Provider) Handle(ctx context.Context, req *webhook.Request) (*webhook.Result, error) {
	var env envelope
	if err := json.Unmarshal(req.Body, &env); err != nil {
		return nil, fmt.Errorf("%w: body is not a Mailgun JSON envelope: %v", webhook.ErrBadPayload, err)
	}
	if err := p.verify(&env, req.Now); err != nil {
		return nil, err
	}
	if len(env.EventData) == 0 || string(env.EventData) == "null" {
		return nil, fmt.Errorf("%w: event-data: missing", webhook.ErrBadPayload)
	}
	res := &webhook.Result{}
	ev, kind, err := normalize(env.EventData)
	// Mailgun sends one event per request, item 0.
	if err := res.Add(0, ev, kind, err); err != nil {
		return nil, err
	}
	// Claimed last, once nothing else can refuse the delivery: a refused
	// request leaves no claim behind.
	if p.tokens != nil {
		release, err := p.claim(ctx, env.Signature.Token)
		if err != nil {
			return nil, err
		}
		res.Release = release
	}
	return res, nil
}

// claim takes the signature token for this delivery and returns how to give
// it back.
func (p *Provider) claim(ctx context.Context, token string) (func(context.Context) error, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("mailgun: claim id: %w", err)
	}
	id := hex.EncodeToString(b[:])
	ok, err := p.tokens.Claim(ctx, token, id, 2*p.maxAge)
	if err != nil {
		// Neither 401 nor 400: the caller answers 5xx and Mailgun retries.
		return nil, fmt.Errorf("mailgun: claim token: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: signature token already used", webhook.ErrUnauthorized)
	}
	return func(ctx context.Context) error {
		if err := p.tokens.Release(ctx, token, id); err != nil {
			return fmt.Errorf("mailgun: release token: %w", err)
		}
		return nil
	}, nil
}

func (p *Provider) verify(env *envelope, now time.Time) error {
	sig := env.Signature
	if sig.Timestamp == "" || sig.Token == "" || sig.Signature == "" {
		return fmt.Errorf("%w: signature.timestamp, signature.token and signature.signature are required", webhook.ErrUnauthorized)
	}
	got, err := hex.DecodeString(sig.Signature)
	if err != nil {
		return fmt.Errorf("%w: signature.signature is not hex", webhook.ErrUnauthorized)
	}
	mac := hmac.New(sha256.New, p.key)
	mac.Write([]byte(sig.Timestamp))
	mac.Write([]byte(sig.Token))
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%w: signature does not match", webhook.ErrUnauthorized)
	}
	if p.maxAge > 0 {
		sec, err := strconv.ParseInt(sig.Timestamp, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: signature.timestamp %q is not Unix seconds", webhook.ErrUnauthorized, sig.Timestamp)
		}
		if err := webhook.CheckAge(time.Unix(sec, 0), now, p.maxAge); err != nil {
			return err
		}
	}
	return nil
}

type eventData struct {
	Event      string          `json:"event"`
	ID         string          `json:"id"`
	Timestamp  json.Number     `json:"timestamp"`
	Recipient  string          `json:"recipient"`
	Severity   string          `json:"severity"`
	URL        string          `json:"url"`
	IP         string          `json:"ip"`
	Tags       []string        `json:"tags"`
	UserVars   json.RawMessage `json:"user-variables"`
	ClientInfo struct {
		UserAgent string `json:"user-agent"`
		Bot       string `json:"bot"`
	} `json:"client-info"`
	Message struct {
		Headers struct {
			MessageID string `json:"message-id"`
			Subject   string `json:"subject"`
		} `json:"headers"`
	} `json:"message"`
}

// normalize turns event-data into an event, or returns a nil event and the
// Mailgun type name to ignore.
func normalize(raw json.RawMessage) (*event.Event, string, error) {
	var d eventData
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, "", err
	}
	if d.Event == "" {
		return nil, "", errors.New("event: missing")
	}
	ev := &event.Event{Source: name}
	switch d.Event {
	case "delivered":
		ev.Type = event.EmailDelivered
	case "opened":
		ev.Type = event.EmailOpen
	case "clicked":
		ev.Type, ev.URL = event.EmailClick, d.URL
	case "failed":
		switch d.Severity {
		case "permanent":
			ev.Type, ev.Bounce = event.EmailBounce, event.BounceHard
		case "temporary":
			ev.Type, ev.Bounce = event.EmailBounce, event.BounceSoft
		default:
			return nil, d.Event, nil
		}
	case "complained":
		ev.Type = event.EmailSpam
	case "unsubscribed":
		ev.Type = event.EmailUnsubscribe
	default:
		return nil, d.Event, nil
	}
	at, err := parseTimestamp(d.Timestamp)
	if err != nil {
		return nil, "", err
	}
	ev.OccurredAt = at
	ev.Email = d.Recipient
	ev.MessageID = d.Message.Headers.MessageID
	ev.Title = d.Message.Headers.Subject
	if len(d.Tags) > 0 {
		ev.Tags = d.Tags
	}
	ev.UserAgent, ev.IP = d.ClientInfo.UserAgent, d.IP
	if d.ClientInfo.Bot != "" && (ev.Type == event.EmailOpen || ev.Type == event.EmailClick) {
		ev.Machine, ev.MachineReason = true, "mailgun client-info.bot="+d.ClientInfo.Bot
	}
	if err := userVariables(d.UserVars, ev); err != nil {
		return nil, "", err
	}
	if d.ID != "" {
		ev.ID = name + ":" + d.ID
	} else {
		ev.ID = event.HashID(name, d.Event, strings.ToLower(strings.TrimSpace(d.Recipient)),
			d.Timestamp.String(), d.Message.Headers.MessageID, d.URL)
	}
	return ev, "", nil
}

func parseTimestamp(n json.Number) (time.Time, error) {
	if n == "" {
		return time.Time{}, errors.New("timestamp: missing")
	}
	f, err := n.Float64()
	// 10^11 seconds is the year 5138: anything larger is not a timestamp and
	// would overflow the conversion below.
	if err != nil || !(f > 0 && f < 1e11) {
		return time.Time{}, fmt.Errorf("timestamp: %q is not a Unix time", n)
	}
	sec, frac := math.Modf(f)
	// Mailgun gives microseconds; rounding there drops float noise.
	usec := math.Round(frac * 1e6)
	return time.Unix(int64(sec), int64(usec)*1e3).UTC(), nil
}

// userVariables copies longtail's keys from user-variables
// (X-Mailgun-Variables at send time).
func userVariables(raw json.RawMessage, ev *event.Event) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var vars map[string]json.RawMessage
	if err := json.Unmarshal(raw, &vars); err != nil {
		return errors.New("user-variables: want an object")
	}
	return webhook.Correlate(vars, ev, "user-variables")
}
