package tracking

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/event"
)

// Source is the event.Event Source of every event this package records.
const Source = "tracking"

// Sink takes recorded events; the server wires it to the durable queue.
// Record returns only once the events are safe, or an error.
type Sink interface {
	Record(ctx context.Context, events []event.Event) error
}

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	// Signer verifies tokens. Required.
	Signer *Signer
	// Sink receives the open and click events. Required.
	Sink Sink
	// Clock gives the time of a hit. If nil, time.Now.
	Clock func() time.Time
	// Log receives sink failures (warn) and rejected tokens (debug). The
	// zero value discards everything.
	Log zerolog.Logger
	// FallbackURL is where a click with a bad token is sent: an absolute
	// http(s) URL such as the public web site. If empty, such a click gets a
	// 404 with a short plain-text page.
	FallbackURL string
	// TrustProxyHeaders takes the client address from X-Forwarded-For (its
	// last entry, the one the nearest proxy appended; earlier entries are
	// whatever the client sent). If false, the header is ignored and the
	// connection's peer address is used. Enable only behind a proxy that
	// sets the header.
	TrustProxyHeaders bool
	// RecordTimeout bounds the wait on Sink.Record so a slow queue cannot
	// hold a redirect. If zero, 2s. The wait is detached from the request's
	// cancellation: a reader closing the mail mid-request still counts.
	RecordTimeout time.Duration
	// Unsubscriber, when set, serves GET and POST /u/{token} (see
	// unsubscribe.go). If nil, those routes are not mounted.
	Unsubscriber Unsubscriber
}

// Stats is a snapshot of a Handler's counters since it was created.
type Stats struct {
	// Recorded counts events the sink accepted.
	Recorded uint64
	// Forged counts requests whose token failed verification or was of the
	// wrong kind for the route (HEAD included).
	Forged uint64
	// SinkErrors counts events lost because the sink failed.
	SinkErrors uint64
	// Unsubscribes counts unsubscribe POSTs that took effect (a repeat
	// counts again: the Unsubscriber and the event id make it a no-op).
	Unsubscribes uint64
}

// Handler serves the open pixel and click redirects. Register it on a mux.
//
// A GET with a valid token of the route's kind records one event with Source
// "tracking" and ID event.HashID("tracking", "open"|"click", token,
// <hit time in UTC truncated to the second, RFC 3339>). HEAD answers the same
// but records nothing, because link scanners probe with it.
type Handler struct {
	cfg        HandlerConfig
	recorded   atomic.Uint64
	forged     atomic.Uint64
	sinkErrors atomic.Uint64
	unsubs     atomic.Uint64
	pages      *template.Template // the unsubscribe pages
}

// NewHandler validates cfg, fills in its defaults and returns the handler.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	if cfg.Signer == nil {
		return nil, errors.New("tracking: handler: Signer is required")
	}
	if cfg.Sink == nil {
		return nil, errors.New("tracking: handler: Sink is required")
	}
	if cfg.FallbackURL != "" {
		if err := CheckRedirectURL(cfg.FallbackURL); err != nil {
			return nil, fmt.Errorf("tracking: handler: FallbackURL: %w", err)
		}
	}
	if cfg.RecordTimeout < 0 {
		return nil, fmt.Errorf("tracking: handler: RecordTimeout must not be negative, got %s", cfg.RecordTimeout)
	}
	if cfg.RecordTimeout == 0 {
		cfg.RecordTimeout = 2 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	pages, err := parsePages()
	if err != nil {
		return nil, fmt.Errorf("tracking: handler: %w", err)
	}
	return &Handler{cfg: cfg, pages: pages}, nil
}

// Register mounts GET (and so HEAD) /t/o/{token} and /t/c/{token} on mux,
// and GET and POST /u/{token} when an Unsubscriber is configured.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /t/o/{token}", h.serveOpen)
	mux.HandleFunc("GET /t/c/{token}", h.serveClick)
	if h.cfg.Unsubscriber != nil {
		mux.HandleFunc("GET /u/{token}", h.serveUnsubscribePage)
		mux.HandleFunc("POST /u/{token}", h.serveUnsubscribe)
	}
}

// Stats returns the current counters.
func (h *Handler) Stats() Stats {
	return Stats{
		Recorded:     h.recorded.Load(),
		Forged:       h.forged.Load(),
		SinkErrors:   h.sinkErrors.Load(),
		Unsubscribes: h.unsubs.Load(),
	}
}

// pixelGIF is a 1×1 GIF89a whose single pixel is transparent.
const pixelGIF = "GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff" +
	"!\xf9\x04\x01\x00\x00\x00\x00" +
	",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"

