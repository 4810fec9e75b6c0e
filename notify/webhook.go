package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Webhook event types, the "type" of a Payload and the X-Longtail-Event
// header. They are wire names: receivers switch on them.
const (
	EventHandoffCreated = "handoff.created"
	EventHandoffOutcome = "handoff.outcome"
)

// Headers of a webhook delivery.
const (
	HeaderEvent     = "X-Longtail-Event"
	HeaderDelivery  = "X-Longtail-Delivery"
	HeaderSignature = "X-Longtail-Signature"
)

// MinSecretLen is the shortest webhook secret accepted.
const MinSecretLen = 16

var (
	// ErrPermanent marks a delivery the receiver refused for good (a 4xx
	// other than 408 and 429, a redirect) or that cannot be built.
	ErrPermanent = errors.New("permanent webhook failure")
	// ErrInvalidSignature is returned by VerifySignature.
	ErrInvalidSignature = errors.New("invalid webhook signature")
)

// Webhook is one receiver from handoff.webhooks.
type Webhook struct {
	URL    string
	Secret string
}

// Payload is the JSON body of every delivery.
type Payload struct {
	Type string `json:"type"`
	// ID is stable for the event: a retried delivery has the same id and
	// receivers deduplicate on it (it is also X-Longtail-Delivery).
	ID         string          `json:"id"`
	OccurredAt time.Time       `json:"occurred_at"`
	Data       json.RawMessage `json:"data"`
}

// NewHandoffPayload describes h as a handoff.created event.
func NewHandoffPayload(h Handoff) (Payload, error) {
	data, err := json.Marshal(h)
	if err != nil {
		return Payload{}, fmt.Errorf("notify: encode hand-off of partner %q: %v: %w", h.PartnerID, err, ErrInvalid)
	}
	return Payload{Type: EventHandoffCreated, ID: EventHandoffCreated + "." + h.ID(), OccurredAt: h.QueuedAt.UTC(), Data: data}, nil
}

// NewOutcomePayload describes o as a handoff.outcome event.
func NewOutcomePayload(o Outcome) (Payload, error) {
	data, err := json.Marshal(o)
	if err != nil {
		return Payload{}, fmt.Errorf("notify: encode outcome of partner %q: %v: %w", o.PartnerID, err, ErrInvalid)
	}
	return Payload{Type: EventHandoffOutcome, ID: EventHandoffOutcome + "." + o.ID(), OccurredAt: o.At.UTC(), Data: data}, nil
}

// Marshal returns the body to deliver; sign and send these exact bytes.
func (p Payload) Marshal() ([]byte, error) { return json.Marshal(p) }

// Sign returns the X-Longtail-Signature value for body sent at ts:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<unix>." + body)>". The
// timestamp is inside the MAC so a captured delivery cannot be replayed
// later with a fresh timestamp.
func Sign(secret string, ts time.Time, body []byte) string {
	unix := strconv.FormatInt(ts.Unix(), 10)
	return "t=" + unix + ",v1=" + hex.EncodeToString(mac(secret, unix, body))
}

func mac(secret, unix string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(unix))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// VerifySignature checks header against body as a receiver would: the
// timestamp must be within maxAge of now (either way, for clock skew) and
// one of the v1 values must match. Several v1 values are accepted so a
// sender can sign with an old and a new secret while rotating.
func VerifySignature(secret, header string, body []byte, now time.Time, maxAge time.Duration) error {
	var (
		unix string
		sigs [][]byte
	)
	for _, item := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return fmt.Errorf("%w: malformed element %q", ErrInvalidSignature, item)
		}
		switch k {
		case "t":
			if unix != "" {
				return fmt.Errorf("%w: more than one timestamp", ErrInvalidSignature)
			}
			unix = v
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil {
				return fmt.Errorf("%w: v1 is not hex", ErrInvalidSignature)
			}
			sigs = append(sigs, b)
		}
	}
	if unix == "" || len(sigs) == 0 {
		return fmt.Errorf("%w: want t=<unix>,v1=<hex>", ErrInvalidSignature)
	}
	sec, err := strconv.ParseInt(unix, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not a number", ErrInvalidSignature, unix)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxAge || d < -maxAge {
		return fmt.Errorf("%w: timestamp is %s from now, more than %s", ErrInvalidSignature, d.Round(time.Second), maxAge)
	}
	want := mac(secret, unix, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 matches", ErrInvalidSignature)
}

