package nurture

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/nurture/flow"
)

// contactGate is a gate that can answer for a contact already read; *Gate
// is one. Enrolling uses it so that the contact is read once.
type contactGate interface {
	MayMailContact(ctx context.Context, c directory.Contact) (Decision, error)
}

// mayMail asks the gate about c, without reading c again when it can.
func (e *Engine) mayMail(ctx context.Context, c directory.Contact) (Decision, error) {
	if g, ok := e.cfg.Gate.(contactGate); ok {
		return g.MayMailContact(ctx, c)
	}
	return e.cfg.Gate.MayMail(ctx, c.ID)
}

// contactsReader reads many contacts at once; *directory.Store is one.
type contactsReader interface {
	GetContacts(ctx context.Context, ids []string) ([]directory.Contact, []error, error)
}

// getContacts reads the contacts in a pipeline when the directory can, else
// one at a time (overlapped).
func (e *Engine) getContacts(ctx context.Context, ids []string) ([]directory.Contact, []error, error) {
	if d, ok := e.cfg.Dir.(contactsReader); ok {
		return d.GetContacts(ctx, ids)
	}
	out, errs := make([]directory.Contact, len(ids)), make([]error, len(ids))
	parallel(len(ids), func(i int) { out[i], errs[i] = e.cfg.Dir.GetContact(ctx, ids[i]) })
	return out, errs, nil
}

// contactsGate answers for many contacts already read; *Gate is one.
type contactsGate interface {
	MayMailContacts(ctx context.Context, cs []directory.Contact) ([]Decision, error)
}

// mayMailMany asks the gate about cs[i] for each i of which, in one batch
// when it can, else one at a time (overlapped); errs are per contact.
func (e *Engine) mayMailMany(ctx context.Context, cs []directory.Contact, which []int) ([]Decision, []error, error) {
	errs := make([]error, len(which))
	if g, ok := e.cfg.Gate.(contactsGate); ok {
		sel := make([]directory.Contact, len(which))
		for k, i := range which {
			sel[k] = cs[i]
		}
		d, err := g.MayMailContacts(ctx, sel)
		return d, errs, err
	}
	d := make([]Decision, len(which))
	parallel(len(which), func(k int) { d[k], errs[k] = e.mayMail(ctx, cs[which[k]]) })
	return d, errs, nil
}

// EnrollResult is one contact's answer of EnrollMany: what Enroll would
// have answered for it (Err as Enroll's error).
type EnrollResult struct {
	Enrolled
	Err error
}

// batchWorkers is how many of a batch's contacts are read and gated at
// once: those reads go to the directory, scoring and the call queue one
// contact at a time, so overlapping them is what hides their round trips.
const batchWorkers = 16

// EnrollMany is Enroll for many contacts of one flow, in batches: the
// enrollments are read in one pipeline, the new ones committed in one
// pipeline of the same commit script, and the funnel counted once, so a
// trigger that enrols thousands (a segment, the demo) costs a few round
// trips per batch instead of ten per contact. Each contact gets the answer
// Enroll would give it (out[i] answers contactIDs[i]): the same
// guarantees, enrolled once however often it is named, the gate and the
// flow's reentry respected. err is for the flow, or Redis as a whole.
func (e *Engine) EnrollMany(ctx context.Context, flowID string, contactIDs []string) ([]EnrollResult, error) {
	f, ok := e.Library().Flows.Get(flowID)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownFlow, flowID)
	}
	out := make([]EnrollResult, len(contactIDs))
	contacts, errs, err := e.getContacts(ctx, contactIDs)
	if err != nil {
		return nil, err
	}
	for i, err := range errs {
		if errors.Is(err, directory.ErrNotFound) {
			err = fmt.Errorf("%w: %q", ErrUnknownContact, contactIDs[i])
		}
		out[i].Err = err
	}
	var idx []int
	var cs []directory.Contact
	for i := range contactIDs {
		if out[i].Err == nil {
			idx = append(idx, i)
			cs = append(cs, contacts[i])
		}
	}
	res, err := e.enrollBatch(ctx, f, cs, false)
	if err != nil {
		return nil, err
	}
	for k, i := range idx {
		out[i] = res[k]
	}
	return out, nil
}

