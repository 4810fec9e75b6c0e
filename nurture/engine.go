package nurture

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jordan-wright/email"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/mailer"
	"github.com/longtailhq/longtail/nurture/flow"
	"github.com/longtailhq/longtail/nurture/message"
	"github.com/longtailhq/longtail/scoring"
	"github.com/longtailhq/longtail/sendonce"
)

// Directory is what the engine reads of partners, contacts and reps.
type Directory interface {
	GetContact(ctx context.Context, id string) (directory.Contact, error)
	GetPartner(ctx context.Context, id string) (directory.Partner, error)
	GetRep(ctx context.Context, id string) (directory.Rep, error)
}

// EmailObserver counts emails by kind ("nurture"), flow and result.
type EmailObserver interface {
	ObserveEmail(kind, flow, result string)
}

// observe tells the EmailObserver, if any, how a send of flow ended.
func (e *Engine) observe(flowID, result string) {
	if e.cfg.Emails != nil {
		e.cfg.Emails.ObserveEmail("nurture", flowID, result)
	}
}

// Mailer sends one email; *mailer.Mailer implements it. Its errors wrap
// mailer.ErrPermanent (5xx) and mailer.ErrUncertain (the message may have
// gone); anything else is transient.
type Mailer interface {
	Send(ctx context.Context, e *email.Email) error
}

// SendOnce is the at-most-once marker store; *sendonce.Store implements it.
type SendOnce interface {
	Mark(ctx context.Context, tag, id string) (sendonce.Mark, error)
	Confirm(m sendonce.Mark) error
	Uncertain(m sendonce.Mark) error
	Release(m sendonce.Mark) error
}

// MailGate answers "may this contact be mailed now"; *Gate implements it.
type MailGate interface {
	MayMail(ctx context.Context, contactID string) (Decision, error)
}

// Signals are what branch conditions and audiences read of a contact and
// its partner now: scores, interests, RFM segment, tags. Wired in cmd from
// scoring and the directory.
type Signals interface {
	Profile(ctx context.Context, c directory.Contact, p directory.Partner) (flow.Profile, flow.Facts, error)
}

// Links makes the signed links of one email: the unsubscribe URL and the
// tracked form of a template's links.
type Links interface {
	Unsubscribe(ref MessageRef) (string, error)
	Track(ref MessageRef, rawURL, topic string) (string, error)
}

// MessageRef is what a link or a header of one nurture email names.
type MessageRef struct {
	ContactID, PartnerID, Flow, Step, MessageID string
}

// Points records the points of a score step as an event of type
// nurture.score (through the event queue, so scoring, the timeline and
// the threshold see it like any other event).
type Points interface {
	Record(ctx context.Context, evs []event.Event) error
}

// EngineConfig configures an Engine. Every field without a default is required.
type EngineConfig struct {
	Library *Library
	// Rules are nurture.frequency_cap, nurture.window and nurture.timezone.
	Rules   SendRules
	Store   *Store
	Dir     Directory
	Gate    MailGate
	Signals Signals
	Mailer  Mailer
	Once    SendOnce
	Links   Links
	Points  Points
	// From is smtp.from ("Vendor Partners <partners@vendor.example>"): the
	// sender when no rep may be, and the domain of Message-IDs.
	From string
	// SenderDomain is smtp.sender: domain: From shows the rep's name on
	// smtp.from's address (Reply-To stays the rep).
	SenderDomain bool
	// UnsubscribeMailto is the effective nurture.unsubscribe_mailto ("" for none).
	UnsubscribeMailto string
	// Emails, when set, hears how every send ended, by flow: sent,
	// deferred (a window, the cap or a transient failure), failed or
	// uncertain (mailer.Result's names); *metrics.Metrics implements it.
	Emails EmailObserver
	// UncertainIsResent sends again a step found "sending" without "sent"
	// (a worker died between marking it and the server's answer). If
	// false (the default), it is counted as uncertain and not resent.
	UncertainIsResent bool
	// Ended, when set, is told of every enrollment that ended (completed
	// or exited), at least once: again when a step task finds its
	// enrollment over, so it must be idempotent. An error fails the task,
	// which retries it. The partner program settles its "let go" flow here.
	Ended func(ctx context.Context, en *Enrollment) error
	// Clock is the time; if nil, time.Now.
	Clock func() time.Time
	Log   zerolog.Logger
}

