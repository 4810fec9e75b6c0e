package directory

import (
	"context"
	"fmt"
)

// ScanPartnerIDs is one page of an SSCAN over every partner id: the ids
// and the cursor of the next page (0 when the scan is done). A caller
// that keeps the cursor can resume a long walk after a crash; SSCAN
// returns every partner present for the whole walk at least once, and
// may return one twice.
func (s *Store) ScanPartnerIDs(ctx context.Context, cursor uint64, count int64) ([]string, uint64, error) {
	ids, next, err := s.rdb.SScan(ctx, partnersKey, cursor, "", count).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("directory: scan partners: %w", err)
	}
	return ids, next, nil
}
