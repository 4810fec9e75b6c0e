package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jordan-wright/email"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/mailer"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/sendonce"
)

// How a rep hears of hand-offs: the rep's attrs "notify", else the
// configured handoff.notify.
const (
	// ModeEmail: one email per hand-off.
	ModeEmail = "email"
	// ModeDigest: one email a day listing the open call queue.
	ModeDigest = "digest"
	// ModeNone: the queue page only.
	ModeNone = "none"
)

// Mailer sends one email; *mailer.Mailer implements it. Errors wrapping
// mailer.ErrPermanent are not worth retrying, and mailer.ErrUncertain means
// the server may have taken the message.
type Mailer interface {
	Send(ctx context.Context, e *email.Email) error
}

// RepDirectory is what the rep notifications read of the directory
// (*directory.Store implements it).
type RepDirectory interface {
	GetRep(ctx context.Context, id string) (directory.Rep, error)
	ListReps(ctx context.Context) ([]directory.Rep, error)
}

// OpenEntries lists a rep's open call-queue entries, for the digest
// (*repqueue.Queue implements it).
type OpenEntries interface {
	List(ctx context.Context, repID string) ([]repqueue.Entry, error)
}

// RepConfig configures a RepNotifier.
type RepConfig struct {
	// Mode is how a rep whose attrs say nothing hears of hand-offs:
	// ModeEmail, ModeDigest or ModeNone. If empty, ModeEmail.
	Mode string
	// PageURL is the rep's queue page, linked from every message: an
	// absolute http(s) URL. Required.
	PageURL string
	// Clock dates the digests. If nil, time.Now.
	Clock func() time.Time
}

// RepDeps are the collaborators of a RepNotifier.
type RepDeps struct {
	// Renderer renders the emails. Required.
	Renderer *Renderer
	// Reps and Queue are read to build messages and digests. Required.
	Reps  RepDirectory
	Queue OpenEntries
	// Mailer sends the emails. A nil interface (smtp.url unset) means the
	// notifications are logged, not emailed: the wiring passes a mailer
	// only when there is one, never a nil pointer in the interface.
	Mailer Mailer
	// Once keeps every email sent at most once. Required with a Mailer.
	Once *sendonce.Store
	// Log gets one line per notification; no email address above debug.
	Log zerolog.Logger
	// Observer, if set, hears every send attempt's result (package
	// metrics counts them). Nil observes nothing.
	Observer EmailObserver
}

// EmailObserver hears each attempt to send an email: kind is what it is
// ("handoff", "digest"; nurture sends "nurture"), flow the nurture flow
// ("" for rep mail), result mailer.Result of the send. Emails skipped
// because they were sent already are not attempts.
type EmailObserver interface {
	ObserveEmail(kind, flow, result string)
}

// Kinds of rep email, as EmailObserver hears them.
const (
	KindHandoff = "handoff"
	KindDigest  = "digest"
)

// RepNotifier tells reps about their hand-offs: it builds the message of a
// queue entry, says how its rep wants to hear of it, and emails a hand-off
// or a rep's daily digest at most once each (package sendonce), however
// often the task that asks runs.
type RepNotifier struct {
	cfg RepConfig
	d   RepDeps
}

