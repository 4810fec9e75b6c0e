// Package ingest is the worker's step for accepted events: it resolves
// each event to a contact (creating contacts for unknown addresses unless
// configured not to), groups a batch by contact, has the scoring engine
// judge and apply each group in one atomic step, and returns what happened:
// per contact, the events as judged, and the partners' threshold crossings
// to hand off. It knows nothing of HTTP or of the task queue; the caller
// (package jobs) queues the hand-offs and then acknowledges them here.
//
// Topics are assigned before events are queued, at the edge (package
// topic).
package ingest
