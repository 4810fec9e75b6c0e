package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/rs/zerolog/hlog"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/webhook"
)

// providerMedia lists the Content-Types each provider really sends.
var providerMedia = map[string][]string{
	"sendgrid": {"application/json"},
	"mailgun":  {"application/json"},
	"postmark": {"application/json"},
	"ses":      {"text/plain", "application/json"},
	"mandrill": {"application/x-www-form-urlencoded"},
	"brevo":    {"application/json"},
	"zoom":     {"application/json"},
}

func (a *API) webhook(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("provider")
	p, ok := a.providers[name]
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no webhook provider %q is configured", name)
		return
	}
	if r.Method == http.MethodPost && !mediaTypeOK(w, r, providerMedia[name]...) {
		a.metrics.webhookRejected(name, "media_type")
		return
	}
	body, done := readBody(w, r, a.cfg.MaxBodyBytes)
	if done {
		a.metrics.webhookRejected(name, "body")
		return
	}
	res, err := p.Handle(r.Context(), &webhook.Request{
		Method: r.Method, URL: r.URL.RequestURI(), Header: r.Header, Body: body, Now: a.clock(),
	})
	switch {
	case errors.Is(err, webhook.ErrUnauthorized):
		a.metrics.webhookRejected(name, "unauthorized")
		hlog.FromRequest(r).Warn().Str("provider", name).Err(err).Msg("webhook refused")
		writeError(w, http.StatusUnauthorized, "unauthorized", "%v", err)
		return
	case errors.Is(err, webhook.ErrBadPayload):
		a.metrics.webhookRejected(name, "bad_payload")
		hlog.FromRequest(r).Warn().Str("provider", name).Err(err).Msg("webhook payload refused")
		writeError(w, http.StatusBadRequest, "bad_payload", "%v", err)
		return
	case err != nil:
		// Ours or an upstream's (e.g. an SNS subscription confirmation
		// that AWS did not answer): the provider should retry.
		hlog.FromRequest(r).Warn().Str("provider", name).Err(err).Msg("webhook could not be handled now")
		w.Header().Set("Retry-After", "30")
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the delivery could not be handled now; retry later")
		return
	}
	res.Events = a.checkDates(r, name, res)
	if len(res.Events) > 0 {
		if err := a.sink.Record(r.Context(), res.Events); err != nil {
			a.release(r, name, res)
			unavailable(w, r, err)
			return
		}
	}
	a.metrics.webhookAccepted(name, len(res.Events), res.Ignored)
	if res.Reply != nil {
		if res.Reply.ContentType != "" {
			w.Header().Set("Content-Type", res.Reply.ContentType)
		}
		status := res.Reply.Status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		_, _ = w.Write(res.Reply.Body)
		return
	}
	ignored := 0
	for _, n := range res.Ignored {
		ignored += n
	}
	writeJSON(w, http.StatusOK, map[string]int{"accepted": len(res.Events), "ignored": ignored})
}

// release gives back what the provider claimed for a delivery whose events
// could not be queued, so the provider's retry is accepted. It runs even
// when the request's context is done (a client that hung up is the usual
// reason the queueing failed), bounded by its own timeout.
func (a *API) release(r *http.Request, name string, res *webhook.Result) {
	if res.Release == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), releaseTimeout)
	defer cancel()
	if err := res.Release(ctx); err != nil {
		// The claim stays until it expires: the retry is refused as a
		// replay, which is the safe side to fail on.
		hlog.FromRequest(r).Error().Str("provider", name).Err(err).Msg("webhook claim not released after a failed enqueue")
	}
}

// releaseTimeout bounds giving back a claim after a failed enqueue.
const releaseTimeout = 2 * time.Second

// checkDates drops the events dated beyond the future skew from a
// provider's delivery, counting them as ignored ("future") and logging
// why, and counts the ones flagged as before 2000. Refusing the whole
// delivery instead would make the provider retry the good events with the
// bad one forever.
func (a *API) checkDates(r *http.Request, provider string, res *webhook.Result) []event.Event {
	now := a.clock()
	kept := res.Events[:0]
	for _, ev := range res.Events {
		flag, _, err := ev.CheckTime(now, a.cfg.MaxFutureSkew)
		if err != nil {
			a.metrics.eventDate(provider, verdictFuture)
			if res.Ignored == nil {
				res.Ignored = map[string]int{}
			}
			res.Ignored[verdictFuture]++
			hlog.FromRequest(r).Warn().Str("provider", provider).Str("event_id", ev.ID).Err(err).Msg("webhook event refused")
			continue
		}
		if flag != "" {
			a.metrics.eventDate(provider, flag)
		}
		kept = append(kept, ev)
	}
	return kept
}
