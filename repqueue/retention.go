package repqueue

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/longtailhq/longtail/internal/listtrim"
)

// PruneTimeline removes from the partner's queue timeline the oldest
// transitions that happened before cutoff, and returns how many went.
// Write-time trimming keeps the newest 200 of a partner handed off again;
// this reaches partners that never are. The partner's current entry is
// not touched: it is the truth, the timeline only its history. Running it
// twice, or beside a hand-off, removes nothing that was not decided on
// (listtrim.Pop).
func (q *Queue) PruneTimeline(ctx context.Context, partnerID string, cutoff time.Time) (int, error) {
	if err := checkID("partner_id", partnerID); err != nil {
		return 0, err
	}
	key := timelineKey(partnerID)
	drops, err := listtrim.Decide(ctx, q.rdb, []string{key}, listtrim.Tail, func(s string) bool {
		var t Transition
		// What cannot be read is not judged old.
		return json.Unmarshal([]byte(s), &t) == nil && !t.At.IsZero() && t.At.Before(cutoff)
	})
	if err != nil {
		return 0, fmt.Errorf("repqueue: timeline of %s: %w", partnerID, err)
	}
	n, err := listtrim.Pop(ctx, q.rdb, drops)
	if err != nil {
		return n, fmt.Errorf("repqueue: prune timeline of %s: %w", partnerID, err)
	}
	return n, nil
}
