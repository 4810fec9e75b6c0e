package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/notify"
	"github.com/longtailhq/longtail/repqueue"
)

// TypeNotifyDigest emails each rep who prefers a digest their open call
// queue, once a day.
const TypeNotifyDigest = "notify:digest"

// NotifyDigestPayload is the wire form of a digest run.
type NotifyDigestPayload struct{}

// NewScheduledNotifyDigestTask is the scheduler's form: no Unique, since
// the tick's TaskID already makes it unique (see Periodic.Task).
func NewScheduledNotifyDigestTask() *asynq.Task {
	return asynq.NewTask(TypeNotifyDigest, marshal(TypeNotifyDigest, NotifyDigestPayload{}),
		asynq.Queue(QueuePeriodic), asynq.MaxRetry(5))
}

// NewNotifyDigestTask builds a digest run; unique for an hour so a
// schedule and a manual run do not both go out.
func NewNotifyDigestTask() *asynq.Task {
	return asynq.NewTask(TypeNotifyDigest, marshal(TypeNotifyDigest, NotifyDigestPayload{}),
		asynq.Queue(QueuePeriodic), asynq.Unique(time.Hour), asynq.MaxRetry(5))
}

// DigestDeps are what the digest needs beyond the notifier.
type DigestDeps struct {
	Reps interface {
		ListReps(ctx context.Context) ([]directory.Rep, error)
	}
	Queue interface {
		List(ctx context.Context, repID string) ([]repqueue.Entry, error)
	}
	// Notify is the default mode; only reps whose mode is "digest" get one.
	Notify  string
	PageURL string
	Clock   func() time.Time
}

// handleNotifyDigest sends one digest per rep per day at most: the marker
// key names the rep and the day, so a retried run skips reps already done.
func handleNotifyDigest(n *repNotifier, d DigestDeps) asynq.Handler {
	return Handle(func(ctx context.Context, _ NotifyDigestPayload) error {
		reps, err := d.Reps.ListReps(ctx)
		if err != nil {
			return err
		}
		day := d.Clock().UTC().Format("2006-01-02")
		var firstErr error
		for _, rep := range reps {
			mode := d.Notify
			if m := rep.Attrs["notify"]; m != "" {
				mode = m
			}
			if mode != "digest" || !rep.Active || rep.Email == "" {
				continue
			}
			entries, err := d.Queue.List(ctx, rep.ID)
			if err != nil {
				return err
			}
			if len(entries) == 0 {
				continue
			}
			locale := rep.Attrs["locale"]
			if locale == "" {
				locale = "en"
			}
			items := make([]notify.Handoff, len(entries))
			for i := range entries {
				items[i] = handoffMessage(&entries[i], rep, locale, d.PageURL)
			}
			e, err := n.r.RenderDigest(notify.Rep{ID: rep.ID, Name: rep.Name, Email: rep.Email, Locale: locale}, items)
			if err != nil {
				return fmt.Errorf("%s %s: %w: %w", TypeNotifyDigest, rep.ID, err, ErrPermanent)
			}
			log := n.log.With().Str("task", TypeNotifyDigest).Str("rep_id", rep.ID).Int("items", len(items)).Logger()
			if n.m == nil {
				log.Info().Str("subject", e.Subject).Msg("digest not emailed: smtp.url is not set")
				continue
			}
			step := TypeNotifyDigest + ":" + rep.ID + ":" + day
			key := digestMarkerKey(rep.ID, step)
			if err := n.sendOnce(ctx, key, step, e, log); err != nil && firstErr == nil {
				firstErr = err // keep going: one rep's mailbox must not hold up the others
			}
		}
		return firstErr
	})
}

// handoffMessage is the notification view of an entry for rep.
func handoffMessage(e *repqueue.Entry, rep directory.Rep, locale, pageURL string) notify.Handoff {
	h := notify.Handoff{
		RepID: e.RepID, RepName: rep.Name, RepEmail: rep.Email, Locale: locale,
		PartnerID: e.PartnerID, PartnerName: e.PartnerName, Score: e.Score, Segment: e.Segment,
		QueuedAt: e.QueuedAt, DueAt: e.DueAt, PageURL: pageURL,
	}
	if c := e.Contact; c != nil {
		h.ContactName, h.ContactEmail, h.ContactPhone, h.Persona = c.Name, c.Email, c.Phone, c.Persona
	}
	h.Reasons = e.Reasons[locale]
	if len(h.Reasons) == 0 {
		h.Reasons = e.Reasons["en"]
	}
	return h
}
