package jobs

import (
	"context"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/scoring"
)

// TypeHandoffPartner hands a partner that crossed the threshold to a rep.
// Its consumer is the rep queue; until that is wired the tasks wait,
// durable and visible, in the handoff queue.
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

// HandoffQueue implements ingest.Handoffs on asynq.
type HandoffQueue struct{ client *asynq.Client }

// NewHandoffQueue wraps an asynq client.
func NewHandoffQueue(c *asynq.Client) *HandoffQueue { return &HandoffQueue{client: c} }

// Handoff enqueues the crossing; an already-queued crossing is success.
func (q *HandoffQueue) Handoff(ctx context.Context, c scoring.Crossing) error {
	return enqueue(ctx, q.client, NewHandoffPartnerTask(c))
}
