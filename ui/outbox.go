package ui

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/longtailhq/longtail/outbox"
)

// outboxLimit is how many messages the list shows: the newest, as the
// embedded server keeps only its capacity anyway.
const outboxLimit = 200

type outboxRow struct {
	ID, From, To, Subject, Flow, Step string
	At                                string
}

type outboxData struct {
	base
	// Enabled is false when smtp.url is set: nothing is captured.
	Enabled bool
	Rows    []outboxRow
}

type outboxMessageData struct {
	base
	M  *outbox.Message
	At string
}

// outboxTime is how the pages write a capture time: UTC, to the second,
// since messages sent seconds apart are what one looks for.
func outboxTime(t time.Time) string { return t.UTC().Format("Mon 2 Jan 2006, 15:04:05 UTC") }

func (h *Handler) outboxPage(w http.ResponseWriter, r *http.Request, s *session) {
	d := outboxData{base: h.base(s, "Outbox"), Enabled: h.cfg.Outbox != nil}
	if d.Enabled {
		msgs, err := h.cfg.Outbox.List(r.Context(), outboxLimit)
		if err != nil {
			h.unavailable(w, r, err)
			return
		}
		for _, m := range msgs {
			d.Rows = append(d.Rows, outboxRow{
				ID: m.ID, From: m.From, To: m.To, Subject: m.Subject, Flow: m.Flow, Step: m.Step,
				At: outboxTime(m.ReceivedAt),
			})
		}
	}
	h.render(w, http.StatusOK, pageOutbox, d)
}

func (h *Handler) outboxMessage(w http.ResponseWriter, r *http.Request, s *session) {
	if h.cfg.Outbox == nil {
		h.errorPage(w, s, http.StatusNotFound, "No outbox", "smtp.url is set: email goes to that server and nothing is captured here.")
		return
	}
	m, err := h.cfg.Outbox.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, outbox.ErrNotFound) {
		h.errorPage(w, s, http.StatusNotFound, "No such message",
			"The outbox keeps only the newest messages; this one is not among them.")
		return
	}
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	m.Subject = strings.TrimSpace(m.Subject)
	h.render(w, http.StatusOK, pageOutboxMessage, outboxMessageData{base: h.base(s, "Outbox: "+m.Subject), M: m, At: outboxTime(m.ReceivedAt)})
}
