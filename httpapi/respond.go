package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/rs/zerolog/hlog"
)

// errorBody is the one error shape of the API.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, format string, args ...any) {
	writeJSON(w, status, errorBody{errorDetail{Code: code, Message: fmt.Sprintf(format, args...)}})
}

// internalError logs err with the request id and answers 500 without
// leaking internals to the caller.
func internalError(w http.ResponseWriter, r *http.Request, err error) {
	hlog.FromRequest(r).Error().Err(err).Msg("internal error")
	writeError(w, http.StatusInternalServerError, "internal", "internal error; the request id is in the X-Request-Id header")
}

// unavailable answers 503 with Retry-After so providers and clients retry.
func unavailable(w http.ResponseWriter, r *http.Request, err error) {
	hlog.FromRequest(r).Warn().Err(err).Msg("storage unavailable")
	w.Header().Set("Retry-After", "30")
	writeError(w, http.StatusServiceUnavailable, "unavailable", "storage is unavailable; retry later")
}

// readBody reads the whole body up to limit bytes; a larger body is 413.
// It reports whether it already answered.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "request body exceeds %d bytes", limit)
			return nil, true
		}
		writeError(w, http.StatusBadRequest, "bad_body", "reading request body: %v", err)
		return nil, true
	}
	return body, false
}

// mediaTypeOK checks Content-Type against the allowed media types and
// answers 415 when it does not match. An empty allow list accepts anything.
func mediaTypeOK(w http.ResponseWriter, r *http.Request, allowed ...string) bool {
	if len(allowed) == 0 {
		return true
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil {
		for _, a := range allowed {
			if strings.EqualFold(mt, a) {
				return true
			}
		}
	}
	writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
		"Content-Type %q is not accepted here; send %s", r.Header.Get("Content-Type"), strings.Join(allowed, " or "))
	return false
}

// decodeJSON reads a JSON object body into dst with unknown fields refused.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, dst any) bool {
	if !mediaTypeOK(w, r, "application/json") {
		return false
	}
	body, done := readBody(w, r, limit)
	if done {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		writeError(w, http.StatusBadRequest, "bad_json", "request body: %v", err)
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "bad_json", "request body: trailing data after the JSON object")
		return false
	}
	return true
}
