package nurture

import (
	"context"
	"errors"
	"fmt"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/nurture/flow"
)

// PartnerDirectory lists a partner's contacts; *directory.Store implements
// it. Optional in EngineConfig.Dir: partner-wide triggers need it.
type PartnerDirectory interface {
	ContactsOfPartner(ctx context.Context, partnerID string) ([]directory.Contact, error)
}

// Reasons a partner's enrollments end on a rep's outcome.
const (
	ReasonConverted = "converted"
	ReasonNotAFit   = "not_a_fit"
)

// TriggerPartner fires cause (a segment entered, a recycled hand-off) for
// every contact of the partner: each contact in a flow's audience is
// enrolled once (see Trigger).
func (e *Engine) TriggerPartner(ctx context.Context, pid string, cause flow.Cause) ([]Next, error) {
	pd, ok := e.cfg.Dir.(PartnerDirectory)
	if !ok {
		return nil, errors.New("nurture: the directory cannot list a partner's contacts")
	}
	// Nothing to read when no flow listens for this cause.
	listens := false
	for _, f := range e.Library().Flows.Flows() {
		if f.TriggeredBy(cause) {
			listens = true
			break
		}
	}
	if !listens {
		return nil, nil
	}
	contacts, err := pd.ContactsOfPartner(ctx, pid)
	if err != nil {
		return nil, fmt.Errorf("nurture: contacts of %s: %w", pid, err)
	}
	// Every contact at once: the contacts, the gate's facts and the
	// enrollments are read in pipelines (TriggerMany).
	ids := make([]string, len(contacts))
	for i, c := range contacts {
		ids[i] = c.ID
	}
	return e.TriggerMany(ctx, ids, cause)
}

// EndPartner ends every running enrollment of the partner's contacts
// (reason: converted or not_a_fit), counted as exited.
func (e *Engine) EndPartner(ctx context.Context, pid, reason string) error {
	return e.endRunning(ctx, pid, "", reason, CountExited)
}

// Recycled is what follows a rep outcome that sends the partner back to
// nurture: its paused enrollments resume (the gate still holds a not-now
// cooldown: they pause again until it ends), and the handoff.recycled
// trigger enrols its contacts in the flows that listen for it.
func (e *Engine) Recycled(ctx context.Context, pid string) ([]Next, error) {
	out, err := e.ResumePartner(ctx, pid)
	if err != nil {
		return out, err
	}
	next, err := e.TriggerPartner(ctx, pid, flow.Cause{Kind: flow.TriggerHandoffRecycled})
	// A resumed enrollment the trigger finds again answers with the same
	// schedule: listed once.
	seen := map[string]bool{}
	for _, n := range out {
		seen[n.ID()] = true
	}
	for _, n := range next {
		if !seen[n.ID()] {
			seen[n.ID()] = true
			out = append(out, n)
		}
	}
	return out, err
}
