package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jordan-wright/email"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/mailer"
	"github.com/longtailhq/longtail/notify"
)

// TypeNotifyRep emails a rep about one hand-off.
const TypeNotifyRep = "notify:rep"

// NotifyRepPayload is the wire form of a rep notification.
type NotifyRepPayload struct {
	// StepID is the notification's identity, NotifyRepStepID(partner, seq):
	// the TaskID and the key of the at-most-once marker.
	StepID  string         `json:"step_id"`
	Handoff notify.Handoff `json:"handoff"`
}

// notifyRepMaxRetry gives a transient SMTP outage a few hours (see
// RetryDelay); past that the hand-off is stale and the rep has seen it on
// the queue page anyway.
const notifyRepMaxRetry = 12

// NotifyRepStepID is the identity of the notification for the seq-th
// hand-off of partnerID.
func NotifyRepStepID(partnerID string, seq int64) string {
	return TypeNotifyRep + ":" + partnerID + ":" + strconv.FormatInt(seq, 10)
}

// NewNotifyRepTask builds the notification for hand-off seq of h's
// partner. Its TaskID is the step id, so a hand-off enqueues one
// notification however often its producer retries.
func NewNotifyRepTask(h notify.Handoff, seq int64) *asynq.Task {
	step := NotifyRepStepID(h.PartnerID, seq)
	return asynq.NewTask(TypeNotifyRep, marshal(TypeNotifyRep, NotifyRepPayload{StepID: step, Handoff: h}),
		asynq.TaskID(step), asynq.Queue(QueueHandoff), asynq.MaxRetry(notifyRepMaxRetry),
		asynq.Retention(handoffRetention))
}

// EnqueueNotifyRep queues the notification; one already queued is success.
func EnqueueNotifyRep(ctx context.Context, c *asynq.Client, h notify.Handoff, seq int64) error {
	return enqueue(ctx, c, NewNotifyRepTask(h, seq))
}

// Mailer sends one email; *mailer.Mailer implements it. Errors wrapping
// mailer.ErrPermanent are not retried, and mailer.ErrUncertain means the
// server may have taken the message.
type Mailer interface {
	Send(ctx context.Context, e *email.Email) error
}

// Marker states. A step's marker is written before the SMTP exchange and
// replaced once it is over:
//
//	(absent)          never attempted, or the last attempt surely failed
//	sending:<token>   an attempt is running (or died); expires after
//	                  SendingTTL so a crashed attempt does not block for ever
//	sent              the server accepted the message
//	uncertain         the connection failed after the whole message was
//	                  written; treated as sent
const (
	markerSending   = "sending:"
	markerSent      = "sent"
	markerUncertain = "uncertain"
	// defaultSendingTTL outlives any send (sends are cut at half of it).
	defaultSendingTTL = 5 * time.Minute
)