// Engine runs enrollments one step at a time. It schedules nothing itself:
// every call returns the steps to run next, and the caller (jobs) queues
// them under ids derived from enrollment, step and seq.
type Engine struct {
	cfg  EngineConfig
	lib  atomic.Pointer[Library]
	from *mail.Address
}

// NewEngine validates cfg.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if cfg.Library == nil || cfg.Store == nil || cfg.Dir == nil || cfg.Gate == nil || cfg.Signals == nil ||
		cfg.Mailer == nil || cfg.Once == nil || cfg.Links == nil || cfg.Points == nil || cfg.Rules.Zones == nil {
		return nil, errors.New("nurture: engine needs the library, rules, store, directory, gate, signals, mailer, send-once store, links and points")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("nurture: smtp.from %q: %w", cfg.From, err)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	e := &Engine{cfg: cfg, from: from}
	e.lib.Store(cfg.Library)
	return e, nil
}

// Library is the library running now.
func (e *Engine) Library() *Library { return e.lib.Load() }

// SetLibrary replaces the flows and templates (a reload). Enrollments
// continue by step id; one whose step is gone exits at its next run.
func (e *Engine) SetLibrary(l *Library) {
	if l != nil {
		e.lib.Store(l)
	}
}

func (e *Engine) now() time.Time { return time.UnixMilli(e.cfg.Clock().UnixMilli()).UTC() }

// Task names one run of one step: the enrollment, the step, and the seq
// the enrollment had when the run was scheduled. A task whose seq is no
// longer the enrollment's was overtaken (the step already ran, or an
// event resumed a wait_for first) and does nothing.
type Task struct {
	Enrollment string `json:"enrollment"`
	Step       string `json:"step"`
	Seq        int64  `json:"seq"`
}

// ID is the task's identity, for the queue's TaskID.
func (t Task) ID() string { return t.Enrollment + ":" + t.Step + ":" + fmt.Sprint(t.Seq) }

// Next is a step to schedule: Task at At.
type Next struct {
	Task
	At time.Time
}

// ErrInFlight: another attempt of the same send holds its marker; retry.
var ErrInFlight = errors.New("nurture: the same send is in flight in another attempt")

// errRender: a template failed for this contact.
var errRender = errors.New("nurture: render")

// ErrEarly: a wait_for timeout ran before its time; retry.
var ErrEarly = errors.New("nurture: the step ran before its time")

// ErrTransient wraps a failure a retry may fix (a 4xx, the network).
var ErrTransient = errors.New("nurture: transient send failure")

