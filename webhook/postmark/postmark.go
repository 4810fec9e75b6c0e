// Package postmark receives Postmark webhooks.
//
// # Authentication
//
// Postmark signs nothing. The webhook URL carries HTTP Basic credentials
// (https://user:pass@host/webhooks/postmark, or the webhook's HttpAuth), and
// Handle compares the Authorization header with Config.BasicAuth in constant
// time before reading the body.
//
// # Events
//
// One record per request, told apart by RecordType (older payloads without
// RecordType are recognised by BouncedAt or DeliveredAt):
//
//	Delivery            email.delivered
//	Open                email.open
//	Click               email.click (OriginalLink)
//	Bounce              email.bounce, Bounce from Type (or TypeCode when Type is
//	                    unknown): HardBounce, BadEmailAddress, ManuallyDeactivated
//	                    are "hard"; Transient, SoftBounce, DnsError, Blocked,
//	                    Unknown are "soft"; a SpamComplaint bounce is email.spam;
//	                    other kinds (AutoResponder, Subscribe, ...) are ignored
//	                    as "Bounce:<Type>"
//	SpamComplaint       email.spam
//	SubscriptionChange  email.unsubscribe when SuppressSending is true, ignored
//	                    as "SubscriptionChange" when false (a resubscribe)
//	anything else       Result.Ignored under its RecordType
//
// # Event ids
//
// Bounce and SpamComplaint records carry the bounce ID: the id is
// "postmark:" + ID. Other records get
//
//	event.HashID("postmark", RecordType, MessageID, lower-cased recipient, time, url)
//
// with time the record's own timestamp text as sent (DeliveredAt, ReceivedAt
// or ChangedAt) and url OriginalLink on clicks. Postmark reports every open
// and click separately, each with its ReceivedAt.
//
// # Other fields
//
// MessageID is MessageID, Title is Subject, Tags is Tag, UserAgent is
// UserAgent and IP is Geo.IP. Correlation comes from Metadata: lt_contact,
// lt_flow, lt_step and lt_message (the latter replacing MessageID).
package postmark

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

const name = "postmark"

// Config configures the Postmark provider.
type Config struct {
	// BasicAuth is "user:pass", the credentials put in the webhook URL.
	// Required: both parts must be non-empty. There is no default.
	BasicAuth string
}

// Provider authenticates and parses Postmark webhook deliveries.
type Provider struct {
	// want is the SHA-256 of "user:pass": comparing digests keeps the
	// comparison constant-time whatever the lengths.
	want [sha256.Size]byte
}

var _ webhook.Provider = (*Provider)(nil)

// New checks cfg and returns a provider.
func New(cfg Config) (*Provider, error) {
	user, pass, ok := strings.Cut(cfg.BasicAuth, ":")
	if !ok || user == "" || pass == "" {
		return nil, errors.New(`postmark: BasicAuth: want "user:pass" with both parts non-empty`)
	}
	return &Provider{want: sha256.Sum256([]byte(cfg.BasicAuth))}, nil
}

// Name implements webhook.Provider.
func (p *Provider) Name() string { return name }

// Handle implements webhook.Provider.
func (p *Provider) Handle(_ context.Context, req *webhook.Request) (*webhook.Result, error) {
	if err := p.authenticate(req); err != nil {
		return nil, err
	}
	res := &webhook.Result{}
	ev, kind, err := normalize(req.Body)
	if err := res.Add(0, ev, kind, err); err != nil {
		return nil, err
	}
	return res, nil
}

func (p *Provider) authenticate(req *webhook.Request) error {
	user, pass, ok := basicAuth(req.Header.Get("Authorization"))
	if !ok {
		return fmt.Errorf("%w: HTTP Basic credentials required", webhook.ErrUnauthorized)
	}
	got := sha256.Sum256([]byte(user + ":" + pass))
	if subtle.ConstantTimeCompare(got[:], p.want[:]) != 1 {
		return fmt.Errorf("%w: wrong Basic credentials", webhook.ErrUnauthorized)
	}
	return nil
}

// basicAuth parses an Authorization header the way net/http's
// Request.BasicAuth does, without needing an *http.Request.
func basicAuth(header string) (user, pass string, ok bool) {
	const prefix = "Basic "
	if len(header) < len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return "", "", false
	}
	decoded, err := base64.StdEncoding.DecodeString(header[len(prefix):])
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(decoded), ":")
}

