package nurture

import (
	"context"
	"errors"
	"fmt"

	"github.com/longtailhq/longtail/directory"
)

// ContactStore reads and writes contacts: the directory.
type ContactStore interface {
	GetContact(ctx context.Context, id string) (directory.Contact, error)
	PutContact(ctx context.Context, c directory.Contact) (directory.Contact, bool, error)
}

// Optout is the person's side of the gate: an unsubscribe withdraws the
// contact's consent in the directory, which the Gate reads before every
// send, so it holds from the moment Unsubscribe returns. (The
// email.unsubscribe event that scoring, the timeline and enrolments see
// is recorded by the caller.)
type Optout struct {
	dir ContactStore
}

// NewOptout checks its collaborator.
func NewOptout(dir ContactStore) (*Optout, error) {
	if dir == nil {
		return nil, errors.New("nurture: optout needs the contact store")
	}
	return &Optout{dir: dir}, nil
}

// maxWithdrawAttempts bounds the read-write rounds of Unsubscribe; more
// than one is needed only when another writer stored an older copy of the
// contact between our read and our write.
const maxWithdrawAttempts = 3

// Unsubscribe withdraws the contact's consent to nurture email. It is
// idempotent; an unknown contact (deleted since the email went out) has
// nothing to withdraw and is not an error.
//
// The directory has no single-field update, so this reads the contact,
// writes it back withdrawn, and reads again until it sees the withdrawal
// (a concurrent upsert of an older copy would otherwise undo it).
func (o *Optout) Unsubscribe(ctx context.Context, contactID string) error {
	for range maxWithdrawAttempts {
		c, err := o.dir.GetContact(ctx, contactID)
		if errors.Is(err, directory.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("nurture: unsubscribe %s: %w", contactID, err)
		}
		if c.Consent == directory.ConsentWithdrawn {
			return nil
		}
		c.Consent = directory.ConsentWithdrawn
		if _, _, err := o.dir.PutContact(ctx, c); err != nil {
			return fmt.Errorf("nurture: unsubscribe %s: %w", contactID, err)
		}
	}
	return fmt.Errorf("nurture: unsubscribe %s: the contact changed under %d attempts to withdraw its consent", contactID, maxWithdrawAttempts)
}

// Locale is the contact's locale ("fr", "fr-CA"), or "" when the contact
// has none or is unknown: the language of the unsubscribe page.
func (o *Optout) Locale(ctx context.Context, contactID string) (string, error) {
	c, err := o.dir.GetContact(ctx, contactID)
	if errors.Is(err, directory.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("nurture: contact %s: %w", contactID, err)
	}
	return c.Locale, nil
}
