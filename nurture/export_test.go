package nurture

import "github.com/redis/go-redis/v9"

// StoreClient exposes the store's client to the memory test.
func StoreClient(s *Store) redis.UniversalClient { return s.rdb }

// EnrollmentKeys are the keys an enrolment adds.
func EnrollmentKeys(pid, flowID, cid string) []string {
	return []string{enrollmentKey(pid, flowID, cid), historyKey(pid, flowID, cid), partnerIndexKey(pid)}
}
