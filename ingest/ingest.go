// Package ingest turns accepted events into state: it resolves each event
// to a contact, groups a batch by contact and hands each group to the
// scoring engine in one atomic step. It also assigns interest topics at the
// edge. It knows nothing of HTTP or of the task queue.
package ingest

import (
	"context"

	"github.com/longtailhq/longtail/event"
)

// Sink durably queues one request's events as one unit of work. The edge
// answers 2xx only after Record returned nil.
type Sink interface {
	Record(ctx context.Context, events []event.Event) error
}