// Run executes one step of an enrollment and returns what to schedule
// next (nil when nothing: the enrollment ended, paused, waits for an
// event, or the task was overtaken). An error means retry the same task.
func (e *Engine) Run(ctx context.Context, t Task) (*Next, error) {
	en, err := e.cfg.Store.Get(ctx, t.Enrollment)
	if errors.Is(err, ErrNoEnrollment) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if en.Status.Over() {
		return nil, e.ended(ctx, en)
	}
	if en.Seq != t.Seq || en.Step != t.Step {
		// Overtaken: the step ran, or an event resumed the wait. Answer
		// with the enrollment's current schedule, so a worker that died
		// between committing a step and queueing the next one is repaired
		// by any later task of the enrollment (queueing it again is a
		// no-op: the task id is the same).
		return e.schedule(en), nil
	}
	now := e.now()
	f, ok := e.Library().Flows.Get(en.Flow)
	if !ok {
		return nil, e.exit(ctx, en, ReasonFlowRemoved, CountExited, now)
	}
	step, ok := f.Step(en.Step)
	if !ok {
		e.cfg.Log.Info().Str("enrollment", en.ID).Str("step", en.Step).Msg("nurture: the step was removed by a reload; the enrollment exits")
		return nil, e.exit(ctx, en, ReasonStepRemoved, CountRemoved, now)
	}
	// Global exits, before every step.
	if stop, next, err := e.globalExit(ctx, en, now); stop || err != nil {
		return next, err
	}
	c, err := e.cfg.Dir.GetContact(ctx, en.ContactID)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, e.exit(ctx, en, ReasonUnknownContact, CountExited, now)
	}
	if err != nil {
		return nil, err
	}
	p, err := e.cfg.Dir.GetPartner(ctx, en.PartnerID)
	if err != nil && !errors.Is(err, directory.ErrNotFound) {
		return nil, err
	}
	loc := e.cfg.Rules.Zones.For(c.Timezone, p.Timezone)
	switch step.Kind {
	case flow.KindSend:
		return e.send(ctx, f, step, en, c, p, loc, now)
	case flow.KindWait:
		next, err := f.Next(step.ID, flow.Outcome{Result: flow.Done})
		if err != nil {
			return nil, err
		}
		return e.advance(ctx, f, en, step.ID, "done", next, step.Wait.Until(now, loc), now)
	case flow.KindWaitFor:
		return e.waitFor(ctx, f, step, en, now)
	case flow.KindBranch:
		_, facts, err := e.cfg.Signals.Profile(ctx, c, p)
		if err != nil {
			return nil, err
		}
		if facts.Tags, err = e.tags(ctx, en, facts.Tags); err != nil {
			return nil, err
		}
		next, err := f.Next(step.ID, flow.Outcome{Result: flow.Done, Facts: facts})
		if err != nil {
			return nil, err
		}
		return e.advance(ctx, f, en, step.ID, "goto "+orEnd(next), next, now, now)
	case flow.KindTag:
		if err := e.cfg.Store.Tag(ctx, en.PartnerID, en.ContactID, step.Tag); err != nil {
			return nil, err
		}
	case flow.KindScore:
		ev := event.Event{
			ID: event.HashID("nurture", "score", en.ID, step.ID, fmt.Sprint(en.Seq)), Type: event.NurtureScore,
			ContactID: en.ContactID, PartnerID: en.PartnerID, Email: c.Email, OccurredAt: now,
			Value: step.Points, Source: "nurture", Flow: f.ID, Step: step.ID,
		}
		if err := e.cfg.Points.Record(ctx, []event.Event{ev}); err != nil {
			return nil, fmt.Errorf("nurture: score step %s of %s: %w", step.ID, en.ID, err)
		}
	case flow.KindExit:
		return nil, e.exit(ctx, en, ReasonExitStep, CountExited, now)
	}
	next, err := f.Next(step.ID, flow.Outcome{Result: flow.Done})
	if err != nil {
		return nil, err
	}
	return e.advance(ctx, f, en, step.ID, "done", next, now, now)
}

// schedule is the run the enrollment is waiting for, or nil.
func (e *Engine) schedule(en *Enrollment) *Next {
	if en.Status.Over() || en.NextAt.IsZero() {
		return nil
	}
	return &Next{Task: Task{Enrollment: en.ID, Step: en.Step, Seq: en.Seq}, At: en.NextAt}
}

func orEnd(step string) string {
	if step == flow.End {
		return "end"
	}
	return step
}

func (e *Engine) tags(ctx context.Context, en *Enrollment, have []string) ([]string, error) {
	own, err := e.cfg.Store.Tags(ctx, en.PartnerID, en.ContactID)
	if err != nil {
		return nil, err
	}
	return append(have, own...), nil
}

