// Package flow is the definition of nurture flows: the YAML files marketing
// ops write (one flow per file), loaded into a typed model, and the pure
// rules the engine applies to them — which step follows which, who a flow is
// for, what enrols a contact, when a step may send (windows, frequency caps,
// time zones) and when a wait ends.
//
// Nothing here touches Redis, SMTP or a clock: every rule takes the time it
// needs as an argument, so the engine that schedules and sends can be tested
// with an injected clock and these rules with plain values.
//
// Steps are addressed by their id, never by position: an enrollment stores
// the id of the step it is at, so a flow can be edited (steps inserted,
// reordered) while enrollments are in flight, and a step that was removed is
// found missing (ErrUnknownStep) rather than silently replaced by another.
package flow

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/longtailhq/longtail/event"
)

// Flow is one nurture flow.
type Flow struct {
	// ID is unique across the flows directory, [a-z0-9-]+.
	ID   string
	Name string
	// File is where the flow was loaded from (for messages).
	File     string
	Audience Audience
	// Triggers enrol a matching contact when one of them happens; none means
	// enrolment by API only.
	Triggers []Trigger
	Reentry  Reentry
	// Window is when the flow may send, in the contact's time zone. Nil means
	// the configured default (nurture.window); Window.Always means any time.
	Window *Window
	Sender Sender
	// Steps run top to bottom unless a step jumps.
	Steps []Step

	index map[string]int // step id → position in Steps
}

// Kind is what a step does.
type Kind string

// Step kinds; the YAML key that makes a step of the kind is the same word.
const (
	KindSend    Kind = "send"
	KindWait    Kind = "wait"
	KindWaitFor Kind = "wait_for"
	KindBranch  Kind = "branch"
	KindTag     Kind = "tag"
	KindScore   Kind = "score"
	KindExit    Kind = "exit"
)

// Step is one step of a flow. Only the fields of its Kind are set.
type Step struct {
	// ID is unique in the flow and stable: enrollments refer to it.
	ID   string
	Kind Kind
	// Template is the name of the template a send step renders
	// (templates/nurture/<name>.<locale>.txt).
	Template string
	// Wait is how long a wait step waits.
	Wait Wait
	// WaitFor is what a wait_for step waits for, and where it goes next.
	WaitFor WaitFor
	// Cases of a branch step, tried in order; the first that holds wins.
	Cases []Case
	// Tag a tag step puts on the contact.
	Tag string
	// Points a score step records (as an event of type nurture.score).
	Points float64
	// Line and Col of the step in its file, for messages about it.
	Line, Col int
}

// WaitFor waits for an event of the contact, at most Within.
type WaitFor struct {
	Event event.Type
	// Topic, when set, must be the event's topic.
	Topic string
	// Step, when set, names the send step whose email the event must come
	// from (the event's step correlation field), e.g. a click on that email.
	Step   string
	Within time.Duration
	// Then is the step when the event comes in time, Else the step on
	// timeout; either empty means the next step down.
	Then, Else string
}

// Matches reports whether e is the event w waits for, in flow flowID.
// Events are not compared by contact: the caller routes the contact's own
// events here.
func (w WaitFor) Matches(flowID string, e *event.Event) bool {
	if e.Type != w.Event {
		return false
	}
	if w.Topic != "" && !strings.EqualFold(e.Topic, w.Topic) {
		return false
	}
	if w.Step != "" && (e.Flow != flowID || e.Step != w.Step) {
		return false
	}
	return true
}

// Case is one case of a branch: If holds → Goto. A nil If is the else case.
type Case struct {
	If   *Condition
	Goto string
}

// Condition holds when every one of its parts holds.
type Condition struct {
	// Score is the partner's score now.
	Score *Range
	// Interest is the contact's interest points in a topic now.
	Interest *Interest
	// Segments: the partner's RFM segment is one of them.
	Segments []string
	// Tags: the contact or its partner has one of them.
	Tags []string
}

// Interest bounds the points of one topic.
type Interest struct {
	Topic string
	Range
}

// Range bounds a number; a nil bound is open. Bounds are inclusive.
type Range struct {
	Min, Max *float64
}

// Contains reports whether v is within the range.
func (r Range) Contains(v float64) bool {
	return (r.Min == nil || v >= *r.Min) && (r.Max == nil || v <= *r.Max)
}

// Facts are what a branch decides on, read by the engine when the branch
// step runs.
type Facts struct {
	// Score is the partner's decayed score now.
	Score float64
	// Interests are the contact's decayed interest points per topic.
	Interests map[string]float64
	// Segment is the partner's RFM segment ("" before the first ranking).
	Segment string
	// Tags are the contact's and the partner's tags.
	Tags []string
}

// Holds reports whether the condition holds for f.
func (c *Condition) Holds(f Facts) bool {
	if c.Score != nil && !c.Score.Contains(f.Score) {
		return false
	}
	if c.Interest != nil && !c.Interest.Contains(interestOf(f.Interests, c.Interest.Topic)) {
		return false
	}
	if len(c.Segments) > 0 && !slices.ContainsFunc(c.Segments, func(s string) bool { return sameSegment(s, f.Segment) }) {
		return false
	}
	if len(c.Tags) > 0 && !anyFold(c.Tags, f.Tags) {
		return false
	}
	return true
}

