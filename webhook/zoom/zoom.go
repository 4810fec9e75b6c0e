// Package zoom receives Zoom webhook events (webinar registrations and
// attendance).
//
// Every request, endpoint.url_validation included, is signed: x-zm-signature
// is "v0=" + hex(HMAC-SHA256(secret token, "v0:" + x-zm-request-timestamp +
// ":" + raw body)). Zoom's own samples re-serialise the parsed JSON before
// hashing; this package hashes the raw bytes as received.
//
// endpoint.url_validation is answered with
// {"plainToken": ..., "encryptedToken": hex(HMAC-SHA256(secret, plainToken))}.
//
// Event ids: Zoom sends no event id, so
//
//	webinar.registered: event.HashID("zoom", "webinar.registration_created", webinar, email, registrant id)
//	webinar.attended:   event.HashID("zoom", "webinar.participant_joined", webinar, email, join_time)
//
// where webinar is object.uuid (one occurrence of the webinar), or object.id
// when the uuid is absent, and join_time is the participant's join_time as
// sent (event_ts when absent). Zoom's retries carry the same payload and so
// the same id; a participant who leaves and rejoins yields a second
// attendance with its own join_time, which scoring caps per webinar.
package zoom

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/webhook"
)

// Header names Zoom signs requests with.
const (
	SignatureHeader = "x-zm-signature"
	TimestampHeader = "x-zm-request-timestamp"
)

const (
	eventURLValidation      = "endpoint.url_validation"
	eventRegistrationCreate = "webinar.registration_created"
	eventParticipantJoined  = "webinar.participant_joined"
	// IgnoredNoEmail counts joins that cannot be tied to a person: phone
	// dial-ins and guests who gave no address.
	IgnoredNoEmail = "webinar.participant_joined.no_email"
)

// Config configures the Zoom provider.
type Config struct {
	// SecretToken is the app's "Secret Token" from the Zoom Marketplace
	// feature page. Required: there is no default.
	SecretToken string
	// MaxAge is the replay window: a request whose x-zm-request-timestamp is
	// further than MaxAge from Request.Now (either way) is refused. Zero
	// disables the check; duplicates are still counted once through the
	// event ids. Negative values are rejected.
	MaxAge time.Duration
}

// Provider verifies and parses Zoom webhooks. It is safe for concurrent use.
type Provider struct {
	secret []byte
	maxAge time.Duration
}

var _ webhook.Provider = (*Provider)(nil)

// New validates cfg and returns a Provider.
func New(cfg Config) (*Provider, error) {
	if cfg.SecretToken == "" {
		return nil, errors.New("zoom: Config.SecretToken is required")
	}
	if cfg.MaxAge < 0 {
		return nil, fmt.Errorf("zoom: Config.MaxAge %s must not be negative (0 disables the replay window)", cfg.MaxAge)
	}
	return &Provider{secret: []byte(cfg.SecretToken), maxAge: cfg.MaxAge}, nil
}

// Name implements webhook.Provider.
func (p *Provider) Name() string { return "zoom" }

// Handle implements webhook.Provider.
func (p *Provider) Handle(_ context.Context, req *webhook.Request) (*webhook.Result, error) {
	if err := p.verify(req); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(req.Body))
	dec.UseNumber()
	var n notification
	if err := dec.Decode(&n); err != nil {
		return nil, fmt.Errorf("%w: zoom: body is not a JSON event: %v", webhook.ErrBadPayload, err)
	}
	if n.Event == "" {
		return nil, fmt.Errorf("%w: zoom: \"event\" is missing", webhook.ErrBadPayload)
	}
	res := &webhook.Result{}
	switch n.Event {
	case eventURLValidation:
		reply, err := p.validationReply(n.Payload)
		if err != nil {
			return nil, fmt.Errorf("%w: zoom: %s: %v", webhook.ErrBadPayload, n.Event, err)
		}
		res.Reply = reply
	case eventRegistrationCreate, eventParticipantJoined:
		ev, err := normalise(&n)
		if err != nil {
			return nil, fmt.Errorf("%w: zoom: %s: %v", webhook.ErrBadPayload, n.Event, err)
		}
		if ev == nil {
			res.Ignore(IgnoredNoEmail)
		} else {
			res.Events = append(res.Events, *ev)
		}
	default:
		// Left, started, ended, approved, cancelled, meeting.*: not facts
		// longtail scores (registration and the first join already count).
		res.Ignore(n.Event)
	}
	return res, nil
}

