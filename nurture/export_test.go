package nurture

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// StoreClient exposes the store's client to the memory test.
func StoreClient(s *Store) redis.UniversalClient { return s.rdb }

// EnrollmentKeys are the keys an enrolment adds.
func EnrollmentKeys(pid, flowID, cid string) []string {
	return []string{enrollmentKey(pid, flowID, cid), historyKey(pid, flowID, cid), partnerIndexKey(pid)}
}

// EndListed is the engine's endAll: it ends what of list is still
// running, as read by the caller (possibly stale).
func EndListed(e *Engine, ctx context.Context, list []*Enrollment, reason, counter string) error {
	return e.endAll(ctx, list, reason, counter)
}
