package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/notify"
)

// TypeNotifyWebhook delivers one event to one configured webhook receiver.
const TypeNotifyWebhook = "notify:webhook"

// NotifyWebhookPayload is the wire form of a webhook delivery.
type NotifyWebhookPayload struct {
	// HookIndex is the receiver's position in handoff.webhooks.
	HookIndex int `json:"hook_index"`
	// DeliveryID is the event's stable id (notify.Payload.ID).
	DeliveryID string `json:"delivery_id"`
	// Body is the marshalled notify.Payload, signed and posted as is.
	Body json.RawMessage `json:"body"`
}

// notifyWebhookMaxRetry with RetryDelay spreads attempts over about half a
// day: long enough to ride out a receiver's deploy or outage.
const notifyWebhookMaxRetry = 20

// NewNotifyWebhookTask builds the delivery of body to receiver hookIndex.
// Its TaskID is the delivery id and the receiver, so each receiver gets
// each event once however often the producer retries.
func NewNotifyWebhookTask(hookIndex int, deliveryID string, body []byte) *asynq.Task {
	return asynq.NewTask(TypeNotifyWebhook,
		marshal(TypeNotifyWebhook, NotifyWebhookPayload{HookIndex: hookIndex, DeliveryID: deliveryID, Body: body}),
		asynq.TaskID(TypeNotifyWebhook+":"+deliveryID+":"+strconv.Itoa(hookIndex)),
		asynq.Queue(QueueHandoff), asynq.MaxRetry(notifyWebhookMaxRetry), asynq.Retention(handoffRetention),
		asynq.Timeout(2*time.Minute))
}

// EnqueueWebhooks queues p for each of the hooks configured receivers
// (WebhookSender.Len). Deliveries already queued count as success.
func EnqueueWebhooks(ctx context.Context, c *asynq.Client, hooks int, p notify.Payload) error {
	if hooks == 0 {
		return nil
	}
	if p.ID == "" || p.Type == "" {
		return fmt.Errorf("%s: payload needs a type and an id: %w", TypeNotifyWebhook, ErrPermanent)
	}
	body, err := p.Marshal()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %w", TypeNotifyWebhook, p.ID, err, ErrPermanent)
	}
	for i := range hooks {
		if err := enqueue(ctx, c, NewNotifyWebhookTask(i, p.ID, body)); err != nil {
			return fmt.Errorf("%s %s to webhook %d: %w", TypeNotifyWebhook, p.ID, i, err)
		}
	}
	return nil
}

// WebhookQueue queues deliveries to the handoff.webhooks receivers
// (outcome.Webhooks).
type WebhookQueue struct {
	client *asynq.Client
	hooks  int
}

// NewWebhookQueue queues on c for hooks receivers (WebhookSender.Len).
func NewWebhookQueue(c *asynq.Client, hooks int) *WebhookQueue {
	return &WebhookQueue{client: c, hooks: hooks}
}

// Enqueue queues p for every receiver; see EnqueueWebhooks.
func (q *WebhookQueue) Enqueue(ctx context.Context, p notify.Payload) error {
	return EnqueueWebhooks(ctx, q.client, q.hooks, p)
}

func handleNotifyWebhook(s *notify.WebhookSender, log zerolog.Logger) asynq.Handler {
	return Handle(func(ctx context.Context, p NotifyWebhookPayload) error {
		err := s.Deliver(ctx, p.HookIndex, p.Body)
		if err == nil {
			log.Debug().Str("task", TypeNotifyWebhook).Str("delivery", p.DeliveryID).Int("hook", p.HookIndex).Msg("webhook delivered")
			return nil
		}
		return fmt.Errorf("%s: %w", TypeNotifyWebhook, err)
	})
}

// Notification retry schedule: exponential from notifyBaseDelay, capped.
const (
	notifyBaseDelay = 10 * time.Second
	notifyMaxDelay  = time.Hour
)

// RetryDelay is meant for asynq.Config.RetryDelayFunc. Notification tasks
// back off exponentially (10s, 20s, 40s… capped at an hour, ±20% jitter so
// a receiver's outage does not end in a synchronised stampede) and honour a
// receiver's Retry-After up to the cap; other task types keep asynq's
// default.
func RetryDelay(n int, err error, t *asynq.Task) time.Duration {
	switch t.Type() {
	case TypeNotifyWebhook, TypeNotifyRep:
	default:
		return asynq.DefaultRetryDelayFunc(n, err, t)
	}
	var he *notify.HTTPError
	if errors.As(err, &he) && he.RetryAfter > 0 {
		return min(he.RetryAfter, notifyMaxDelay)
	}
	d := notifyMaxDelay
	if n < 20 { // beyond, the shift would only overflow past the cap
		d = min(notifyBaseDelay<<max(n, 0), notifyMaxDelay)
	}
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}