// releaseScript deletes a "sending" marker only if this attempt owns it,
// so a slow attempt cannot clear the marker of the one that followed.
//
// KEYS[1] marker key
// ARGV[1] the owning value ("sending:<token>")
// Output: 1 when deleted, 0 otherwise.
var releaseScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0`)

// repNotifier sends each hand-off email at most once.
//
// asynq runs a task at least once, so the send is fenced by a Redis marker
// (SET NX) written before the SMTP exchange and set to "sent" after it. A
// retry that finds "sent" does nothing; one that finds "sending" backs off
// until that attempt ends or its marker expires.
//
// Residual risk: a worker that dies (or loses Redis for longer than the
// few quick re-tries of the final write) after the server accepted the
// message but before "sent" is stored leaves a "sending" marker; once it
// expires the next retry sends again. The duplicate carries the same
// Message-ID, so mail clients that thread or deduplicate by it show one
// message. The opposite choice, never retrying after an ambiguous end,
// is taken where it is cheap: a reply lost after the message was written
// (mailer.ErrUncertain) counts as sent, because the rep sees the hand-off
// on the queue page regardless.
type repNotifier struct {
	r   *notify.Renderer
	m   Mailer
	rdb redis.UniversalClient
	log zerolog.Logger
	ttl time.Duration
}

func handleNotifyRep(n *repNotifier) asynq.Handler { return Handle(n.notify) }

func (n *repNotifier) notify(ctx context.Context, p NotifyRepPayload) error {
	h := p.Handoff
	if !strings.HasPrefix(p.StepID, TypeNotifyRep+":"+h.PartnerID+":") || h.PartnerID == "" {
		return fmt.Errorf("%s: step id %q does not belong to partner %q: %w", TypeNotifyRep, p.StepID, h.PartnerID, ErrPermanent)
	}
	log := n.log.With().Str("task", TypeNotifyRep).Str("step", p.StepID).
		Str("rep_id", h.RepID).Str("partner_id", h.PartnerID).Logger()
	if id, ok := asynq.GetTaskID(ctx); ok {
		log = log.With().Str("task_id", id).Logger()
	}
	e, err := n.r.RenderHandoff(h)
	if err != nil {
		return fmt.Errorf("%s %s: %w: %w", TypeNotifyRep, p.StepID, err, ErrPermanent)
	}
	if n.m == nil {
		log.Info().Float64("score", h.Score).Int("reasons", len(h.Reasons)).Str("subject", e.Subject).
			Msg("rep notification not emailed: smtp.url is not set; the hand-off shows on the rep's queue page")
		// Reasons are free text from scoring and could quote an address.
		log.Debug().Str("rep_email", h.RepEmail).Strs("reasons", h.Reasons).Msg("rep notification details")
		return nil
	}

	return n.sendOnce(ctx, notifyMarkerKey(h.PartnerID, p.StepID), p.StepID, e, log)
}

// sendOnce sends e at most once per marker key: see the package notes on
// the "sending" / "sent" markers and the residual risk.
func (n *repNotifier) sendOnce(ctx context.Context, key, step string, e *email.Email, log zerolog.Logger) error {
	owner := markerSending + token()
	ok, err := n.rdb.SetNX(ctx, key, owner, n.ttl).Result()
	if err != nil {
		return fmt.Errorf("%s %s: write send marker: %w", TypeNotifyRep, step, err)
	}
	if !ok {
		state, err := n.rdb.Get(ctx, key).Result()
		switch {
		case errors.Is(err, redis.Nil):
			return fmt.Errorf("%s %s: send marker expired while being read; retrying", TypeNotifyRep, step)
		case err != nil:
			return fmt.Errorf("%s %s: read send marker: %w", TypeNotifyRep, step, err)
		case state == markerSent || state == markerUncertain:
			log.Info().Str("marker", state).Msg("rep notification already sent; not sending again")
			return nil
		default:
			return fmt.Errorf("%s %s: another attempt is sending (or died while sending); retrying once it ends or its marker expires", TypeNotifyRep, step)
		}
	}

	// Cut the send well inside the marker's life, so no send is still
	// running when a retry may take over.
	sendCtx, cancel := context.WithTimeout(ctx, n.ttl/2)
	err = n.m.Send(sendCtx, e)
	cancel()
	switch {
	case err == nil:
		n.record(key, markerSent, log)
		log.Info().Msg("rep notified by email")
		return nil
	case errors.Is(err, mailer.ErrUncertain):
		n.record(key, markerUncertain, log)
		log.Warn().Err(err).Msg("rep notification may or may not have been delivered; not resending, so the rep never gets it twice")
		return nil
	case errors.Is(err, mailer.ErrPermanent):
		n.release(key, owner, log)
		return fmt.Errorf("%s %s: %w: %w", TypeNotifyRep, step, err, ErrPermanent)
	default:
		n.release(key, owner, log)
		return fmt.Errorf("%s %s: %w", TypeNotifyRep, step, err)
	}
}

// record stores the final marker. It uses its own context because the
// email has gone whatever happened to the task's, and retries briefly: an
// unrecorded send is what could make a later retry send twice.
func (n *repNotifier) record(key, state string, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	for attempt := range 3 {
		if err = n.rdb.Set(ctx, key, state, handoffRetention).Err(); err == nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
	log.Error().Err(err).Str("marker", state).
		Msg("rep notification sent but not recorded; a retry after the sending marker expires could send it again")
}

// release removes this attempt's marker after a failure that surely did
// not deliver, so the retry need not wait for the marker to expire.
func (n *repNotifier) release(key, owner string, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := releaseScript.Run(ctx, n.rdb, []string{key}, owner).Err(); err != nil {
		log.Warn().Err(err).Msg("could not clear the send marker; the retry waits for it to expire")
	}
}

func token() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+).
	return hex.EncodeToString(b)
}
