package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/longtailhq/longtail/event"
)

type rejection struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// warning is an accepted event the caller should look at (a date before
// 2000), by index.
type warning struct {
	Index   int    `json:"index"`
	Flag    string `json:"flag"`
	Warning string `json:"warning"`
}

type eventsResponse struct {
	Accepted int         `json:"accepted"`
	Rejected []rejection `json:"rejected"`
	Warnings []warning   `json:"warnings,omitempty"`
}

// verdictFuture labels events refused for a date beyond the skew.
const verdictFuture = "future"

// postEvents takes a JSON array or NDJSON of canonical events. Each item is
// decoded on its own so one bad item is reported by index and the rest are
// still accepted.
func (a *API) postEvents(w http.ResponseWriter, r *http.Request) {
	if !mediaTypeOK(w, r, "application/json", "application/x-ndjson", "application/jsonl", "application/json-seq") {
		return
	}
	body, done := readBody(w, r, a.cfg.MaxBodyBytes)
	if done {
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		writeError(w, http.StatusBadRequest, "bad_json", "empty body: send a JSON array or NDJSON of events")
		return
	}
	items, err := event.SplitBatch(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_json", "body %v", err)
		return
	}
	if len(items) > a.cfg.MaxEvents {
		writeError(w, http.StatusRequestEntityTooLarge, "too_many_events", "%d events in one request; the limit is %d (ingest.max_events)", len(items), a.cfg.MaxEvents)
		return
	}
	// An event without occurred_at happened when it was received: a CRM
	// or a scanner posting as things happen need not stamp them, and a
	// sample file without dates scores the same whenever it is posted.
	received := a.clock().UTC()
	resp := eventsResponse{Rejected: []rejection{}}
	valid := make([]event.Event, 0, len(items))
	parsed := 0
	for i, item := range items {
		var ev event.Event
		dec := json.NewDecoder(bytes.NewReader(item.JSON))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			resp.Rejected = append(resp.Rejected, rejection{i, "not a canonical event: " + err.Error()})
			continue
		}
		parsed++
		if ev.Source == "" {
			ev.Source = "api"
		}
		if ev.OccurredAt.IsZero() {
			ev.OccurredAt = received
		}
		if err := ev.Validate(); err != nil {
			resp.Rejected = append(resp.Rejected, rejection{i, err.Error()})
			continue
		}
		flag, warn, err := ev.CheckTime(received, a.cfg.MaxFutureSkew)
		if err != nil {
			a.metrics.eventDate("api", verdictFuture)
			resp.Rejected = append(resp.Rejected, rejection{i, err.Error()})
			continue
		}
		if flag != "" {
			a.metrics.eventDate("api", flag)
			resp.Warnings = append(resp.Warnings, warning{i, flag, warn})
		}
		valid = append(valid, ev)
	}
	if parsed == 0 && len(items) > 0 {
		writeJSON(w, http.StatusBadRequest, struct {
			errorBody
			Rejected []rejection `json:"rejected"`
		}{errorBody{errorDetail{"bad_json", "no item could be parsed as a canonical event"}}, resp.Rejected})
		return
	}
	if len(valid) > 0 {
		if err := a.sink.Record(r.Context(), valid); err != nil {
			unavailable(w, r, err)
			return
		}
	}
	resp.Accepted = len(valid)
	status := http.StatusOK
	if resp.Accepted == 0 && len(resp.Rejected) > 0 {
		status = http.StatusUnprocessableEntity
	}
	writeJSON(w, status, resp)
}
