package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/scoring"
)

// Directory is what the processor needs of the partner directory.
type Directory interface {
	GetContact(ctx context.Context, id string) (directory.Contact, error)
	ContactByEmail(ctx context.Context, email string) (directory.Contact, error)
	EnsureContact(ctx context.Context, email string) (directory.Contact, bool, error)
	GetPartner(ctx context.Context, id string) (directory.Partner, error)
	UnassignedPartnerID() string
}

// Scorer is what the processor needs of the scoring engine.
type Scorer interface {
	ApplyBatch(ctx context.Context, batches []scoring.Batch) ([]*scoring.Result, error)
	AckCrossing(ctx context.Context, partnerID string, seq int64) (bool, error)
}

// Handoffs durably queues the hand-off of a crossing. It must be
// idempotent per Crossing.HandoffID.
type Handoffs interface {
	Handoff(ctx context.Context, c scoring.Crossing) error
}

// Config configures a Processor.
type Config struct {
	// DropUnknownContacts drops events whose email no contact has, instead
	// of creating the contact under the unassigned partner. Default false.
	DropUnknownContacts bool
}

// Processor applies batches of events: contact resolution, then one
// scoring step per contact, then hand-off of any threshold crossing.
type Processor struct {
	cfg      Config
	dir      Directory
	scorer   Scorer
	handoffs Handoffs
	stats    struct{ applied, duplicates, created, dropped, crossings atomic.Int64 }
}

// NewProcessor checks its collaborators.
func NewProcessor(cfg Config, dir Directory, scorer Scorer, handoffs Handoffs) (*Processor, error) {
	if dir == nil || scorer == nil || handoffs == nil {
		return nil, errors.New("ingest: directory, scorer and handoffs are required")
	}
	return &Processor{cfg: cfg, dir: dir, scorer: scorer, handoffs: handoffs}, nil
}

// Stats counts what the processor did since it started.
type Stats struct {
	Applied, Duplicates, ContactsCreated, Dropped, Crossings int64
}

// Stats returns the counters.
func (p *Processor) Stats() Stats {
	return Stats{p.stats.applied.Load(), p.stats.duplicates.Load(), p.stats.created.Load(), p.stats.dropped.Load(), p.stats.crossings.Load()}
}

type group struct {
	target scoring.Target
	events []event.Event
}

// Process applies evs. It is safe to run again with the same events (a
// retried task): scoring deduplicates by event id and a pending crossing
// is handed off again under the same identity.
func (p *Processor) Process(ctx context.Context, evs []event.Event) error {
	groups, err := p.resolve(ctx, evs)
	if err != nil {
		return err
	}
	batches := make([]scoring.Batch, len(groups))
	for i, g := range groups {
		batches[i] = scoring.Batch{Target: g.target, Events: g.events}
	}
	// One pipelined round trip for the whole request; each contact's step
	// is still atomic on its own, and a retry finds applied events as
	// duplicates.
	results, err := p.scorer.ApplyBatch(ctx, batches)
	if err != nil {
		return fmt.Errorf("score %d contacts: %w", len(batches), err)
	}
	for _, res := range results {
		for _, r := range res.Events {
			if r.Duplicate {
				p.stats.duplicates.Add(1)
			} else {
				p.stats.applied.Add(1)
			}
		}
		if c := res.Crossing; c != nil {
			if err := p.handoffs.Handoff(ctx, *c); err != nil {
				return fmt.Errorf("hand off partner %s: %w", c.PartnerID, err)
			}
			if _, err := p.scorer.AckCrossing(ctx, c.PartnerID, c.Seq); err != nil {
				return fmt.Errorf("ack crossing of partner %s: %w", c.PartnerID, err)
			}
			if c.New {
				p.stats.crossings.Add(1)
			}
		}
	}
	return nil
}

// resolve finds each event's contact and partner and groups the batch by
// contact, keeping event order within a group.
func (p *Processor) resolve(ctx context.Context, evs []event.Event) ([]*group, error) {
	byContact := map[string]*group{}
	var order []*group
	contacts := map[string]directory.Contact{} // by "id:" or "email:" key
	partners := map[string]directory.Partner{}
	for _, ev := range evs {
		c, ok, err := p.contactFor(ctx, ev, contacts)
		if err != nil {
			return nil, err
		}
		if !ok {
			p.stats.dropped.Add(1)
			continue
		}
		g := byContact[c.ID]
		if g == nil {
			part, ok := partners[c.PartnerID]
			if !ok {
				part, err = p.dir.GetPartner(ctx, c.PartnerID)
				if err != nil && !errors.Is(err, directory.ErrNotFound) {
					return nil, fmt.Errorf("partner %s: %w", c.PartnerID, err)
				}
				partners[c.PartnerID] = part
			}
			g = &group{target: scoring.Target{
				PartnerID: c.PartnerID, ContactID: c.ID, Persona: c.Persona,
				PartnerType: part.Type, Tier: part.Tier,
				NoRollup: c.PartnerID == p.dir.UnassignedPartnerID(),
			}}
			byContact[c.ID] = g
			order = append(order, g)
		}
		ev.ContactID, ev.PartnerID = c.ID, c.PartnerID
		if ev.Email == "" {
			ev.Email = c.Email
		}
		g.events = append(g.events, ev)
	}
	return order, nil
}

func (p *Processor) contactFor(ctx context.Context, ev event.Event, cache map[string]directory.Contact) (directory.Contact, bool, error) {
	if ev.ContactID != "" {
		if c, ok := cache["id:"+ev.ContactID]; ok {
			return c, true, nil
		}
		c, err := p.dir.GetContact(ctx, ev.ContactID)
		switch {
		case err == nil:
			cache["id:"+ev.ContactID] = c
			return c, true, nil
		case !errors.Is(err, directory.ErrNotFound):
			return c, false, fmt.Errorf("contact %s: %w", ev.ContactID, err)
		case ev.Email == "":
			// An id we never issued and no address: nobody to credit.
			return c, false, nil
		}
	}
	key := "email:" + ev.Email
	if c, ok := cache[key]; ok {
		return c, true, nil
	}
	c, err := p.dir.ContactByEmail(ctx, ev.Email)
	switch {
	case err == nil:
	case !errors.Is(err, directory.ErrNotFound):
		return c, false, fmt.Errorf("contact by email: %w", err)
	case p.cfg.DropUnknownContacts:
		return c, false, nil
	default:
		var created bool
		c, created, err = p.dir.EnsureContact(ctx, ev.Email)
		if err != nil {
			return c, false, fmt.Errorf("create contact: %w", err)
		}
		if created {
			p.stats.created.Add(1)
		}
	}
	cache[key] = c
	return c, true, nil
}
