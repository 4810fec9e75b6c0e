package httpapi

import (
	"errors"
	"net/http"

	"github.com/rs/zerolog/hlog"

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
		// Ours or an upstream's (e.g. an SNS confirmation that failed):
		// the provider should retry.
		unavailable(w, r, err)
		return
	}
	if len(res.Events) > 0 {
		if err := a.sink.Record(r.Context(), res.Events); err != nil {
			unavailable(w, r, err)
			return
		}
	}
	if res.AfterQueued != nil {
		if err := res.AfterQueued(r.Context()); err != nil {
			// The events are queued; failing now would only cause a retry
			// that dedup absorbs anyway.
			hlog.FromRequest(r).Warn().Str("provider", name).Err(err).Msg("after-queue step failed")
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