// enrollBatch is enroll for each contact of cs; mayPause as enroll's (a
// trigger enrols a contact whose partner is only paused).
func (e *Engine) enrollBatch(ctx context.Context, f *flow.Flow, cs []directory.Contact, mayPause bool) ([]EnrollResult, error) {
	out := make([]EnrollResult, len(cs))
	if len(cs) == 0 {
		return out, nil
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = EnrollmentID(c.PartnerID, f.ID, c.ID)
	}
	curs, err := e.cfg.Store.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	now := e.now()
	// Those not enrolled, or who may enter again, ask the gate.
	var cand []int
	for i, cur := range curs {
		switch {
		case cur == nil:
			curs[i] = &Enrollment{ID: ids[i], Flow: f.ID, ContactID: cs[i].ID, PartnerID: cs[i].PartnerID}
		case !cur.Status.Over() || !f.Reentry.Allows(cur.EndedAt, now):
			out[i].Enrolled = Enrolled{Enrollment: cur, Next: e.schedule(cur)}
			continue
		}
		cand = append(cand, i)
	}
	decisions, errs, err := e.mayMailMany(ctx, cs, cand)
	if err != nil {
		return nil, err
	}
	first := f.First()
	var commits []Commit
	var committing []int
	for k, i := range cand {
		switch {
		case errs[k] != nil:
			out[i].Err = errs[k]
		case refusesEnrolment(decisions[k], mayPause):
			out[i].Err = &NotMailableError{Reason: decisions[k].Reason}
		default:
			commits = append(commits, Commit{E: curs[i], C: Change{Step: first, Status: StatusActive, NextAt: now, EnteredAt: now,
				Done: &HistoryItem{At: now, Step: first, Outcome: "enrolled"}}})
			committing = append(committing, i)
		}
	}
	if len(commits) == 0 {
		return out, nil
	}
	written, cerrs, err := e.cfg.Store.CommitMany(ctx, commits, now)
	if err != nil {
		return nil, err
	}
	var created int64
	for k, i := range committing {
		switch {
		case errors.Is(cerrs[k], ErrMoved):
			// Another trigger (or the same contact twice in this batch)
			// came first: the single path reads it again and answers.
			r, err := e.enroll(ctx, f, cs[i], mayPause)
			out[i] = EnrollResult{Enrolled: r, Err: err}
			continue
		case cerrs[k] != nil:
			out[i].Err = cerrs[k]
			continue
		}
		created++
		en := written[k]
		out[i].Enrolled = Enrolled{Enrollment: en, Created: true, Next: &Next{Task: Task{Enrollment: en.ID, Step: first, Seq: en.Seq}, At: now}}
	}
	if created > 0 {
		if err := e.cfg.Store.CountN(ctx, f.ID, first, CountEntered, created); err != nil {
			e.cfg.Log.Warn().Err(err).Str("flow", f.ID).Str("step", first).Msg("nurture: funnel count")
		}
	}
	return out, nil
}

// parallel runs fn(0..n-1) on up to batchWorkers goroutines and waits.
func parallel(n int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, batchWorkers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// TriggerMany is Trigger for many contacts at once (a segment entered at a
// ranking run, the demo): each contact is enrolled in the flows one of
// causes triggers and whose audience it is in, with the reads and commits
// of each flow's enrolments batched as in EnrollMany. An unknown contact
// and one the gate refuses are not enrolled. It returns the steps to
// schedule, and stops at the first error (what it enrolled before is
// returned too; calling it again is harmless).
func (e *Engine) TriggerMany(ctx context.Context, contactIDs []string, causes ...flow.Cause) ([]Next, error) {
	contacts, errs, err := e.getContacts(ctx, contactIDs)
	if err != nil {
		return nil, err
	}
	// Each partner is read once: a partner's contacts come in together
	// (TriggerPartner).
	var pids []string
	seenPID := map[string]int{}
	for i, c := range contacts {
		if _, ok := seenPID[c.PartnerID]; errs[i] == nil && !ok {
			seenPID[c.PartnerID] = len(pids)
			pids = append(pids, c.PartnerID)
		}
	}
	partners := make([]directory.Partner, len(pids))
	pdErr := make([]error, len(pids))
	parallel(len(pids), func(k int) {
		p, err := e.cfg.Dir.GetPartner(ctx, pids[k])
		if err != nil && !errors.Is(err, directory.ErrNotFound) {
			pdErr[k] = err
			return
		}
		partners[k] = p
	})
	profiles := make([]flow.Profile, len(contacts))
	perr := make([]error, len(contacts))
	parallel(len(contacts), func(i int) {
		if errs[i] != nil {
			return
		}
		k := seenPID[contacts[i].PartnerID]
		if pdErr[k] != nil {
			perr[i] = pdErr[k]
			return
		}
		profiles[i], _, perr[i] = e.cfg.Signals.Profile(ctx, contacts[i], partners[k])
	})
	lib := e.Library()
	var order []*flow.Flow
	members := map[string][]directory.Contact{}
	for i, c := range contacts {
		switch {
		case errors.Is(errs[i], directory.ErrNotFound):
			continue
		case errs[i] != nil:
			return nil, errs[i]
		case perr[i] != nil:
			return nil, perr[i]
		}
		seen := map[string]bool{}
		for _, cause := range causes {
			for _, f := range lib.Flows.Triggered(cause, profiles[i]) {
				if seen[f.ID] {
					continue
				}
				seen[f.ID] = true
				if members[f.ID] == nil {
					order = append(order, f)
				}
				members[f.ID] = append(members[f.ID], c)
			}
		}
	}
	var out []Next
	for _, f := range order {
		res, err := e.enrollBatch(ctx, f, members[f.ID], true)
		if err != nil {
			return out, err
		}
		for _, r := range res {
			var nm *NotMailableError
			switch {
			case errors.As(r.Err, &nm):
				// nobody enrols a contact the gate refuses
			case r.Err != nil:
				return out, r.Err
			case r.Next != nil:
				out = append(out, *r.Next)
			}
		}
	}
	return out, nil
}
