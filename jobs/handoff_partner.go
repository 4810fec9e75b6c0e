package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/notify"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
)

// TypeHandoffPartner hands a partner that crossed the threshold to a rep:
// route it, queue it with its reasons, and notify.
const TypeHandoffPartner = "handoff:partner"

// HandoffPartnerPayload is the wire form of a hand-off task.
type HandoffPartnerPayload struct {
	PartnerID string    `json:"partner_id"`
	Seq       int64     `json:"seq"`
	CrossedAt time.Time `json:"crossed_at"`
	Threshold float64   `json:"threshold"`
}

// handoffRetention keeps a finished hand-off's TaskID reserved, so a late
// retry of the ingest task that produced the crossing cannot enqueue it
// again.
const handoffRetention = 7 * 24 * time.Hour

// NewHandoffPartnerTask builds the task for one crossing; its TaskID is the
// crossing's identity, so a crossing is handed off once.
func NewHandoffPartnerTask(c scoring.Crossing) *asynq.Task {
	return asynq.NewTask(TypeHandoffPartner, marshal(TypeHandoffPartner, HandoffPartnerPayload{
		PartnerID: c.PartnerID, Seq: c.Seq, CrossedAt: c.CrossedAt, Threshold: c.Threshold,
	}), asynq.TaskID(c.HandoffID()), asynq.Queue(QueueHandoff), asynq.MaxRetry(50), asynq.Retention(handoffRetention))
}

// RepQueue is what the hand-off handler needs of the rep queue.
type RepQueue interface {
	Handoff(ctx context.Context, partnerID string, seq int64, crossedAt time.Time) (*repqueue.Entry, bool, error)
}

// HandoffMessages builds an entry's message and says how its rep wants to
// hear of it (*notify.RepNotifier implements it).
type HandoffMessages interface {
	Handoff(ctx context.Context, e *repqueue.Entry) (notify.Handoff, string, error)
}

// HandoffDeps are what the hand-off handler needs.
type HandoffDeps struct {
	Queue    RepQueue
	Messages HandoffMessages
	// Webhooks is how many handoff.webhooks receivers there are.
	Webhooks int
	Log      zerolog.Logger
}

// handleHandoffPartner routes and queues the partner, then queues the rep's
// notification and the outbound webhooks. Every step is idempotent (the
// queue entry per crossing, the notification tasks by id), so the whole
// handler can run again after a crash at any point.
func handleHandoffPartner(d HandoffDeps, tasks *asynq.Client) asynq.Handler {
	return Handle(func(ctx context.Context, p HandoffPartnerPayload) error {
		if p.PartnerID == "" || p.Seq <= 0 {
			return fmt.Errorf("%s: partner id and seq are required: %w", TypeHandoffPartner, ErrPermanent)
		}
		e, created, err := d.Queue.Handoff(ctx, p.PartnerID, p.Seq, p.CrossedAt)
		if err != nil {
			if errors.Is(err, repqueue.ErrInvalid) || errors.Is(err, repqueue.ErrNotFound) {
				return fmt.Errorf("%s %s: %w: %w", TypeHandoffPartner, p.PartnerID, err, ErrPermanent)
			}
			return err
		}
		log := d.Log.With().Str("task", TypeHandoffPartner).Str("partner_id", p.PartnerID).Int64("seq", p.Seq).
			Str("rep_id", e.RepID).Bool("created", created).Logger()
		if e.Seq != p.Seq {
			// An earlier crossing's entry is still open: that call covers
			// this one, and its notifications went out already.
			log.Info().Int64("open_seq", e.Seq).Msg("partner already in a call queue")
			return nil
		}
		h, mode, err := d.Messages.Handoff(ctx, e)
		if err != nil {
			return err
		}
		if mode == notify.ModeEmail {
			if err := EnqueueNotifyRep(ctx, tasks, h, e.Seq); err != nil {
				return err
			}
		}
		payload, err := notify.NewHandoffPayload(h)
		if err != nil {
			return fmt.Errorf("%s: %w: %w", TypeHandoffPartner, err, ErrPermanent)
		}
		if err := EnqueueWebhooks(ctx, tasks, d.Webhooks, payload); err != nil {
			return err
		}
		if created {
			log.Info().Float64("score", e.Score).Str("mode", mode).Msg("partner handed off")
		}
		return nil
	})
}