// globalExit applies the gate: the person's own choices and suppression
// end the enrollment; a partner in the call queue (or its cooldown) pauses
// it, with a run to look again at the end of the cooldown, or after
// PauseRecheck while the partner is with a rep (ResumePartner resumes at
// once when told); a partner recycled as converted or not a fit ends it.
// stop says the step must not run; next is the re-check to schedule.
func (e *Engine) globalExit(ctx context.Context, en *Enrollment, now time.Time) (stop bool, next *Next, err error) {
	d, err := e.cfg.Gate.MayMail(ctx, en.ContactID)
	if err != nil {
		return true, nil, err
	}
	if d.Allowed {
		return false, nil, nil
	}
	switch {
	case pauses(d.Reason):
		at := now.Add(PauseRecheck)
		if until, ok := strings.CutPrefix(d.Reason, "cooldown until "); ok {
			if t, perr := time.Parse(time.RFC3339, until); perr == nil && t.After(now) {
				at = t
			}
		}
		c := Change{Step: en.Step, Status: StatusPaused, Reason: d.Reason, Waiter: en.Waiter, NextAt: at}
		if en.Status != StatusPaused {
			c.Done = &HistoryItem{At: now, Step: en.Step, Outcome: "paused: " + d.Reason}
		}
		out, err := e.cfg.Store.Commit(ctx, en, c, now)
		if errors.Is(err, ErrMoved) {
			return true, nil, nil
		}
		if err != nil {
			return true, nil, err
		}
		if en.Status != StatusPaused && d.Reason == "in_call_queue" {
			// The funnel's "handed off": the step the enrollment was at
			// when its partner went to a rep.
			e.count(ctx, en.Flow, en.Step, CountHandedOff)
		}
		return true, &Next{Task: Task{Enrollment: out.ID, Step: out.Step, Seq: out.Seq}, At: at}, nil
	case strings.HasPrefix(d.Reason, ReasonSuppressed), d.Reason == ReasonConsentWithdrawn:
		return true, nil, e.exit(ctx, en, d.Reason, CountUnsubscribed, now)
	}
	return true, nil, e.exit(ctx, en, d.Reason, CountExited, now)
}

// PauseRecheck is how often a paused enrollment asks the gate again while
// its partner is with a rep (a cooldown is waited out to its end).
const PauseRecheck = time.Hour

// pauses: the call queue holds the partner for now (queued, claimed, or a
// not-now cooldown); anything else the gate refuses ends the enrollment.
// refusesEnrolment is whether d keeps a contact out of a flow: any
// refusal, but with mayPause (a trigger) one that only pauses the partner.
func refusesEnrolment(d Decision, mayPause bool) bool {
	return !d.Allowed && !(mayPause && pauses(d.Reason))
}

func pauses(reason string) bool {
	return reason == "in_call_queue" || strings.HasPrefix(reason, "cooldown")
}

func (e *Engine) exit(ctx context.Context, en *Enrollment, reason, counter string, now time.Time) error {
	_, err := e.exited(ctx, en, reason, counter, now)
	return err
}

// exited is exit, also saying whether this call ended the enrollment
// (false when another task moved it first: that one decides).
func (e *Engine) exited(ctx context.Context, en *Enrollment, reason, counter string, now time.Time) (bool, error) {
	_, err := e.cfg.Store.Commit(ctx, en, Change{Step: en.Step, Status: StatusExited, Reason: reason, EndedAt: now,
		Done: &HistoryItem{At: now, Step: en.Step, Outcome: "exit: " + reason}}, now)
	if errors.Is(err, ErrMoved) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := e.cfg.Store.Count(ctx, en.Flow, en.Step, counter); err != nil {
		return true, err
	}
	return true, e.ended(ctx, en)
}

// advance commits the end of step (outcome) and the move to next at at;
// End completes the enrollment.
func (e *Engine) advance(ctx context.Context, f *flow.Flow, en *Enrollment, step, outcome, next string, at, now time.Time) (*Next, error) {
	n, _, err := e.advanced(ctx, f, en, step, outcome, next, at, now)
	return n, err
}

// advanced is advance, also saying whether this call made the move (false
// when another task moved the enrollment first).
func (e *Engine) advanced(ctx context.Context, f *flow.Flow, en *Enrollment, step, outcome, next string, at, now time.Time) (*Next, bool, error) {
	done := &HistoryItem{At: now, Step: step, Outcome: outcome}
	if next == flow.End {
		_, err := e.cfg.Store.Commit(ctx, en, Change{Step: step, Status: StatusCompleted, Reason: "completed", EndedAt: now, Done: done}, now)
		if errors.Is(err, ErrMoved) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		return nil, true, e.ended(ctx, en)
	}
	out, err := e.cfg.Store.Commit(ctx, en, Change{Step: next, Status: StatusActive, NextAt: at, Done: done}, now)
	if errors.Is(err, ErrMoved) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	e.count(ctx, f.ID, next, CountEntered)
	return &Next{Task: Task{Enrollment: out.ID, Step: next, Seq: out.Seq}, At: at}, true, nil
}

