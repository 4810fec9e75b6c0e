// Package webhook is the edge for email and webinar platforms: it checks
// each provider's authentication over the raw request bytes and turns the
// provider's payload into canonical events. Each provider lives in a
// sub-package (webhook/sendgrid, webhook/ses, ...) implementing Provider.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/longtailhq/longtail/event"
)

// Errors a Provider wraps so the HTTP layer can answer with the right status.
var (
	// ErrUnauthorized: the signature, token or credentials do not match, or a
	// signed timestamp is outside the replay window. Answered 401.
	ErrUnauthorized = errors.New("webhook authentication failed")
	// ErrBadPayload: authenticated (or unauthenticated where the provider has
	// no signature) but the body cannot be parsed. Answered 400.
	ErrBadPayload = errors.New("webhook payload cannot be parsed")
)

// Request is one delivery exactly as received. Body holds the raw bytes;
// signatures are always checked over Body, never over re-encoded JSON.
type Request struct {
	Method string
	// URL is the request URL as the server saw it (path and raw query).
	URL    string
	Header http.Header
	Body   []byte
	// Now is the injected clock reading for replay windows.
	Now time.Time
}

// Result is what one delivery yields.
type Result struct {
	// Events are the normalised events, in payload order. Their IDs follow
	// the provider's documented dedup rule.
	Events []event.Event
	// Ignored counts payload items that were authentic but carry no
	// engagement fact longtail scores (e.g. "processed", "deferred", SNS
	// non-SES messages), keyed by the provider's own type name.
	Ignored map[string]int
	// Reply, when set, is written instead of the default acknowledgement
	// (Zoom's endpoint.url_validation answer).
	Reply *Reply
	// Release, when set, undoes what Handle claimed to accept this delivery
	// once (a Mailgun replay token). The caller runs it when the events
	// could not be queued, so that the provider's retry of the same delivery
	// is not mistaken for a replay and lost.
	Release func(ctx context.Context) error
}

// Reply is a provider-specific response body.
type Reply struct {
	Status      int
	ContentType string
	Body        []byte
}

// Provider authenticates and parses one platform's deliveries.
type Provider interface {
	// Name is the path segment under /webhooks/ and the event Source.
	Name() string
	// Handle verifies req (wrapping ErrUnauthorized on failure) and then
	// parses it (wrapping ErrBadPayload). A rejected request changes
	// nothing; an accepted one may hold a claim that Result.Release undoes.
	Handle(ctx context.Context, req *Request) (*Result, error)
}

// Ignore records one authentic but unscored item in r.
func (r *Result) Ignore(kind string) {
	if r.Ignored == nil {
		r.Ignored = map[string]int{}
	}
	r.Ignored[kind]++
}

// Add records what a provider's normalize made of payload item i: ev, or
// when ev is nil, an item of the provider's type kind to ignore. A
// normalize error, or an event that does not validate, is ErrBadPayload
// naming the item; then r is left as it was.
func (r *Result) Add(i int, ev *event.Event, kind string, err error) error {
	if err == nil && ev != nil {
		err = ev.Validate()
	}
	if err != nil {
		return fmt.Errorf("%w: item %d: %v", ErrBadPayload, i, err)
	}
	if ev == nil {
		r.Ignore(kind)
		return nil
	}
	r.Events = append(r.Events, *ev)
	return nil
}
