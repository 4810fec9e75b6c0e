package nurture

import (
	"context"
	"errors"
	"fmt"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/nurture/flow"
)

// Errors of Enroll.
var (
	ErrUnknownFlow    = errors.New("nurture: no such flow")
	ErrUnknownContact = errors.New("nurture: no such contact")
)

// NotMailableError: the gate refuses the contact; Reason is its reason.
type NotMailableError struct{ Reason string }

func (e *NotMailableError) Error() string { return "nurture: not mailable: " + e.Reason }

// Enrolled is the answer of Enroll.
type Enrolled struct {
	Enrollment *Enrollment
	// Created is false when the contact was already enrolled (or has ended
	// the flow and may not enter it again yet): Enrollment is that one.
	Created bool
	// Next is the step to schedule: the first one when Created, else the
	// enrollment's current one (nil when it is over or paused). Queueing it
	// again is harmless: its task id is the same.
	Next *Next
}

// Enroll enrols the contact in the flow, once: a contact already in it
// (active, waiting or paused) stays where it is, and one that ended it
// enters again only as the flow's reentry allows. The audience is not
// checked (the API enrols whoever it names; triggers check it first); the
// gate is: a contact that may not be mailed is NotMailableError.
func (e *Engine) Enroll(ctx context.Context, flowID, contactID string) (Enrolled, error) {
	f, ok := e.Library().Flows.Get(flowID)
	if !ok {
		return Enrolled{}, fmt.Errorf("%w: %q", ErrUnknownFlow, flowID)
	}
	c, err := e.cfg.Dir.GetContact(ctx, contactID)
	if errors.Is(err, directory.ErrNotFound) {
		return Enrolled{}, fmt.Errorf("%w: %q", ErrUnknownContact, contactID)
	}
	if err != nil {
		return Enrolled{}, err
	}
	return e.enroll(ctx, f, c, false)
}

// enroll enrols c in f. mayPause (triggers) lets in a contact the gate
// only pauses (its partner with a rep, or in a not-now cooldown): the
// enrollment then pauses at its first step, which is what a flow triggered
// by handoff.recycled during the cooldown expects.
func (e *Engine) enroll(ctx context.Context, f *flow.Flow, c directory.Contact, mayPause bool) (Enrolled, error) {
	id := EnrollmentID(c.PartnerID, f.ID, c.ID)
	for range 3 {
		cur, err := e.cfg.Store.Get(ctx, id)
		switch {
		case errors.Is(err, ErrNoEnrollment):
			cur = &Enrollment{ID: id, Flow: f.ID, ContactID: c.ID, PartnerID: c.PartnerID}
		case err != nil:
			return Enrolled{}, err
		case !cur.Status.Over() || !f.Reentry.Allows(cur.EndedAt, e.now()):
			// Already enrolled: its current schedule comes back too, so a
			// caller that died before queueing it can queue it again.
			return Enrolled{Enrollment: cur, Next: e.schedule(cur)}, nil
		}
		d, err := e.mayMail(ctx, c)
		if err != nil {
			return Enrolled{}, err
		}
		if refusesEnrolment(d, mayPause) {
			return Enrolled{}, &NotMailableError{Reason: d.Reason}
		}
		now := e.now()
		first := f.First()
		out, err := e.cfg.Store.Commit(ctx, cur, Change{Step: first, Status: StatusActive, NextAt: now, EnteredAt: now,
			Done: &HistoryItem{At: now, Step: first, Outcome: "enrolled"}}, now)
		if errors.Is(err, ErrMoved) {
			continue // a concurrent trigger enrolled it: answer with that one
		}
		if err != nil {
			return Enrolled{}, err
		}
		e.count(ctx, f.ID, first, CountEntered)
		return Enrolled{Enrollment: out, Created: true, Next: &Next{Task: Task{Enrollment: id, Step: first, Seq: out.Seq}, At: now}}, nil
	}
	return Enrolled{}, fmt.Errorf("%w: %s", ErrMoved, id)
}