// count adds to a funnel counter; a failure is logged, not retried (the
// transition it counts is already committed).
func (e *Engine) count(ctx context.Context, flowID, step, counter string) {
	if err := e.cfg.Store.Count(ctx, flowID, step, counter); err != nil {
		e.cfg.Log.Warn().Err(err).Str("flow", flowID).Str("step", step).Msg("nurture: funnel count")
	}
}

// waitFor records the waiter on the first run and schedules the timeout;
// the run at the timeout (same seq: no event claimed it) takes the else.
func (e *Engine) waitFor(ctx context.Context, f *flow.Flow, step flow.Step, en *Enrollment, now time.Time) (*Next, error) {
	if en.Waiter == nil {
		w := &Waiter{Until: now.Add(step.WaitFor.Within), Event: string(step.WaitFor.Event), Topic: step.WaitFor.Topic, Step: step.WaitFor.Step}
		out, err := e.cfg.Store.Commit(ctx, en, Change{Step: step.ID, Status: StatusWaiting, NextAt: w.Until, Waiter: w}, now)
		if errors.Is(err, ErrMoved) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return &Next{Task: Task{Enrollment: out.ID, Step: step.ID, Seq: out.Seq}, At: w.Until}, nil
	}
	if now.Before(en.Waiter.Until) {
		if en.Status == StatusWaiting {
			// Run before its time (clocks of workers differ): fail, so the
			// queue retries this very task later (queueing it again would be
			// refused: it is the task running).
			return nil, fmt.Errorf("%w: the wait of %s ends at %s", ErrEarly, en.ID, en.Waiter.Until.Format(time.RFC3339Nano))
		}
		// Back from a pause: wait on, for the time that is left.
		out, err := e.cfg.Store.Commit(ctx, en, Change{Step: step.ID, Status: StatusWaiting, NextAt: en.Waiter.Until, Waiter: en.Waiter}, now)
		if errors.Is(err, ErrMoved) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return &Next{Task: Task{Enrollment: out.ID, Step: step.ID, Seq: out.Seq}, At: en.Waiter.Until}, nil
	}
	next, err := f.Next(step.ID, flow.Outcome{Result: flow.TimedOut})
	if err != nil {
		return nil, err
	}
	return e.advance(ctx, f, en, step.ID, "timed out", next, now, now)
}

