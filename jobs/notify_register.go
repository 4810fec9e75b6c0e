package jobs

import (
	"reflect"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/notify"
)

// NotifyDeps are what the notification handlers need.
type NotifyDeps struct {
	// Renderer renders the rep emails. Required.
	Renderer *notify.Renderer
	// Mailer sends them. Nil (smtp.url unset) means notifications are
	// logged, not emailed. A typed nil pointer counts as nil.
	Mailer Mailer
	// Webhooks are the handoff.webhooks receivers. Nil means none; tasks
	// left over for a receiver no longer configured fail permanently.
	Webhooks *notify.WebhookSender
	// Redis holds the at-most-once send markers. Required with a Mailer.
	Redis redis.UniversalClient
	// Log receives one line per notification; no email address above
	// debug level.
	Log zerolog.Logger
	// Digest enables the daily digest task when its Reps and Queue are set.
	Digest DigestDeps
	// SendingTTL is how long an attempt's "sending" marker lives, and so
	// how long a retry waits after a worker died mid-send. Sends are cut
	// at half of it. If zero, 5 minutes.
	SendingTTL time.Duration
}

// RegisterNotify adds the notification handlers to mux. It panics on a
// missing dependency, like Register: a wiring bug must stop the boot.
func RegisterNotify(mux *asynq.ServeMux, d NotifyDeps) {
	if d.Renderer == nil {
		panic("jobs: NotifyDeps.Renderer is required")
	}
	if isNilMailer(d.Mailer) {
		d.Mailer = nil
	}
	if d.Mailer != nil && d.Redis == nil {
		panic("jobs: NotifyDeps.Redis is required when a Mailer is set")
	}
	if d.SendingTTL < 0 {
		panic("jobs: NotifyDeps.SendingTTL is negative")
	}
	if d.SendingTTL == 0 {
		d.SendingTTL = defaultSendingTTL
	}
	hooks := d.Webhooks
	if hooks == nil {
		var err error
		if hooks, err = notify.NewWebhookSender(nil, nil); err != nil {
			panic("jobs: empty webhook sender: " + err.Error())
		}
	}
	n := &repNotifier{r: d.Renderer, m: d.Mailer, rdb: d.Redis, log: d.Log, ttl: d.SendingTTL}
	mux.Handle(TypeNotifyRep, handleNotifyRep(n))
	if d.Digest.Reps != nil && d.Digest.Queue != nil {
		if d.Digest.Clock == nil {
			d.Digest.Clock = time.Now
		}
		mux.Handle(TypeNotifyDigest, handleNotifyDigest(n, d.Digest))
	}
	mux.Handle(TypeNotifyWebhook, handleNotifyWebhook(hooks, d.Log))
}

// isNilMailer catches a nil *mailer.Mailer stored in the interface, which
// would otherwise pass the nil check and panic on the first send.
func isNilMailer(m Mailer) bool {
	if m == nil {
		return true
	}
	v := reflect.ValueOf(m)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
