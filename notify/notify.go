// Package notify tells reps and outside systems about hand-offs. It builds
// a rep's message from a call-queue entry and the rep's record, and picks
// how the rep wants to hear of it (RepNotifier); renders the hand-off email
// and the daily digest from the templates in the top-level templates folder
// (Renderer); sends each email at most once through package sendonce; and
// delivers signed webhooks for hand-offs and their outcomes
// (WebhookSender).
//
// Handoff, Outcome and Rep are the messages' own inputs, also the JSON of
// the webhooks. When to run and retry belongs to the jobs package, which
// only adapts its tasks to the calls here.
package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"
)

// ErrInvalid marks input that cannot be rendered or sent as given; no
// retry can fix it.
var ErrInvalid = errors.New("invalid notification")

// Handoff is one partner entering a rep's call queue. Its JSON form is the
// data of a handoff.created webhook and part of the notification task.
type Handoff struct {
	RepID    string `json:"rep_id"`
	RepName  string `json:"rep_name"`
	RepEmail string `json:"rep_email"`
	// Locale picks the template ("fr", "fr-CA", "en"); unknown or empty
	// falls back to en.
	Locale       string    `json:"locale,omitempty"`
	PartnerID    string    `json:"partner_id"`
	PartnerName  string    `json:"partner_name"`
	ContactName  string    `json:"contact_name,omitempty"`
	ContactEmail string    `json:"contact_email,omitempty"`
	ContactPhone string    `json:"contact_phone,omitempty"`
	Persona      string    `json:"persona,omitempty"`
	Score        float64   `json:"score"`
	Segment      string    `json:"segment,omitempty"`
	Reasons      []string  `json:"reasons"`
	QueuedAt     time.Time `json:"queued_at"`
	DueAt        time.Time `json:"due_at,omitzero"`
	// PageURL is the absolute http(s) link to the partner's page.
	PageURL string `json:"page_url"`
}

// ID is the hand-off's stable identity: the same partner queued to the
// same rep at the same instant. The email's Message-ID and the webhook's
// delivery id derive from it, so a retry is recognisably the same message.
func (h Handoff) ID() string {
	return digest(h.PartnerID, h.RepID, h.QueuedAt.UTC().Format(time.RFC3339Nano))
}

// Outcome is what a rep recorded after a call.
type Outcome struct {
	RepID     string `json:"rep_id"`
	PartnerID string `json:"partner_id"`
	// Outcome is the rep queue's outcome name (e.g. "connected",
	// "no-answer", "deal").
	Outcome string    `json:"outcome"`
	Note    string    `json:"note,omitempty"`
	Value   float64   `json:"value,omitempty"`
	At      time.Time `json:"at"`
}

// ID is the outcome's stable identity.
func (o Outcome) ID() string {
	return digest(o.PartnerID, o.RepID, o.Outcome, o.At.UTC().Format(time.RFC3339Nano),
		strconv.FormatFloat(o.Value, 'g', -1, 64), o.Note)
}

// Rep addresses a digest.
type Rep struct {
	ID, Name, Email string
	// Locale as in Handoff.
	Locale string
}

// digest hashes fields with a separator no id contains, so ("a","bc") and
// ("ab","c") differ.
func digest(fields ...string) string {
	h := sha256.New()
	for _, f := range fields {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}