// verify checks the signature over the raw body, then the replay window.
func (p *Provider) verify(req *webhook.Request) error {
	sig := req.Header.Get(SignatureHeader)
	ts := req.Header.Get(TimestampHeader)
	if sig == "" || ts == "" {
		return fmt.Errorf("%w: zoom: %s and %s headers are required", webhook.ErrUnauthorized, SignatureHeader, TimestampHeader)
	}
	hexSig, ok := strings.CutPrefix(sig, "v0=")
	if !ok {
		return fmt.Errorf("%w: zoom: %s is not a v0 signature", webhook.ErrUnauthorized, SignatureHeader)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("%w: zoom: %s is not hex", webhook.ErrUnauthorized, SignatureHeader)
	}
	mac := hmac.New(sha256.New, p.secret)
	mac.Write([]byte("v0:"))
	mac.Write([]byte(ts))
	mac.Write([]byte(":"))
	mac.Write(req.Body)
	if !hmac.Equal(mac.Sum(nil), got) {
		return fmt.Errorf("%w: zoom: %s does not match", webhook.ErrUnauthorized, SignatureHeader)
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: zoom: %s %q is not Unix seconds", webhook.ErrUnauthorized, TimestampHeader, ts)
	}
	return webhook.CheckAge(time.Unix(secs, 0), req.Now, p.maxAge)
}

// validationReply answers Zoom's URL validation challenge.
func (p *Provider) validationReply(payload json.RawMessage) (*webhook.Reply, error) {
	var v struct {
		PlainToken string `json:"plainToken"`
	}
	if err := json.Unmarshal(payload, &v); err != nil || v.PlainToken == "" {
		return nil, errors.New("payload.plainToken is missing")
	}
	mac := hmac.New(sha256.New, p.secret)
	mac.Write([]byte(v.PlainToken))
	body, err := json.Marshal(struct {
		PlainToken     string `json:"plainToken"`
		EncryptedToken string `json:"encryptedToken"`
	}{v.PlainToken, hex.EncodeToString(mac.Sum(nil))})
	if err != nil {
		return nil, err
	}
	return &webhook.Reply{Status: http.StatusOK, ContentType: "application/json", Body: body}, nil
}

type notification struct {
	Event   string          `json:"event"`
	EventTS json.Number     `json:"event_ts"`
	Payload json.RawMessage `json:"payload"`
}

type webinar struct {
	UUID string `json:"uuid"`
	// ID is a number in some events and a string in others.
	ID          json.RawMessage `json:"id"`
	Topic       string          `json:"topic"`
	Registrant  *person         `json:"registrant"`
	Participant *person         `json:"participant"`
}

type person struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	JoinTime string `json:"join_time"`
}

// normalise maps a registration or a join; nil without error means a join
// without an email address.
func normalise(n *notification) (*event.Event, error) {
	var payload struct {
		Object *webinar `json:"object"`
	}
	if err := json.Unmarshal(n.Payload, &payload); err != nil {
		return nil, fmt.Errorf("payload: %v", err)
	}
	w := payload.Object
	if w == nil {
		return nil, errors.New("payload.object is missing")
	}
	key := w.UUID
	if key == "" {
		key = webhook.ScalarText(w.ID)
	}
	if key == "" {
		return nil, errors.New("payload.object has neither uuid nor id")
	}
	ev := &event.Event{Source: "zoom", Title: event.Truncate(w.Topic, event.MaxTextLen)}
	eventTS, tsErr := parseEventTS(n.EventTS)
	switch n.Event {
	case eventRegistrationCreate:
		r := w.Registrant
		if r == nil || r.Email == "" {
			return nil, errors.New("payload.object.registrant.email is missing")
		}
		if tsErr != nil {
			return nil, fmt.Errorf("event_ts: %v", tsErr)
		}
		ev.Type = event.WebinarRegistered
		ev.Email = r.Email
		ev.OccurredAt = eventTS
		ev.ID = event.HashID("zoom", n.Event, key, normEmail(r.Email), r.ID)
	case eventParticipantJoined:
		pt := w.Participant
		if pt == nil {
			return nil, errors.New("payload.object.participant is missing")
		}
		if strings.TrimSpace(pt.Email) == "" {
			return nil, nil
		}
		ev.Type = event.WebinarAttended
		ev.Email = pt.Email
		joinKey := pt.JoinTime
		if pt.JoinTime != "" {
			t, err := time.Parse(time.RFC3339Nano, pt.JoinTime)
			if err != nil {
				return nil, fmt.Errorf("payload.object.participant.join_time: %v", err)
			}
			ev.OccurredAt = t.UTC()
		} else {
			if tsErr != nil {
				return nil, fmt.Errorf("event_ts: %v (and no join_time)", tsErr)
			}
			ev.OccurredAt = eventTS
			joinKey = n.EventTS.String()
		}
		ev.ID = event.HashID("zoom", n.Event, key, normEmail(pt.Email), joinKey)
	}
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	return ev, nil
}

// normEmail keeps ids independent of the case Zoom happens to send.
func normEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// parseEventTS reads event_ts, Unix milliseconds.
func parseEventTS(n json.Number) (time.Time, error) {
	if n == "" {
		return time.Time{}, errors.New("missing")
	}
	ms, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil || ms <= 0 || ms > maxUnixMilli {
		return time.Time{}, fmt.Errorf("%s is not Unix milliseconds", n)
	}
	return time.UnixMilli(ms).UTC(), nil
}

// maxUnixMilli (year 9999) keeps absurd timestamps out of the store.
const maxUnixMilli = 253402300799999
