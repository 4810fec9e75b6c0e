package tracking

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/longtailhq/longtail/event"
)

// Unsubscriber is what the unsubscribe routes need of the rest of
// longtail: the serve command wires it to the directory (nurture.Optout).
type Unsubscriber interface {
	// Unsubscribe withdraws the contact's consent to nurture email, so that
	// the send gate refuses the contact from the moment it returns. It is
	// idempotent.
	Unsubscribe(ctx context.Context, contactID string) error
	// Locale is the contact's locale ("fr", "fr-CA"), "" when unknown: the
	// language of the page.
	Locale(ctx context.Context, contactID string) (string, error)
}

// The unsubscribe routes, one per RFC 8058:
//
//   - GET /u/{token} shows a short page, in the contact's language (en or
//     fr; the browser's Accept-Language when the contact has none), with
//     one button that POSTs to the same URL. It changes nothing: mail
//     scanners and link previews fetch every link of a message.
//   - POST /u/{token} unsubscribes at once: whatever the body (mailbox
//     providers send List-Unsubscribe=One-Click, the page's button sends
//     the same), with no cookie and no CSRF token (RFC 8058 leaves no room
//     for one): the signed token is the authority. It withdraws the
//     contact's consent (Unsubscriber), then records an email.unsubscribe
//     event for scoring, the timeline and the contact's enrolments, with
//     the token's flow, step and message and the id
//     event.HashID("tracking", "unsubscribe", token), so a repeat counts
//     once. Answer 200 and a page saying it is done; 503 with Retry-After
//     when either write failed (the POST can be repeated safely).
//
// A token that does not verify, or is not an unsubscribe token, changes
// nothing and gets 404 with a page saying the link is not valid.

// unsubscribeBodyLimit bounds what a POST may send; nothing in it is read.
const unsubscribeBodyLimit = 4 << 10

func (h *Handler) serveUnsubscribePage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	c, ok := h.verify(r, token, KindUnsubscribe)
	if !ok {
		h.page(w, http.StatusNotFound, h.lang(r, ""), pageInvalid)
		return
	}
	h.page(w, http.StatusOK, h.lang(r, c.ContactID), pageConfirm)
}

func (h *Handler) serveUnsubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, unsubscribeBodyLimit)
	token := r.PathValue("token")
	c, ok := h.verify(r, token, KindUnsubscribe)
	if !ok {
		h.page(w, http.StatusNotFound, h.lang(r, ""), pageInvalid)
		return
	}
	// Detached from the request: a mailbox provider that hangs up early
	// must not leave the consent withdrawn but the event unrecorded.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), h.cfg.RecordTimeout)
	defer cancel()
	log := h.cfg.Log.With().Str("contact_id", c.ContactID).Str("flow", c.Flow).Str("step", c.Step).Logger()
	if err := h.cfg.Unsubscriber.Unsubscribe(ctx, c.ContactID); err != nil {
		log.Warn().Err(err).Msg("tracking: unsubscribe failed")
		w.Header().Set("Retry-After", "60")
		h.page(w, http.StatusServiceUnavailable, h.lang(r, ""), pageFailed)
		return
	}
	now := h.cfg.Clock().UTC()
	e := event.Event{
		ID:         event.HashID(Source, "unsubscribe", token),
		Type:       event.EmailUnsubscribe,
		ContactID:  c.ContactID,
		PartnerID:  c.PartnerID,
		OccurredAt: now,
		Topic:      c.Topic,
		Source:     Source,
		Flow:       c.Flow,
		Step:       c.Step,
		MessageID:  c.MessageID,
		Title:      c.Title,
		UserAgent:  event.Truncate(r.UserAgent(), maxUserAgentLen),
		IP:         h.clientIP(r),
	}
	err := e.Validate()
	if err == nil {
		err = h.cfg.Sink.Record(ctx, []event.Event{e})
	}
	if err != nil {
		h.sinkErrors.Add(1)
		log.Warn().Err(err).Str("event_id", e.ID).Msg("tracking: consent withdrawn but the unsubscribe event was not recorded")
		w.Header().Set("Retry-After", "60")
		h.page(w, http.StatusServiceUnavailable, h.lang(r, ""), pageFailed)
		return
	}
	h.recorded.Add(1)
	h.unsubs.Add(1)
	log.Info().Str("event_id", e.ID).Msg("tracking: contact unsubscribed")
	h.page(w, http.StatusOK, h.lang(r, c.ContactID), pageDone)
}