type record struct {
	RecordType      string
	ID              json.Number
	Type            string
	TypeCode        int
	MessageID       string
	Email           string
	Recipient       string
	Tag             string
	Subject         string
	OriginalLink    string
	UserAgent       string
	SuppressSending bool
	BouncedAt       string
	DeliveredAt     string
	ReceivedAt      string
	ChangedAt       string
	Geo             struct{ IP string }
	Metadata        map[string]json.RawMessage
}

// normalize turns a record into an event, or returns a nil event and the
// name to ignore it under.
func normalize(body []byte) (*event.Event, string, error) {
	var r record
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, "", err
	}
	kind := r.RecordType
	if kind == "" {
		// Payloads from before RecordType existed.
		switch {
		case r.BouncedAt != "" && r.Type == "SpamComplaint":
			kind = "SpamComplaint"
		case r.BouncedAt != "":
			kind = "Bounce"
		case r.DeliveredAt != "":
			kind = "Delivery"
		default:
			return nil, "", errors.New("RecordType: missing, and the record is neither a bounce nor a delivery")
		}
	}
	ev := &event.Event{Source: name, Email: r.Recipient, MessageID: r.MessageID, Title: r.Subject, UserAgent: r.UserAgent, IP: r.Geo.IP}
	when := ""
	switch kind {
	case "Delivery":
		ev.Type, when = event.EmailDelivered, r.DeliveredAt
	case "Open":
		ev.Type, when = event.EmailOpen, r.ReceivedAt
	case "Click":
		ev.Type, ev.URL, when = event.EmailClick, r.OriginalLink, r.ReceivedAt
	case "SpamComplaint":
		ev.Type, ev.Email, when = event.EmailSpam, r.Email, r.BouncedAt
	case "Bounce":
		typ, bounce := bounceKind(r.Type, r.TypeCode)
		if typ == "" {
			if r.Type == "" {
				return nil, "Bounce:" + strconv.Itoa(r.TypeCode), nil
			}
			return nil, "Bounce:" + r.Type, nil
		}
		ev.Type, ev.Bounce, ev.Email, when = typ, bounce, r.Email, r.BouncedAt
	case "SubscriptionChange":
		if !r.SuppressSending {
			return nil, kind, nil
		}
		ev.Type, when = event.EmailUnsubscribe, r.ChangedAt
	default:
		return nil, kind, nil
	}
	if when == "" {
		return nil, "", fmt.Errorf("%s: timestamp missing", kind)
	}
	at, err := time.Parse(time.RFC3339Nano, when)
	if err != nil {
		return nil, "", fmt.Errorf("%s: timestamp %q is not RFC 3339", kind, when)
	}
	ev.OccurredAt = at.UTC()
	if r.Tag != "" {
		ev.Tags = []string{r.Tag}
	}
	if err := webhook.Correlate(r.Metadata, ev, "Metadata"); err != nil {
		return nil, "", err
	}
	if (kind == "Bounce" || kind == "SpamComplaint") && r.ID != "" && r.ID != "0" {
		ev.ID = name + ":" + r.ID.String()
	} else {
		ev.ID = event.HashID(name, kind, r.MessageID, strings.ToLower(strings.TrimSpace(ev.Email)), when, ev.URL)
	}
	return ev, "", nil
}

// bounceKind classifies a Bounce record by Type, falling back to TypeCode
// (Postmark's bounce type table) when Type is absent or unknown. An empty
// type means the record is not a delivery failure longtail scores.
func bounceKind(typ string, code int) (event.Type, string) {
	byName := map[string]int{
		"HardBounce": 1, "Transient": 2, "DnsError": 256, "Unknown": 2048, "SoftBounce": 4096,
		"BadEmailAddress": 100000, "SpamComplaint": 100001, "ManuallyDeactivated": 100002, "Blocked": 100006,
	}
	if c, ok := byName[typ]; ok {
		code = c
	}
	switch code {
	case 1, 100000, 100002:
		return event.EmailBounce, event.BounceHard
	case 2, 256, 2048, 4096, 100006:
		return event.EmailBounce, event.BounceSoft
	case 100001:
		return event.EmailSpam, ""
	}
	return "", ""
}