func interestOf(m map[string]float64, topic string) float64 {
	if v, ok := m[topic]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, topic) {
			return v
		}
	}
	return 0
}

// Result is how a step ended, as the engine saw it.
type Result uint8

// Results of a step.
const (
	// Done: a send, wait, tag, score or exit step did its work.
	Done Result = iota
	// Happened: the event a wait_for step waits for came in time.
	Happened
	// TimedOut: the wait_for step's within elapsed first.
	TimedOut
)

func (r Result) String() string {
	switch r {
	case Done:
		return "done"
	case Happened:
		return "happened"
	case TimedOut:
		return "timed out"
	}
	return fmt.Sprintf("result(%d)", uint8(r))
}

// Outcome is what happened at a step: its Result, and for a branch step the
// Facts it decides on.
type Outcome struct {
	Result Result
	Facts  Facts
}

// End is the "step" after the last one: the enrollment exits.
const End = ""

// Errors of Next.
var (
	// ErrUnknownStep: the flow has no step of that id (a reload removed it);
	// the engine exits the enrollment.
	ErrUnknownStep = errors.New("flow: no such step")
	// ErrOutcome: the outcome does not fit the step (Happened for a send).
	ErrOutcome = errors.New("flow: outcome does not fit the step")
)

// Step returns the step of that id.
func (f *Flow) Step(id string) (Step, bool) {
	i, ok := f.index[id]
	if !ok {
		return Step{}, false
	}
	return f.Steps[i], true
}

// First is the id of the step an enrollment starts at.
func (f *Flow) First() string {
	if len(f.Steps) == 0 {
		return End
	}
	return f.Steps[0].ID
}

// Next returns the id of the step that follows stepID given what happened
// there, or End when the enrollment exits: after an exit step, or after the
// last step. A wait_for goes to Then or Else (or the next step down when
// that is empty); a branch to the Goto of its first case that holds (or the
// next step down when none does); every other step to the next step down.
func (f *Flow) Next(stepID string, o Outcome) (string, error) {
	i, ok := f.index[stepID]
	if !ok {
		return End, fmt.Errorf("%w: flow %s has no step %q", ErrUnknownStep, f.ID, stepID)
	}
	s := f.Steps[i]
	down := End
	if i+1 < len(f.Steps) {
		down = f.Steps[i+1].ID
	}
	switch s.Kind {
	case KindExit:
		return End, nil
	case KindWaitFor:
		switch o.Result {
		case Happened:
			return cmpOr(s.WaitFor.Then, down), nil
		case TimedOut:
			return cmpOr(s.WaitFor.Else, down), nil
		}
		return End, fmt.Errorf("%w: step %s of flow %s waits for an event; the outcome is %q, want happened or timed out", ErrOutcome, s.ID, f.ID, o.Result)
	case KindBranch:
		for _, c := range s.Cases {
			if c.If == nil || c.If.Holds(o.Facts) {
				return c.Goto, nil
			}
		}
		return down, nil
	}
	if o.Result != Done {
		return End, fmt.Errorf("%w: step %s of flow %s is a %s step; the outcome is %q, want done", ErrOutcome, s.ID, f.ID, s.Kind, o.Result)
	}
	return down, nil
}

// cmpOr is cmp.Or for a jump target: the target, else the step below.
func cmpOr(target, down string) string {
	if target != "" {
		return target
	}
	return down
}

// Set is every flow of a directory, by id.
type Set struct {
	flows []*Flow
	byID  map[string]*Flow
}

// Flows returns the flows in id order.
func (s *Set) Flows() []*Flow { return slices.Clone(s.flows) }

// Len is the number of flows.
func (s *Set) Len() int { return len(s.flows) }

// Get returns the flow of that id.
func (s *Set) Get(id string) (*Flow, bool) {
	f, ok := s.byID[id]
	return f, ok
}

// Triggered returns, in id order, the flows that c enrols a contact like p
// in: one of the flow's triggers matches c and its audience matches p.
func (s *Set) Triggered(c Cause, p Profile) []*Flow {
	var out []*Flow
	for _, f := range s.flows {
		if f.TriggeredBy(c) && f.Audience.Matches(p) {
			out = append(out, f)
		}
	}
	return out
}

// WindowOr is the flow's window, or def (nurture.window) when the flow
// has none of its own.
func (f *Flow) WindowOr(def Window) Window {
	if f.Window != nil {
		return *f.Window
	}
	return def
}

// Templates returns the names of the templates the flow's send steps use,
// sorted, each once.
func (f *Flow) Templates() []string {
	var names []string
	for _, s := range f.Steps {
		if s.Kind == KindSend && !slices.Contains(names, s.Template) {
			names = append(names, s.Template)
		}
	}
	slices.Sort(names)
	return names
}
