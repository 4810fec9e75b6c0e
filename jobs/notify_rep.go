package jobs

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/notify"
)

// TypeNotifyRep emails a rep about one hand-off.
const TypeNotifyRep = "notify:rep"

// NotifyRepPayload is the wire form of a rep notification.
type NotifyRepPayload struct {
	// StepID is the notification's identity, NotifyRepStepID(partner, seq):
	// the TaskID and the identity of its send-once marker.
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

// handleNotifyRep sends the email at most once per step: the step names
// the send-once marker, so a retried task never mails the rep twice.
func handleNotifyRep(n RepNotifier) asynq.Handler {
	return Handle(func(ctx context.Context, p NotifyRepPayload) error {
		h := p.Handoff
		// The step must be this partner's, or a forged payload could use
		// another hand-off's marker.
		if !strings.HasPrefix(p.StepID, TypeNotifyRep+":"+h.PartnerID+":") || h.PartnerID == "" {
			return fmt.Errorf("%s: step id %q does not belong to partner %q: %w", TypeNotifyRep, p.StepID, h.PartnerID, ErrPermanent)
		}
		return n.SendHandoff(ctx, p.StepID, h)
	})
}
