// Package event defines the canonical engagement event: the one shape every
// provider payload, tracking hit and API call is turned into at the edge.
package event

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Type names a kind of engagement fact. The values are wire names used in the
// API, in config keys (scoring.points.<type>) and in stored timelines: never
// rename one.
type Type string

// The event types of DESIGN.md.
const (
	EmailDelivered    Type = "email.delivered"
	EmailOpen         Type = "email.open"
	EmailClick        Type = "email.click"
	EmailBounce       Type = "email.bounce"
	EmailSpam         Type = "email.spam"
	EmailUnsubscribe  Type = "email.unsubscribe"
	EmailReply        Type = "email.reply"
	WebVisit          Type = "web.visit"
	ContentDownload   Type = "content.download"
	WebinarRegistered Type = "webinar.registered"
	WebinarAttended   Type = "webinar.attended"
	EventAttended     Type = "event.attended"
	DealRegistered    Type = "deal.registered"
	// DealWon is a deal closed: what a rep's converted outcome records.
	// Its value feeds RFM monetary like a purchase's; its points are the
	// rubric's (0 by default), unlike deal.registered's 15.
	DealWon  Type = "deal.won"
	Purchase Type = "purchase"
	// NurtureScore is a nurture flow's score step: points marketing ops
	// give for reaching a step, carried in Value (scoring takes them as
	// they are, with no multiplier; scoring.points.nurture.score is 0).
	NurtureScore Type = "nurture.score"
)

// MaxNurturePoints bounds the points of a nurture.score event, as flow
// files bound a score step's.
const MaxNurturePoints = 1000

// Types lists every valid type, in documentation order.
var types = []Type{
	EmailDelivered, EmailOpen, EmailClick, EmailBounce, EmailSpam, EmailUnsubscribe, EmailReply,
	WebVisit, ContentDownload, WebinarRegistered, WebinarAttended, EventAttended, DealRegistered, DealWon, Purchase, NurtureScore,
}

// Types returns every valid event type in documentation order.
func Types() []Type { return append([]Type(nil), types...) }

// Valid reports whether t is one of the documented types.
func (t Type) Valid() bool {
	for _, v := range types {
		if v == t {
			return true
		}
	}
	return false
}

// Bounce kinds carried in Event.Bounce for email.bounce events.
const (
	BounceHard = "hard"
	BounceSoft = "soft"
)

// Correlation keys the nurture engine writes into outgoing mail (SendGrid
// custom args, Mailgun user-variables, Postmark Metadata, Mandrill metadata,
// SES message tags / X-headers) so that provider events can be tied back to
// a contact, flow, step and message.
const (
	MetaContactID = "lt_contact"
	MetaFlow      = "lt_flow"
	MetaStep      = "lt_step"
	MetaMessageID = "lt_message"
)

// Event is the canonical engagement fact (DESIGN.md "The canonical event").
// The fields after MessageID are signals the edge keeps for scoring to judge
// (bot and machine opens, scanner clicks) and context a rep can read.
type Event struct {
	ID         string    `json:"id"`
	Type       Type      `json:"type"`
	Email      string    `json:"email,omitempty"`
	ContactID  string    `json:"contact_id,omitempty"`
	PartnerID  string    `json:"partner_id,omitempty"`
	OccurredAt time.Time `json:"occurred_at"`
	Topic      string    `json:"topic,omitempty"`
	URL        string    `json:"url,omitempty"`
	Value      float64   `json:"value,omitempty"`
	Source     string    `json:"source,omitempty"`
	Flow       string    `json:"flow,omitempty"`
	Step       string    `json:"step,omitempty"`
	MessageID  string    `json:"message_id,omitempty"`
	// Origin says who brought a deal or a purchase: "partner" (the
	// partner found it) or "vendor" (the vendor passed it on); empty when
	// unknown. Only deal.registered, deal.won and purchase take one: the
	// program KPIs compare partner- and vendor-sourced results.
	Origin string `json:"origin,omitempty"`

	// Title is what a person would call the thing engaged with: an email
	// subject, a webinar topic, a page title. Reps read it in reasons to call.
	Title string `json:"title,omitempty"`
	// Tags are provider categories / link tags; topic rules read them.
	Tags []string `json:"tags,omitempty"`
	// Bounce is "hard" or "soft" on email.bounce events.
	Bounce string `json:"bounce,omitempty"`
	// Machine is set when the provider itself says the open or click was not
	// a person (Mailgun client-info.bot, SendGrid sg_machine_open, Brevo
	// proxy_open, Apple Mail Privacy Protection...). MachineReason says which.
	Machine       bool   `json:"machine,omitempty"`
	MachineReason string `json:"machine_reason,omitempty"`
	UserAgent     string `json:"user_agent,omitempty"`
	IP            string `json:"ip,omitempty"`
	// DeliveredAt is when the message was delivered, where the provider says
	// so on the same payload; scoring uses it to spot scanner clicks.
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
}

