// Package nurture will run persona-based email sequences. Its first piece
// is the gate every send must pass: one answer to "may this contact be
// mailed now?", combining consent, suppression and the rep call queue.
package nurture

import (
	"context"
	"errors"
	"fmt"

	"github.com/longtailhq/longtail/directory"
)

// Contacts finds a contact.
type Contacts interface {
	GetContact(ctx context.Context, id string) (directory.Contact, error)
}

// Suppressions tells whether scoring saw a hard bounce, a spam complaint
// or an unsubscribe for the contact ("" when none).
type Suppressions interface {
	Suppressed(ctx context.Context, partnerID, contactID string) (string, error)
}

// CallQueue tells whether the rep queue holds the partner's nurture:
// queued or claimed for a call, in a cooldown, or not a fit.
type CallQueue interface {
	MayMail(ctx context.Context, partnerID, contactID string) (bool, string, error)
}

// Decision is the gate's answer; Reason says why a send may not go.
type Decision struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason,omitempty"`
}

// Reasons a contact may not be mailed (besides those of the call queue).
const (
	ReasonUnknownContact   = "unknown_contact"
	ReasonConsentWithdrawn = "consent_withdrawn"
	ReasonSuppressed       = "suppressed"
)

// Gate is the one check before every nurture send.
type Gate struct {
	contacts Contacts
	supp     Suppressions
	queue    CallQueue
}

// NewGate checks its collaborators.
func NewGate(c Contacts, s Suppressions, q CallQueue) (*Gate, error) {
	if c == nil || s == nil || q == nil {
		return nil, errors.New("nurture: gate needs contacts, suppressions and the call queue")
	}
	return &Gate{contacts: c, supp: s, queue: q}, nil
}

// MayMail answers for the contact now. Order matters only for the reason
// given: the person's own choices (consent, unsubscribe) come first, then
// what the reps are doing with the partner.
func (g *Gate) MayMail(ctx context.Context, contactID string) (Decision, error) {
	c, err := g.contacts.GetContact(ctx, contactID)
	if errors.Is(err, directory.ErrNotFound) {
		return Decision{Reason: ReasonUnknownContact}, nil
	}
	if err != nil {
		return Decision{}, fmt.Errorf("nurture: contact %s: %w", contactID, err)
	}
	return g.MayMailContact(ctx, c)
}

// MayMailContact is MayMail for a contact the caller has just read, so
// that enrolling reads it once. The sends' last check before DATA asks
// MayMail, which reads the contact as it is then.
func (g *Gate) MayMailContact(ctx context.Context, c directory.Contact) (Decision, error) {
	if c.Consent == directory.ConsentWithdrawn {
		return decide(c, "", true, ""), nil
	}
	sup, err := g.supp.Suppressed(ctx, c.PartnerID, c.ID)
	if err != nil {
		return Decision{}, fmt.Errorf("nurture: suppression of %s: %w", c.ID, err)
	}
	if sup != "" {
		return decide(c, sup, true, ""), nil
	}
	ok, why, err := g.queue.MayMail(ctx, c.PartnerID, c.ID)
	if err != nil {
		return Decision{}, fmt.Errorf("nurture: call queue of %s: %w", c.PartnerID, err)
	}
	return decide(c, sup, ok, why), nil
}

// decide is the gate's rule, from what it read: the contact, its
// suppression ("" for none) and the call queue's answer.
func decide(c directory.Contact, sup string, queueOK bool, why string) Decision {
	switch {
	case c.Consent == directory.ConsentWithdrawn:
		return Decision{Reason: ReasonConsentWithdrawn}
	case sup != "":
		return Decision{Reason: ReasonSuppressed + ": " + sup}
	case !queueOK:
		return Decision{Reason: why}
	}
	return Decision{Allowed: true}
}