func (h *Handler) serveOpen(w http.ResponseWriter, r *http.Request) {
	// The pixel is the same whatever the token: an image that fails to load
	// would show a broken-image icon in the reader's mail.
	hdr := w.Header()
	hdr.Set("Content-Type", "image/gif")
	hdr.Set("Content-Length", strconv.Itoa(len(pixelGIF)))
	hdr.Set("Cache-Control", "no-store, private")
	hdr.Set("Referrer-Policy", "no-referrer")

	token := r.PathValue("token")
	if c, ok := h.verify(r, token, KindOpen); ok && r.Method == http.MethodGet {
		h.record(r, event.EmailOpen, token, c)
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, pixelGIF)
	}
}

func (h *Handler) serveClick(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store, private")
	hdr.Set("Referrer-Policy", "no-referrer")

	token := r.PathValue("token")
	c, ok := h.verify(r, token, KindClick)
	if !ok {
		// Never a target taken from the request: only the configured page.
		if h.cfg.FallbackURL != "" {
			hdr.Set("Location", h.cfg.FallbackURL)
			w.WriteHeader(http.StatusFound)
			return
		}
		const body = "link not found\n"
		hdr.Set("Content-Type", "text/plain; charset=utf-8")
		hdr.Set("Content-Length", strconv.Itoa(len(body)))
		hdr.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusNotFound)
		if r.Method != http.MethodHead {
			_, _ = io.WriteString(w, body)
		}
		return
	}
	// Link scanners probe with HEAD; only a GET is somebody following it.
	if r.Method == http.MethodGet {
		h.record(r, event.EmailClick, token, c)
	}
	hdr.Set("Location", c.URL)
	w.WriteHeader(http.StatusFound)
}

// verify returns the claims of token if it is a valid token of kind want.
func (h *Handler) verify(r *http.Request, token string, want Kind) (Claims, bool) {
	kind, c, err := h.cfg.Signer.Verify(token)
	if err == nil && kind != want {
		err = fmt.Errorf("%w: %s token on the %s route", ErrInvalidToken, kind, want)
	}
	if err != nil {
		h.forged.Add(1)
		h.cfg.Log.Debug().Err(err).Str("path", r.URL.Path).Str("ip", h.clientIP(r)).Msg("tracking: rejected token")
		return Claims{}, false
	}
	return c, true
}

// record builds the event and hands it to the sink. Failures are logged and
// counted, never shown: the person still gets the pixel or the redirect.
func (h *Handler) record(r *http.Request, typ event.Type, token string, c Claims) {
	now := h.cfg.Clock().UTC()
	e := event.Event{
		// The second-truncated time folds a client's immediate double load
		// into one id while a later re-open gets its own.
		ID:         event.HashID(Source, strings.TrimPrefix(string(typ), "email."), token, now.Truncate(time.Second).Format(time.RFC3339)),
		Type:       typ,
		ContactID:  c.ContactID,
		PartnerID:  c.PartnerID,
		OccurredAt: now,
		Topic:      c.Topic,
		URL:        c.URL,
		Source:     Source,
		Flow:       c.Flow,
		Step:       c.Step,
		MessageID:  c.MessageID,
		Title:      c.Title,
		UserAgent:  event.Truncate(r.UserAgent(), maxUserAgentLen),
		IP:         h.clientIP(r),
	}
	log := h.cfg.Log.With().Str("event_id", e.ID).Str("type", string(typ)).
		Str("contact_id", c.ContactID).Str("message_id", c.MessageID).Logger()
	if err := e.Validate(); err != nil {
		// Sign and Verify enforce the same limits as Validate, so this is a
		// bug, not bad input.
		h.sinkErrors.Add(1)
		log.Error().Err(err).Msg("tracking: verified token made an invalid event")
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), h.cfg.RecordTimeout)
	defer cancel()
	if err := h.cfg.Sink.Record(ctx, []event.Event{e}); err != nil {
		h.sinkErrors.Add(1)
		log.Warn().Err(err).Msg("tracking: event lost: sink failed")
		return
	}
	h.recorded.Add(1)
}

// maxUserAgentLen keeps an absurd User-Agent from bloating stored events.
const maxUserAgentLen = 512

// clientIP returns the address of the client as configured: the peer, or
// the last X-Forwarded-For entry when proxy headers are trusted.
func (h *Handler) clientIP(r *http.Request) string {
	if h.cfg.TrustProxyHeaders {
		if vals := r.Header.Values("X-Forwarded-For"); len(vals) > 0 {
			last := vals[len(vals)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if a, err := netip.ParseAddr(strings.TrimSpace(last)); err == nil {
				return a.Unmap().String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap().String()
	}
	return ""
}
