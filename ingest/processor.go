package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/longtailhq/longtail/activity"
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

// Config configures a Processor.
type Config struct {
	// DropUnknownContacts drops events whose email no contact has, instead
	// of creating the contact under the unassigned partner. Default false.
	DropUnknownContacts bool
	// Observer, if set, hears what Process did with every event (package
	// metrics counts them). Nil observes nothing.
	Observer Observer
	// Activity, if set, records the events that scored (not duplicates)
	// for the ops pages, once per batch (package activity). Nil records
	// nothing.
	Activity Activity
}

// Activity records scored events for the ops pages' series
// (*activity.Store implements it).
type Activity interface {
	Record(ctx context.Context, evs []activity.Scored) error
}

// Observer hears the fate of each event Process handles, on Process's
// goroutine: implementations must be cheap and safe for concurrent use.
// An event retried after a crash reaches EventScored again as a
// duplicate, so counting the non-duplicates counts each event once.
type Observer interface {
	// EventScored: ev reached scoring; r says whether it was a duplicate
	// and what it earned.
	EventScored(ev event.Event, r scoring.EventResult)
	// EventDropped: ev found no contact (DropUnknownContacts).
	EventDropped(ev event.Event)
}

// Processor applies batches of events: contact resolution, then one
// scoring step per contact. It is safe for concurrent use.
type Processor struct {
	cfg    Config
	dir    Directory
	scorer Scorer
	stats  struct{ applied, duplicates, created, dropped, crossings atomic.Int64 }
}

// NewProcessor checks its collaborators.
func NewProcessor(cfg Config, dir Directory, scorer Scorer) (*Processor, error) {
	if dir == nil || scorer == nil {
		return nil, errors.New("ingest: directory and scorer are required")
	}
	return &Processor{cfg: cfg, dir: dir, scorer: scorer}, nil
}

// Stats counts what the processor did since it started.
type Stats struct {
	Applied, Duplicates, ContactsCreated, Dropped, Crossings int64
}

// Stats returns the counters.
func (p *Processor) Stats() Stats {
	return Stats{p.stats.applied.Load(), p.stats.duplicates.Load(), p.stats.created.Load(), p.stats.dropped.Load(), p.stats.crossings.Load()}
}

// Result is what one Process did.
type Result struct {
	// Contacts has one entry per contact the batch reached, in the order
	// the contacts first appear in it.
	Contacts []ContactResult
	// Crossings are the partners' pending threshold crossings, each once:
	// hand each off (idempotently, by Crossing.HandoffID), then call
	// AckCrossing. A crossing comes back from every Process that touches
	// its partner until it is acknowledged.
	Crossings []scoring.Crossing
	// Dropped counts the events no contact could be found for.
	Dropped int
}

// ContactResult is what a batch did to one contact.
type ContactResult struct {
	ContactID string
	PartnerID string
	// Events are the contact's events of the batch in their order, with
	// ContactID and PartnerID (and Email, when it was empty) resolved.
	Events []event.Event
	// Scored is the scoring engine's judgement: for each event (by id)
	// whether it was a duplicate, its points or why it scored none; the
	// scores after the batch; the partner's pending crossing, if any.
	Scored *scoring.Result
}

type group struct {
	target scoring.Target
	events []event.Event
}

// Process applies evs and reports what happened. It is safe to run again
// with the same events (a retried task): scoring deduplicates by event id,
// and an unacknowledged crossing is reported again under the same identity.
func (p *Processor) Process(ctx context.Context, evs []event.Event) (*Result, error) {
	groups, dropped, err := p.resolve(ctx, evs)
	if err != nil {
		return nil, err
	}
	batches := make([]scoring.Batch, len(groups))
	for i, g := range groups {
		batches[i] = scoring.Batch{Target: g.target, Events: g.events}
	}
	// One pipelined round trip for the whole request; each contact's step
	// is still atomic on its own, and a retry finds applied events as
	// duplicates.
	scored, err := p.scorer.ApplyBatch(ctx, batches)
	if err != nil {
		return nil, fmt.Errorf("score %d contacts: %w", len(batches), err)
	}
	res := &Result{Contacts: make([]ContactResult, len(groups)), Dropped: len(dropped)}
	if p.cfg.Observer != nil {
		// Heard only once the batch scored: a failed batch is retried and
		// drops its events again.
		for _, ev := range dropped {
			p.cfg.Observer.EventDropped(ev)
		}
	}
	seen := map[string]bool{}
	var fresh []activity.Scored
	for i, r := range scored {
		g := groups[i]
		res.Contacts[i] = ContactResult{ContactID: g.target.ContactID, PartnerID: g.target.PartnerID, Events: g.events, Scored: r}
		for j, er := range r.Events {
			if p.cfg.Observer != nil && j < len(g.events) {
				p.cfg.Observer.EventScored(g.events[j], er)
			}
			if er.Duplicate {
				p.stats.duplicates.Add(1)
			} else {
				p.stats.applied.Add(1)
				if p.cfg.Activity != nil && j < len(g.events) {
					ev := g.events[j]
					fresh = append(fresh, activity.Scored{Type: ev.Type, Topic: ev.Topic, OccurredAt: ev.OccurredAt, Points: er.Points})
				}
			}
		}
		// Contacts of one partner all report its pending crossing.
		if c := r.Crossing; c != nil && !seen[c.HandoffID()] {
			seen[c.HandoffID()] = true
			res.Crossings = append(res.Crossings, *c)
			if c.New {
				p.stats.crossings.Add(1)
			}
		}
	}
	if len(fresh) > 0 {
		// After scoring, so only events that scored count; a failure
		// here fails the batch, whose retry finds them duplicates: the
		// counts are lost, never doubled, and crossings are reported
		// again.
		if err := p.cfg.Activity.Record(ctx, fresh); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// AckCrossing records that the hand-off of c is durably queued: Process
// stops reporting it.
func (p *Processor) AckCrossing(ctx context.Context, c scoring.Crossing) error {
	if _, err := p.scorer.AckCrossing(ctx, c.PartnerID, c.Seq); err != nil {
		return fmt.Errorf("ack crossing of partner %s: %w", c.PartnerID, err)
	}
	return nil
}

// resolve finds each event's contact and partner and groups the batch by
// contact, keeping event order within a group. It returns the events that
// found no contact.
func (p *Processor) resolve(ctx context.Context, evs []event.Event) ([]*group, []event.Event, error) {
	byContact := map[string]*group{}
	var order []*group
	contacts := map[string]directory.Contact{} // by "id:" or "email:" key
	partners := map[string]directory.Partner{}
	var dropped []event.Event
	for _, ev := range evs {
		c, ok, err := p.contactFor(ctx, ev, contacts)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			p.stats.dropped.Add(1)
			dropped = append(dropped, ev)
			continue
		}
		g := byContact[c.ID]
		if g == nil {
			part, ok := partners[c.PartnerID]
			if !ok {
				part, err = p.dir.GetPartner(ctx, c.PartnerID)
				if err != nil && !errors.Is(err, directory.ErrNotFound) {
					return nil, nil, fmt.Errorf("partner %s: %w", c.PartnerID, err)
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
	return order, dropped, nil
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
		// An id that breaks the id rule was never issued: like an unknown
		// one, not a failure a retry could fix.
		case !errors.Is(err, directory.ErrNotFound) && !errors.Is(err, directory.ErrInvalid):
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