// Origins of deals and purchases (Event.Origin).
const (
	OriginPartner = "partner"
	OriginVendor  = "vendor"
)

// TakesOrigin reports whether events of type t may carry an origin: the
// results of a partner, deals and purchases.
func (t Type) TakesOrigin() bool { return t == DealRegistered || t == DealWon || t == Purchase }

// Limits on free-text fields, so a single event cannot bloat Redis.
// Edges cut descriptive text to MaxTextLen (Truncate) and keep at most
// MaxTags tags rather than refusing a provider's whole batch.
const (
	MaxTextLen  = 2048
	MaxTags     = 32
	maxIDLen    = 512
	maxEmailLen = 254
)

// Truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid event")

// Validate checks the fields every consumer relies on and normalises the
// email (trimmed, lower-cased). It names the first offending field.
func (e *Event) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
	}
	if e.ID == "" {
		return bad("id", "required")
	}
	if len(e.ID) > maxIDLen {
		return bad("id", "longer than %d bytes", maxIDLen)
	}
	if !e.Type.Valid() {
		return bad("type", "unknown type %q", e.Type)
	}
	if e.ContactID == "" && e.Email == "" {
		return bad("email", "one of contact_id or email is required")
	}
	if e.Email != "" {
		norm, err := NormalizeEmail(e.Email)
		if err != nil {
			return bad("email", "%v", err)
		}
		e.Email = norm
	}
	if e.OccurredAt.IsZero() {
		return bad("occurred_at", "required")
	}
	switch {
	case e.Type == NurtureScore && (e.Value == 0 || math.Abs(e.Value) > MaxNurturePoints):
		return bad("value", "the points of a nurture.score event must be non-zero and within ±%d", MaxNurturePoints)
	case e.Type != NurtureScore && e.Value < 0:
		return bad("value", "must not be negative")
	}
	for name, v := range map[string]string{"url": e.URL, "title": e.Title, "user_agent": e.UserAgent, "topic": e.Topic} {
		if len(v) > MaxTextLen {
			return bad(name, "longer than %d bytes", MaxTextLen)
		}
	}
	if len(e.Tags) > MaxTags {
		return bad("tags", "more than %d tags", MaxTags)
	}
	if e.Origin != "" {
		if e.Origin != OriginPartner && e.Origin != OriginVendor {
			return bad("origin", "%q is not %q or %q", e.Origin, OriginPartner, OriginVendor)
		}
		if !e.Type.TakesOrigin() {
			return bad("origin", "only %s, %s and %s events take an origin, not %s", DealRegistered, DealWon, Purchase, e.Type)
		}
	}
	if e.Bounce != "" && e.Bounce != BounceHard && e.Bounce != BounceSoft {
		return bad("bounce", "must be %q or %q", BounceHard, BounceSoft)
	}
	return nil
}

// NormalizeEmail trims and lower-cases an address after checking it parses
// as a bare addr-spec. Lookups by email are case-insensitive everywhere.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", errors.New("empty address")
	}
	if len(s) > maxEmailLen {
		return "", fmt.Errorf("address longer than %d bytes", maxEmailLen)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", fmt.Errorf("%q is not a valid address", s)
	}
	if !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") && !strings.HasSuffix(s, "@localhost") {
		return "", fmt.Errorf("%q has no domain", s)
	}
	return s, nil
}

// HashID builds the deterministic id of a fact that carries no provider event
// id: source ":" then hex SHA-256 of the identifying fields joined by NUL,
// truncated to 32 hex digits (128 bits, ample against collisions).
func HashID(source string, fields ...string) string {
	h := sha256.New()
	for i, f := range fields {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(f))
	}
	return source + ":" + hex.EncodeToString(h.Sum(nil))[:32]
}
