package jobs

import (
	"context"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/notify"
)

// RepNotifier emails reps (*notify.RepNotifier implements it).
type RepNotifier interface {
	SendHandoff(ctx context.Context, step string, h notify.Handoff) error
	SendDigests(ctx context.Context) error
}

// NotifyDeps are what the notification handlers need.
type NotifyDeps struct {
	// Reps sends the hand-off emails and digests. Required.
	Reps RepNotifier
	// Webhooks are the handoff.webhooks receivers. Nil means none; tasks
	// left over for a receiver no longer configured fail permanently.
	Webhooks *notify.WebhookSender
	// Log receives a line per delivered webhook (debug).
	Log zerolog.Logger
}

// RegisterNotify adds the notification handlers to mux. It panics on a
// missing dependency, like Register: a wiring bug must stop the boot.
func RegisterNotify(mux *asynq.ServeMux, d NotifyDeps) {
	if d.Reps == nil {
		panic("jobs: NotifyDeps.Reps is required")
	}
	hooks := d.Webhooks
	if hooks == nil {
		var err error
		if hooks, err = notify.NewWebhookSender(nil, nil); err != nil {
			panic("jobs: empty webhook sender: " + err.Error())
		}
	}
	mux.Handle(TypeNotifyRep, handleNotifyRep(d.Reps))
	mux.Handle(TypeNotifyDigest, handleNotifyDigest(d.Reps))
	mux.Handle(TypeNotifyWebhook, handleNotifyWebhook(hooks, d.Log))
}
