package nurture

import (
	"context"
	"errors"
	"fmt"
)

// SuppressedProgramExit is the suppression reason of a partner the
// partner program let go (the "let go" action's last re-engagement flow
// ended unanswered): every contact of the partner is suppressed with it
// until someone keeps the partner. It lives beside scoring's reasons
// (hard_bounce, spam, unsubscribe), never in their place: lifting it
// leaves those, and a withdrawn consent, as they were.
const SuppressedProgramExit = "program_exit"

// PartnerExits tells whether the program let the partner go
// (*program/store.Store).
type PartnerExits interface {
	Exited(ctx context.Context, partnerID string) (bool, error)
}

// partnerExitsMany reads many partners at once (*program/store.Store).
type partnerExitsMany interface {
	ExitedMany(ctx context.Context, partnerIDs []string) ([]bool, error)
}

// withExits is Suppressions with the program_exit reason after scoring's.
type withExits struct {
	supp  Suppressions
	exits PartnerExits
}

// WithExits adds the program_exit suppression to supp: a contact of a
// partner the program let go is suppressed with reason program_exit,
// unless supp already has a reason for it (the person's own choice, an
// unsubscribe, comes first and outlives a keep).
func WithExits(supp Suppressions, exits PartnerExits) (Suppressions, error) {
	if supp == nil || exits == nil {
		return nil, errors.New("nurture: WithExits needs the suppressions and the partner exits")
	}
	return withExits{supp: supp, exits: exits}, nil
}

// Suppressed implements Suppressions.
func (w withExits) Suppressed(ctx context.Context, partnerID, contactID string) (string, error) {
	sup, err := w.supp.Suppressed(ctx, partnerID, contactID)
	if err != nil || sup != "" {
		return sup, err
	}
	exited, err := w.exits.Exited(ctx, partnerID)
	if err != nil || !exited {
		return "", err
	}
	return SuppressedProgramExit, nil
}

// SuppressedMany is Suppressed for many contacts, in a pipeline per
// source when both can read many at once.
func (w withExits) SuppressedMany(ctx context.Context, partnerIDs, contactIDs []string) ([]string, error) {
	sm, ok1 := w.supp.(suppressionsMany)
	em, ok2 := w.exits.(partnerExitsMany)
	if !ok1 || !ok2 {
		out := make([]string, len(contactIDs))
		for i := range contactIDs {
			s, err := w.Suppressed(ctx, partnerIDs[i], contactIDs[i])
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	}
	out, err := sm.SuppressedMany(ctx, partnerIDs, contactIDs)
	if err != nil {
		return nil, err
	}
	exited, err := em.ExitedMany(ctx, partnerIDs)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if out[i] == "" && exited[i] {
			out[i] = SuppressedProgramExit
		}
	}
	return out, nil
}

// EnrollPartner enrols every contact of the partner in the flow (the "let
// go" action's explicit enrolment), once each: a contact already in it,
// or one that ended it and may not enter again, stays as it is; one the
// gate refuses is left out. It returns the steps to schedule.
func (e *Engine) EnrollPartner(ctx context.Context, flowID, pid string) ([]Next, error) {
	f, ok := e.Library().Flows.Get(flowID)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownFlow, flowID)
	}
	pd, ok := e.cfg.Dir.(PartnerDirectory)
	if !ok {
		return nil, errors.New("nurture: the directory cannot list a partner's contacts")
	}
	contacts, err := pd.ContactsOfPartner(ctx, pid)
	if err != nil {
		return nil, fmt.Errorf("nurture: contacts of %s: %w", pid, err)
	}
	var out []Next
	for _, c := range contacts {
		r, err := e.enroll(ctx, f, c, true)
		var nm *NotMailableError
		if errors.As(err, &nm) {
			continue
		}
		if err != nil {
			return out, err
		}
		if r.Next != nil {
			out = append(out, *r.Next)
		}
	}
	return out, nil
}

// PartnerEnrollments lists the enrollments of the partner's contacts in
// the flow, ended ones included.
func (e *Engine) PartnerEnrollments(ctx context.Context, flowID, pid string) ([]*Enrollment, error) {
	list, err := e.cfg.Store.OfPartner(ctx, pid, "")
	if err != nil {
		return nil, err
	}
	out := list[:0]
	for _, en := range list {
		if en.Flow == flowID {
			out = append(out, en)
		}
	}
	return out, nil
}

// EndPartnerFlow ends the running enrollments of the partner's contacts
// in the flow (reason), counted as exited.
func (e *Engine) EndPartnerFlow(ctx context.Context, flowID, pid, reason string) error {
	list, err := e.PartnerEnrollments(ctx, flowID, pid)
	if err != nil {
		return err
	}
	return e.endAll(ctx, list, reason, CountExited)
}

// ended tells EngineConfig.Ended that en is over (en as it was read
// before the commit that ended it: its flow, contact and partner). Called after every
// commit that ends an enrollment, and again whenever a step task finds
// its enrollment over, so a hook that failed is retried with the task.
func (e *Engine) ended(ctx context.Context, en *Enrollment) error {
	if e.cfg.Ended == nil {
		return nil
	}
	return e.cfg.Ended(ctx, en)
}