// send runs a send step: window and cap (defer, never drop), the sender,
// the render, the gate once more, then Mark → SMTP → Confirm.
func (e *Engine) send(ctx context.Context, f *flow.Flow, step flow.Step, en *Enrollment, c directory.Contact, p directory.Partner, loc *time.Location, now time.Time) (*Next, error) {
	sent, err := e.cfg.Store.SendsSince(ctx, en.PartnerID, en.ContactID, now.Add(-e.cfg.Rules.Cap.Per))
	if err != nil {
		return nil, err
	}
	if at := flow.NextSend(now, f.WindowOr(e.cfg.Rules.Window), loc, e.cfg.Rules.Cap, sent); at.After(now) {
		e.observe(f.ID, mailer.ResultDeferred)
		out, err := e.cfg.Store.Commit(ctx, en, Change{Step: step.ID, Status: StatusActive, NextAt: at,
			Done: &HistoryItem{At: now, Step: step.ID, Outcome: "deferred to " + at.Format(time.RFC3339)}}, now)
		if errors.Is(err, ErrMoved) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		e.count(ctx, f.ID, step.ID, CountDeferred)
		return &Next{Task: Task{Enrollment: out.ID, Step: step.ID, Seq: out.Seq}, At: at}, nil
	}
	msg, err := e.build(ctx, f, step, en, c, p)
	if errors.Is(err, message.ErrEnvelope) || errors.Is(err, errRender) {
		// No retry can build this email (no address, a template that fails
		// for this contact): the step fails, counted, and the enrollment ends.
		e.cfg.Log.Warn().Err(err).Str("enrollment", en.ID).Str("step", step.ID).Msg("nurture: the email cannot be built")
		return nil, e.exit(ctx, en, ReasonSendFailed, CountFailed, now)
	}
	if err != nil {
		return nil, err
	}
	// The gate once more, at the last moment before the server sees it.
	if d, err := e.cfg.Gate.MayMail(ctx, en.ContactID); err != nil || !d.Allowed {
		if err != nil {
			return nil, err
		}
		_, next, err := e.globalExit(ctx, en, now)
		return next, err
	}
	sendID := "nu:" + en.ID + ":" + step.ID + ":" + fmt.Sprint(en.Seq)
	m, err := e.cfg.Once.Mark(ctx, partnerTag(en.PartnerID), sendID)
	if err != nil {
		return nil, err
	}
	outcome, counter := "sent", CountSent
	switch m.State {
	case sendonce.Acquired:
		sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err := e.cfg.Mailer.Send(sctx, msg)
		cancel()
		e.observe(f.ID, mailer.Result(err))
		switch {
		case err == nil:
			if err := e.cfg.Once.Confirm(m); err != nil {
				return nil, err
			}
		case errors.Is(err, mailer.ErrUncertain):
			_ = e.cfg.Once.Uncertain(m)
			outcome, counter = "uncertain", CountUncertain
		case errors.Is(err, mailer.ErrPermanent):
			_ = e.cfg.Once.Release(m)
			e.cfg.Log.Warn().Err(err).Str("enrollment", en.ID).Str("step", step.ID).Msg("nurture: the mail server refused the email for good")
			return nil, e.exit(ctx, en, ReasonSendFailed, CountFailed, now)
		default:
			_ = e.cfg.Once.Release(m)
			return nil, fmt.Errorf("%w: step %s of %s: %w", ErrTransient, step.ID, en.ID, err)
		}
	case sendonce.Sent:
		// An earlier attempt sent it and died before moving on.
	case sendonce.InFlight:
		return nil, ErrInFlight
	default: // Uncertain, Abandoned: never sent twice.
		outcome, counter = "uncertain", CountUncertain
	}
	if err := e.cfg.Store.LogSend(ctx, en.PartnerID, en.ContactID, sendID, now, e.cfg.Rules.Cap.Per); err != nil {
		return nil, err
	}
	next, err := f.Next(step.ID, flow.Outcome{Result: flow.Done})
	if err != nil {
		return nil, err
	}
	res, moved, err := e.advanced(ctx, f, en, step.ID, outcome, next, now, now)
	if moved {
		// Counted once: only the run that moved the enrollment on counts.
		e.count(ctx, f.ID, step.ID, counter)
	}
	return res, err
}

// MessageID is the Message-ID of one send of a step: the same on every
// retry, within Postmark's 80 characters.
func (e *Engine) MessageID(en *Enrollment, step string) string {
	h := sha256.Sum256([]byte(en.ID + "\x00" + step + "\x00" + fmt.Sprint(en.Seq)))
	_, domain, _ := strings.Cut(e.from.Address, "@")
	return "<nu-" + hex.EncodeToString(h[:12]) + "@" + domain + ">"
}

// sender resolves who the email is from: the flow's rep (rep:<id>) or the
// partner's owner when active, else the partner's owner now, else
// smtp.from. An inactive or deleted rep is never the sender.
func (e *Engine) sender(ctx context.Context, f *flow.Flow, p directory.Partner) (message.Rep, error) {
	var candidates []string
	switch f.Sender.Kind {
	case flow.SenderRep:
		candidates = append(candidates, f.Sender.RepID, p.OwnerRepID)
	case flow.SenderDefault:
	default:
		candidates = append(candidates, p.OwnerRepID)
	}
	for _, id := range candidates {
		if id == "" {
			continue
		}
		r, err := e.cfg.Dir.GetRep(ctx, id)
		if errors.Is(err, directory.ErrNotFound) {
			continue
		}
		if err != nil {
			return message.Rep{}, err
		}
		if r.Active && r.Email != "" {
			return message.Rep{Name: r.Name, Email: r.Email, Phone: r.Phone, Signature: r.Signature}, nil
		}
	}
	name := e.from.Name
	if name == "" {
		name = e.from.Address
	}
	return message.Rep{Name: name, Email: e.from.Address, Signature: name}, nil
}