// NewRepNotifier validates cfg and deps.
func NewRepNotifier(cfg RepConfig, d RepDeps) (*RepNotifier, error) {
	if d.Renderer == nil || d.Reps == nil || d.Queue == nil {
		return nil, errors.New("notify: rep notifier: Renderer, Reps and Queue are required")
	}
	if d.Mailer != nil && d.Once == nil {
		return nil, errors.New("notify: rep notifier: a Mailer needs the send-once store (Once)")
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeEmail
	}
	if !validMode(cfg.Mode) {
		return nil, fmt.Errorf("notify: rep notifier: mode %q is not %s, %s or %s", cfg.Mode, ModeEmail, ModeDigest, ModeNone)
	}
	if !absoluteHTTP(cfg.PageURL) {
		return nil, fmt.Errorf("notify: rep notifier: PageURL %q is not an absolute http(s) URL", cfg.PageURL)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &RepNotifier{cfg: cfg, d: d}, nil
}

func validMode(m string) bool { return m == ModeEmail || m == ModeDigest || m == ModeNone }

// modeOf is how rep wants to hear of hand-offs.
func (n *RepNotifier) modeOf(rep directory.Rep) string {
	if m := rep.Attrs["notify"]; validMode(m) {
		return m
	}
	return n.cfg.Mode
}

// localeOf is the rep's language for messages: attrs "locale", else en.
func localeOf(rep directory.Rep) string {
	if l := rep.Attrs["locale"]; l != "" {
		return l
	}
	return defaultLocale
}

// Handoff returns the message of entry e for its rep and how the rep wants
// to hear of it (ModeEmail, ModeDigest or ModeNone). An entry no rep could
// take has nobody to tell: its message has no rep and its mode is ModeNone.
func (n *RepNotifier) Handoff(ctx context.Context, e *repqueue.Entry) (Handoff, string, error) {
	if e.RepID == "" {
		return handoffOf(e, directory.Rep{}, defaultLocale, n.cfg.PageURL), ModeNone, nil
	}
	rep, err := n.d.Reps.GetRep(ctx, e.RepID)
	if err != nil && !errors.Is(err, directory.ErrNotFound) {
		return Handoff{}, "", err
	}
	return handoffOf(e, rep, localeOf(rep), n.cfg.PageURL), n.modeOf(rep), nil
}

// handoffOf is the message of an entry for rep, in locale.
func handoffOf(e *repqueue.Entry, rep directory.Rep, locale, pageURL string) Handoff {
	h := Handoff{
		RepID: e.RepID, RepName: rep.Name, RepEmail: rep.Email, Locale: locale,
		PartnerID: e.PartnerID, PartnerName: e.PartnerName, Score: e.Score, Segment: e.Segment,
		QueuedAt: e.QueuedAt, DueAt: e.DueAt, PageURL: pageURL,
	}
	if c := e.Contact; c != nil {
		h.ContactName, h.ContactEmail, h.ContactPhone, h.Persona = c.Name, c.Email, c.Phone, c.Persona
	}
	h.Reasons = e.Reasons[locale]
	if len(h.Reasons) == 0 {
		h.Reasons = e.Reasons[defaultLocale]
	}
	return h
}

// SendHandoff emails h to its rep, at most once per step (the identity of
// the notification, e.g. "notify:rep:<partner>:<seq>"). Errors wrapping
// ErrInvalid or mailer.ErrPermanent will fail again however often they are
// retried; any other error is worth a retry, which never sends twice.
func (n *RepNotifier) SendHandoff(ctx context.Context, step string, h Handoff) error {
	log := n.d.Log.With().Str("step", step).Str("rep_id", h.RepID).Str("partner_id", h.PartnerID).Logger()
	e, err := n.d.Renderer.RenderHandoff(h)
	if err != nil {
		return invalid(step, err)
	}
	if n.d.Mailer == nil {
		log.Info().Float64("score", h.Score).Int("reasons", len(h.Reasons)).Str("subject", e.Subject).
			Msg("rep notification not emailed: smtp.url is not set; the hand-off shows on the rep's queue page")
		// Reasons are free text from scoring and could quote an address.
		log.Debug().Str("rep_email", h.RepEmail).Strs("reasons", h.Reasons).Msg("rep notification details")
		return nil
	}
	return n.sendOnce(ctx, KindHandoff, directory.PartnerTag(h.PartnerID), step, e, log)
}

// digestStep names a rep's digest of one day. The "notify:digest:" prefix
// is the task type it was once spelled with: markers written then still
// match.
func digestStep(repID, day string) string { return "notify:digest:" + repID + ":" + day }

// SendDigests emails every active rep whose mode is ModeDigest the list of
// their open entries, at most once per rep per day (the clock's UTC day),
// so a retried or repeated run skips the reps already done. One rep's
// failing mailbox does not hold up the others: the first such error is
// returned after all reps were tried.
func (n *RepNotifier) SendDigests(ctx context.Context) error {
	reps, err := n.d.Reps.ListReps(ctx)
	if err != nil {
		return err
	}
	day := n.cfg.Clock().UTC().Format("2006-01-02")
	var firstErr error
	for _, rep := range reps {
		if n.modeOf(rep) != ModeDigest || !rep.Active || rep.Email == "" {
			continue
		}
		entries, err := n.d.Queue.List(ctx, rep.ID)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			continue
		}
		locale := localeOf(rep)
		items := make([]Handoff, len(entries))
		for i := range entries {
			items[i] = handoffOf(&entries[i], rep, locale, n.cfg.PageURL)
		}
		step := digestStep(rep.ID, day)
		e, err := n.d.Renderer.RenderDigest(Rep{ID: rep.ID, Name: rep.Name, Email: rep.Email, Locale: locale}, items)
		if err != nil {
			return invalid(step, err)
		}
		log := n.d.Log.With().Str("step", step).Str("rep_id", rep.ID).Int("items", len(items)).Logger()
		if n.d.Mailer == nil {
			log.Info().Str("subject", e.Subject).Msg("digest not emailed: smtp.url is not set")
			continue
		}
		if err := n.sendOnce(ctx, KindDigest, directory.RepTag(rep.ID), step, e, log); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// invalid marks a message that cannot be built: no retry will change it.
func invalid(step string, err error) error {
	if errors.Is(err, ErrInvalid) {
		return fmt.Errorf("notify: %s: %w", step, err)
	}
	return fmt.Errorf("notify: %s: %w: %w", step, err, ErrInvalid)
}

// sendOnce sends e at most once under (tag, step): see package sendonce
// for the markers and the crash policy.
func (n *RepNotifier) sendOnce(ctx context.Context, kind, tag, step string, e *email.Email, log zerolog.Logger) error {
	m, err := n.d.Once.Mark(ctx, tag, step)
	if err != nil {
		return fmt.Errorf("notify: %s: %w", step, err)
	}
	switch m.State {
	case sendonce.Sent, sendonce.Uncertain:
		log.Info().Str("marker", m.State.String()).Msg("rep email already sent; not sending again")
		return nil
	case sendonce.Abandoned:
		log.Warn().Msg("an earlier attempt died while sending this rep email, which may have gone; not sending again, so the rep never gets it twice")
		return nil
	case sendonce.InFlight:
		return fmt.Errorf("notify: %s: another attempt is sending (or died while sending); retrying once it ends or its marker times out", step)
	}
	// Cut the send well inside the marker's life, so no send is still
	// running when a later attempt may take the marker for dead.
	sendCtx, cancel := context.WithTimeout(ctx, n.d.Once.SendTimeout())
	err = n.d.Mailer.Send(sendCtx, e)
	cancel()
	if n.d.Observer != nil {
		n.d.Observer.ObserveEmail(kind, "", mailer.Result(err))
	}
	switch {
	case err == nil:
		if err := n.d.Once.Confirm(m); err != nil {
			log.Error().Err(err).Msg("rep email sent but not recorded as sent; a retry finds it in flight and, past the marker's time, applies the crash policy")
		}
		log.Info().Msg("rep notified by email")
		return nil
	case errors.Is(err, mailer.ErrUncertain):
		if err := n.d.Once.Uncertain(m); err != nil {
			log.Error().Err(err).Msg("could not record the uncertain send")
		}
		log.Warn().Err(err).Msg("rep email may or may not have been delivered; not resending, so the rep never gets it twice")
		return nil
	default:
		// Refused or never connected: nothing went out, so the retry may
		// send without waiting for the marker to time out.
		if rerr := n.d.Once.Release(m); rerr != nil {
			log.Warn().Err(rerr).Msg("could not clear the send marker; the retry waits for it to time out")
		}
		return fmt.Errorf("notify: %s: %w", step, err)
	}
}