// Enrollments lists a contact's enrollments, with their history.
func (e *Engine) Enrollments(ctx context.Context, c directory.Contact) ([]*Enrollment, error) {
	list, err := e.cfg.Store.OfPartner(ctx, c.PartnerID, c.ID)
	if err != nil {
		return nil, err
	}
	for _, en := range list {
		if en.History, err = e.cfg.Store.History(ctx, en); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// End ends the contact's enrollment in the flow (reason ended); false when
// there was none to end.
func (e *Engine) End(ctx context.Context, flowID string, c directory.Contact) (bool, error) {
	en, err := e.cfg.Store.Get(ctx, EnrollmentID(c.PartnerID, flowID, c.ID))
	if errors.Is(err, ErrNoEnrollment) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return e.endNow(ctx, en, ReasonEnded, CountExited)
}

// maxEndTries bounds how often endNow re-reads an enrollment that other
// tasks keep moving while it tries to end it.
const maxEndTries = 10

// endNow ends en, unless it is over, for a request from outside the flow
// (a DELETE, an unsubscribe, a let go): one that must take effect. When a
// step task moved the enrollment between the read and the commit, exit
// defers to it, which is right for a step task's own decision but would
// leave this one undone: endNow reads the enrollment again and retries.
// It says whether it ended the enrollment.
func (e *Engine) endNow(ctx context.Context, en *Enrollment, reason, counter string) (bool, error) {
	id := en.ID
	for range maxEndTries {
		if en.Status.Over() {
			return false, nil
		}
		ended, err := e.exited(ctx, en, reason, counter, e.now())
		if err != nil || ended {
			return ended, err
		}
		if en, err = e.cfg.Store.Get(ctx, id); errors.Is(err, ErrNoEnrollment) {
			return false, nil
		} else if err != nil {
			return false, err
		}
	}
	return false, fmt.Errorf("nurture: enrollment %s moved %d times while it was being ended", id, maxEndTries)
}

// EndAll ends every running enrollment of the contact: an unsubscribe, a
// hard bounce, a complaint.
func (e *Engine) EndAll(ctx context.Context, pid, cid, reason string) error {
	return e.endRunning(ctx, pid, cid, reason, CountUnsubscribed)
}

// endRunning ends every running enrollment of the partner's contact cid
// (of all its contacts when cid is ""), counting each under counter.
func (e *Engine) endRunning(ctx context.Context, pid, cid, reason, counter string) error {
	list, err := e.cfg.Store.OfPartner(ctx, pid, cid)
	if err != nil {
		return err
	}
	return e.endAll(ctx, list, reason, counter)
}

// endAll ends the enrollments of list that are still running, counting
// each under counter.
func (e *Engine) endAll(ctx context.Context, list []*Enrollment, reason, counter string) error {
	for _, en := range list {
		if _, err := e.endNow(ctx, en, reason, counter); err != nil {
			return err
		}
	}
	return nil
}

// ResumePartner resumes the partner's paused enrollments (the partner left
// the call queue) and returns their steps to schedule. The step then runs
// through the gate again: a partner recycled as converted or not a fit
// exits there.
func (e *Engine) ResumePartner(ctx context.Context, pid string) ([]Next, error) {
	list, err := e.cfg.Store.OfPartner(ctx, pid, "")
	if err != nil {
		return nil, err
	}
	now := e.now()
	var out []Next
	for _, en := range list {
		if en.Status != StatusPaused {
			continue
		}
		st, at := StatusActive, now
		if en.Waiter != nil {
			st = StatusWaiting
			if en.Waiter.Until.After(now) {
				at = en.Waiter.Until
			}
		}
		res, err := e.cfg.Store.Commit(ctx, en, Change{Step: en.Step, Status: st, NextAt: at, Waiter: en.Waiter,
			Done: &HistoryItem{At: now, Step: en.Step, Outcome: "resumed"}}, now)
		if errors.Is(err, ErrMoved) {
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, Next{Task: Task{Enrollment: res.ID, Step: res.Step, Seq: res.Seq}, At: at})
	}
	return out, nil
}

// ContactEvents are one contact's new events, after scoring: what ingest
// reports per contact (duplicates left out by the caller).
type ContactEvents struct {
	ContactID, PartnerID string
	Events               []event.Event
}

// OnEvents applies one contact's new events to nurture and returns the
// steps to schedule: an unsubscribe, a hard bounce or a complaint ends
// every enrollment of the contact; an event a waiting wait_for step waits
// for resumes it (once: the resume is a commit on the enrollment's seq, so
// of the event and the timeout only the first moves it); delivered,
// opened and clicked count in the funnel of the step the email came from;
// an event a flow's trigger names enrols the contact.
func (e *Engine) OnEvents(ctx context.Context, in ContactEvents) ([]Next, error) {
	var out []Next
	for _, ev := range in.Events {
		if reason := endReason(ev); reason != "" {
			return nil, e.EndAll(ctx, in.PartnerID, in.ContactID, reason)
		}
	}
	lib := e.Library()
	for _, ev := range in.Events {
		if ev.Flow == "" || ev.Step == "" {
			continue
		}
		switch ev.Type {
		case event.EmailDelivered:
			e.count(ctx, ev.Flow, ev.Step, CountDelivered)
		case event.EmailOpen:
			e.count(ctx, ev.Flow, ev.Step, CountOpened)
		case event.EmailClick:
			e.count(ctx, ev.Flow, ev.Step, CountClicked)
		}
	}
	list, err := e.cfg.Store.OfPartner(ctx, in.PartnerID, in.ContactID)
	if err != nil {
		return nil, err
	}
	now := e.now()
	for _, en := range list {
		if en.Status != StatusWaiting || en.Waiter == nil {
			continue
		}
		f, ok := lib.Flows.Get(en.Flow)
		if !ok {
			continue
		}
		step, ok := f.Step(en.Step)
		if !ok || step.Kind != flow.KindWaitFor {
			continue
		}
		for i := range in.Events {
			ev := &in.Events[i]
			if !step.WaitFor.Matches(f.ID, ev) || ev.OccurredAt.After(en.Waiter.Until) {
				continue
			}
			next, err := f.Next(step.ID, flow.Outcome{Result: flow.Happened})
			if err != nil {
				return out, err
			}
			n, err := e.advance(ctx, f, en, step.ID, "happened: "+string(ev.Type), next, now, now)
			if err != nil {
				return out, err
			}
			if n != nil {
				out = append(out, *n)
			}
			break
		}
	}
	triggered, err := e.triggered(ctx, lib, in)
	return append(out, triggered...), err
}

// triggered enrols the contact in the flows its events trigger.
func (e *Engine) triggered(ctx context.Context, lib *Library, in ContactEvents) ([]Next, error) {
	var causes []flow.Cause
	for _, ev := range in.Events {
		c := flow.Cause{Kind: flow.TriggerEvent, Event: ev.Type, Topic: ev.Topic}
		for _, f := range lib.Flows.Flows() {
			if f.TriggeredBy(c) {
				causes = append(causes, c)
				break
			}
		}
	}
	if len(causes) == 0 {
		return nil, nil
	}
	return e.Trigger(ctx, in.ContactID, causes...)
}

// Trigger enrols the contact in every flow one of causes triggers and
// whose audience it is in (contact.created, a segment entered, a recycled
// hand-off, an event). A contact the gate refuses is not enrolled.
func (e *Engine) Trigger(ctx context.Context, contactID string, causes ...flow.Cause) ([]Next, error) {
	c, err := e.cfg.Dir.GetContact(ctx, contactID)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p, err := e.cfg.Dir.GetPartner(ctx, c.PartnerID)
	if err != nil && !errors.Is(err, directory.ErrNotFound) {
		return nil, err
	}
	prof, _, err := e.cfg.Signals.Profile(ctx, c, p)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []Next
	for _, cause := range causes {
		for _, f := range e.Library().Flows.Triggered(cause, prof) {
			if seen[f.ID] {
				continue
			}
			seen[f.ID] = true
			r, err := e.enroll(ctx, f, c, true)
			var nm *NotMailableError
			if errors.As(err, &nm) {
				return out, nil // nobody enrols a contact the gate refuses
			}
			if err != nil {
				return out, err
			}
			if r.Next != nil {
				out = append(out, *r.Next)
			}
		}
	}
	return out, nil
}

// endReason is why an event ends every enrollment of its contact, or "".
func endReason(ev event.Event) string {
	switch {
	case ev.Type == event.EmailUnsubscribe:
		return ReasonUnsubscribed
	case ev.Type == event.EmailSpam:
		return ReasonComplaint
	case ev.Type == event.EmailBounce && ev.Bounce == event.BounceHard:
		return ReasonHardBounce
	}
	return ""
}

// Funnel is a flow's counters per step, in step order.
func (e *Engine) Funnel(ctx context.Context, flowID string) ([]FunnelStep, error) {
	f, ok := e.Library().Flows.Get(flowID)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownFlow, flowID)
	}
	counts, err := e.cfg.Store.Funnel(ctx, flowID)
	if err != nil {
		return nil, err
	}
	out := make([]FunnelStep, 0, len(f.Steps))
	for _, s := range f.Steps {
		fs := FunnelStep{Step: s.ID, Kind: string(s.Kind), Counts: map[string]int64{}}
		for _, k := range FunnelCounters {
			fs.Counts[k] = counts[s.ID][k]
		}
		out = append(out, fs)
	}
	return out, nil
}

// FunnelStep is one step's counters.
type FunnelStep struct {
	Step   string           `json:"step"`
	Kind   string           `json:"kind"`
	Counts map[string]int64 `json:"counts"`
}