// build renders the step's template for the contact and builds the email.
func (e *Engine) build(ctx context.Context, f *flow.Flow, step flow.Step, en *Enrollment, c directory.Contact, p directory.Partner) (*email.Email, error) {
	rep, err := e.sender(ctx, f, p)
	if err != nil {
		return nil, err
	}
	ref := MessageRef{ContactID: en.ContactID, PartnerID: en.PartnerID, Flow: f.ID, Step: step.ID, MessageID: e.MessageID(en, step.ID)}
	unsub, err := e.cfg.Links.Unsubscribe(ref)
	if err != nil {
		return nil, err
	}
	data := message.Data{
		Contact:        message.Contact{FirstName: c.FirstName, LastName: c.LastName, Email: c.Email, Persona: c.Persona},
		Partner:        message.Partner{Name: p.Name, Type: p.Type, Tier: p.Tier},
		Rep:            rep,
		UnsubscribeURL: unsub,
	}
	track := func(u, topic string) (string, error) { return e.cfg.Links.Track(ref, u, topic) }
	content, err := e.Library().Templates.Render(step.Template, c.Locale, data, track)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errRender, err)
	}
	env := message.Envelope{
		ContactID: en.ContactID, To: c.Email, ToName: strings.TrimSpace(c.FirstName + " " + c.LastName),
		RepName: rep.Name, RepEmail: rep.Email, Flow: f.ID, Step: step.ID, MessageID: ref.MessageID,
		UnsubscribeURL: unsub, UnsubscribeMailto: e.cfg.UnsubscribeMailto,
	}
	if e.cfg.SenderDomain {
		env.FromAddress = e.from.Address
	}
	return message.Build(env, content)
}

// Scores are what Signals reads of scoring; *scoring.Engine implements it.
type Scores interface {
	Contact(ctx context.Context, partnerID, contactID string) (*scoring.ContactScore, error)
	Partner(ctx context.Context, partnerID string) (*scoring.PartnerScore, error)
}

// ScoreSignals reads audiences and branch facts from scoring and the
// directory records: the partner's score and RFM segment, the contact's
// interests, the partner's tags.
type ScoreSignals struct{ Scores Scores }

// Profile implements Signals.
func (s ScoreSignals) Profile(ctx context.Context, c directory.Contact, p directory.Partner) (flow.Profile, flow.Facts, error) {
	ps, err := s.Scores.Partner(ctx, c.PartnerID)
	if err != nil {
		return flow.Profile{}, flow.Facts{}, err
	}
	cs, err := s.Scores.Contact(ctx, c.PartnerID, c.ID)
	if err != nil {
		return flow.Profile{}, flow.Facts{}, err
	}
	seg := ""
	if ps.RFM != nil {
		seg = ps.RFM.Segment
	}
	prof := flow.Profile{Persona: c.Persona, PartnerType: p.Type, Tier: p.Tier, Segment: seg, Score: ps.Score, Tags: p.Tags, Locale: c.Locale}
	facts := flow.Facts{Score: ps.Score, Interests: cs.Interests, Segment: seg, Tags: slices.Clone(p.Tags)}
	return prof, facts, nil
}

// ErrUnknownStep: the flow has no step of that id, or it does not send.
var ErrUnknownStep = errors.New("nurture: no such send step")

// Preview builds the email a send step would send the contact now (the
// sender, links and headers as a send would make them), sending nothing
// and changing nothing: `longtail flows preview`.
func (e *Engine) Preview(ctx context.Context, flowID, stepID, contactID string) (*email.Email, error) {
	f, ok := e.Library().Flows.Get(flowID)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownFlow, flowID)
	}
	step, ok := f.Step(stepID)
	if !ok || step.Kind != flow.KindSend {
		return nil, fmt.Errorf("%w: flow %s has no send step %q", ErrUnknownStep, flowID, stepID)
	}
	c, err := e.cfg.Dir.GetContact(ctx, contactID)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, fmt.Errorf("%w: %q", ErrUnknownContact, contactID)
	}
	if err != nil {
		return nil, err
	}
	p, err := e.cfg.Dir.GetPartner(ctx, c.PartnerID)
	if err != nil && !errors.Is(err, directory.ErrNotFound) {
		return nil, err
	}
	en := &Enrollment{ID: EnrollmentID(c.PartnerID, f.ID, c.ID), Flow: f.ID, ContactID: c.ID, PartnerID: c.PartnerID, Step: step.ID}
	return e.build(ctx, f, step, en, c, p)
}