// HTTPError is a receiver's non-2xx answer.
type HTTPError struct {
	Status int
	// RetryAfter is the receiver's Retry-After, zero when absent.
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("receiver answered %d %s", e.Status, http.StatusText(e.Status))
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return s
}

// WebhookSender delivers payloads to the configured receivers. It is safe
// for concurrent use.
type WebhookSender struct {
	hooks  []Webhook
	hosts  []string
	client *http.Client
	now    func() time.Time
}

// defaultWebhookTimeout bounds a delivery when the caller gives no client.
const defaultWebhookTimeout = 10 * time.Second

// NewWebhookSender validates hooks (absolute http or https URLs, secrets of
// at least MinSecretLen bytes). client nil means a client with a 10s
// timeout on a connection pool of its own: whoever else in the process
// calls http.DefaultTransport.CloseIdleConnections (httptest.Server.Close
// does) would otherwise break a delivery in flight. Redirects are never
// followed: Go would turn the POST into a GET, and a moved receiver is a
// configuration change to make, not to guess.
func NewWebhookSender(hooks []Webhook, client *http.Client) (*WebhookSender, error) {
	s := &WebhookSender{now: time.Now}
	var errs []error
	for i, h := range hooks {
		u, err := url.Parse(h.URL)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("handoff.webhooks[%d].url is not a URL", i))
			continue
		case u.Scheme != "https" && u.Scheme != "http":
			errs = append(errs, fmt.Errorf("handoff.webhooks[%d].url scheme %q: want https or http", i, u.Scheme))
		case u.Host == "":
			errs = append(errs, fmt.Errorf("handoff.webhooks[%d].url has no host", i))
		}
		if len(h.Secret) < MinSecretLen {
			errs = append(errs, fmt.Errorf("handoff.webhooks[%d].secret is %d bytes, want at least %d", i, len(h.Secret), MinSecretLen))
		}
		s.hooks = append(s.hooks, h)
		s.hosts = append(s.hosts, u.Host)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{Timeout: defaultWebhookTimeout, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s.client = &c
	return s, nil
}

// Len is the number of configured receivers.
func (s *WebhookSender) Len() int { return len(s.hooks) }

// Deliver posts body, a marshalled Payload, to receiver hookIndex, signed
// with its secret. 2xx is success. ErrPermanent is wrapped for a 3xx, a
// 4xx other than 408/429, a hookIndex out of range and a body that is not a
// Payload; anything else (5xx, 408, 429, network, timeout) is transient.
// Errors name the receiver by index and host only: URLs may carry tokens.
func (s *WebhookSender) Deliver(ctx context.Context, hookIndex int, body []byte) error {
	if hookIndex < 0 || hookIndex >= len(s.hooks) {
		return fmt.Errorf("notify: webhook %d is not configured (%d receivers): %w", hookIndex, len(s.hooks), ErrPermanent)
	}
	var p struct{ Type, ID string }
	if err := json.Unmarshal(body, &p); err != nil || p.Type == "" || p.ID == "" {
		return fmt.Errorf("notify: webhook body is not a payload with type and id: %w", ErrPermanent)
	}
	h := s.hooks[hookIndex]
	where := fmt.Sprintf("notify: webhook %d (%s) %s %s", hookIndex, s.hosts[hookIndex], p.Type, p.ID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: build request: %w", where, ErrPermanent)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "longtail-webhooks/1")
	req.Header.Set(HeaderEvent, p.Type)
	req.Header.Set(HeaderDelivery, p.ID)
	req.Header.Set(HeaderSignature, Sign(h.Secret, s.now(), body))
	resp, err := s.client.Do(req)
	if err != nil {
		// *url.Error repeats the full URL; keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	defer resp.Body.Close()
	// Drain a little so the connection can be reused; receivers' bodies are
	// not needed.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	herr := &HTTPError{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), s.now())}
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return fmt.Errorf("%s: %w", where, herr)
	default:
		return fmt.Errorf("%s: %w: %w", where, herr, ErrPermanent)
	}
}

// retryAfter parses Retry-After as seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