// lang picks the page's language: the contact's locale when it is one we
// have, else the browser's preference, else English. A failed lookup
// only costs the language.
func (h *Handler) lang(r *http.Request, contactID string) string {
	if contactID != "" {
		ctx, cancel := context.WithTimeout(r.Context(), h.cfg.RecordTimeout)
		defer cancel()
		loc, err := h.cfg.Unsubscriber.Locale(ctx, contactID)
		if err != nil {
			h.cfg.Log.Debug().Err(err).Str("contact_id", contactID).Msg("tracking: contact locale lookup failed")
		}
		if l := language(loc); pageTexts[l] != nil {
			return l
		}
	}
	best, bestQ := "en", -1.0
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if l := language(tag); pageTexts[l] != nil && q > bestQ && q > 0 {
			best, bestQ = l, q
		}
	}
	return best
}

// language is the primary language subtag of a locale, lower-cased.
func language(locale string) string {
	l, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(locale)), "-")
	l, _, _ = strings.Cut(l, "_")
	return l
}

type pageKind int

const (
	pageConfirm pageKind = iota
	pageDone
	pageInvalid
	pageFailed
)

type pageText struct {
	Title, Heading, Body, Button string
}

// pageTexts are the page's words, per language and page; a person reads
// them, so they say what happens in plain words.
var pageTexts = map[string]map[pageKind]pageText{
	"en": {
		pageConfirm: {"Unsubscribe", "Unsubscribe from these emails?",
			"You will not get any more of these emails. Your partner account is not affected.", "Unsubscribe"},
		pageDone: {"Unsubscribed", "You are unsubscribed.",
			"You will not get any more of these emails. If this was a mistake, reply to one of them and we will add you back.", ""},
		pageInvalid: {"Link not valid", "This unsubscribe link is not valid.",
			"It may have been cut or changed. Use the link in the email again, or reply to the email and ask to be taken off the list.", ""},
		pageFailed: {"Please try again", "Something went wrong on our side.",
			"Your request was not saved. Please try again in a minute.", ""},
	},
	"fr": {
		pageConfirm: {"Désabonnement", "Ne plus recevoir ces e-mails ?",
			"Vous ne recevrez plus ces e-mails. Votre compte partenaire n'est pas concerné.", "Me désabonner"},
		pageDone: {"Désabonnement confirmé", "C'est fait, vous êtes désabonné.",
			"Vous ne recevrez plus ces e-mails. Si c'est une erreur, répondez à l'un d'eux et nous vous réinscrirons.", ""},
		pageInvalid: {"Lien non valide", "Ce lien de désabonnement n'est pas valide.",
			"Il a peut-être été coupé ou modifié. Reprenez le lien de l'e-mail, ou répondez à l'e-mail pour demander à être retiré de la liste.", ""},
		pageFailed: {"Merci de réessayer", "Un problème est survenu de notre côté.",
			"Votre demande n'a pas été enregistrée. Merci de réessayer dans une minute.", ""},
	},
}

// pageHTML is the whole page: no script, no external resource, one form
// posting back to the page's own URL (no action attribute).
const pageHTML = `<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#222;line-height:1.5}button{font:inherit;padding:.5rem 1.25rem;cursor:pointer}</style>
</head>
<body>
<h1>{{.Heading}}</h1>
<p>{{.Body}}</p>
{{- if .Button}}
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">{{.Button}}</button></form>
{{- end}}
</body>
</html>
`

// page writes the page of kind in lang with status.
func (h *Handler) page(w http.ResponseWriter, status int, lang string, kind pageKind) {
	var buf bytes.Buffer
	data := struct {
		Lang string
		pageText
	}{lang, pageTexts[lang][kind]}
	if err := h.pages.Execute(&buf, data); err != nil {
		// The template and its data are fixed: this is a bug.
		h.cfg.Log.Error().Err(err).Msg("tracking: unsubscribe page")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Length", strconv.Itoa(buf.Len()))
	// The token is in the URL: no caching, no Referer, no framing.
	hdr.Set("Cache-Control", "no-store, private")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// parsePages parses pageHTML; NewHandler calls it once.
func parsePages() (*template.Template, error) {
	return template.New("unsubscribe").Option("missingkey=error").Parse(pageHTML)
}
