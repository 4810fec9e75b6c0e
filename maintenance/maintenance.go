// Package maintenance runs the periodic jobs that keep Redis bounded and
// enrollments honest across every partner, including the ones that see
// no new writes (write-time trimming only reaches the ones that do):
// Retention removes timeline entries past retention.timeline and expired
// dedup records; Cleanup ends nurture enrollments that can never finish
// well. Each walks the directory's partners a page at a time, keeping its
// cursor in Redis so that a run that stopped part way resumes where it
// stopped; every change it makes is a compare-and-set decided in the
// package that owns the data, so two runs at once, or a run beside the
// writers, change each thing once.
package maintenance

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Partners pages through every partner id; *directory.Store implements
// it.
type Partners interface {
	ScanPartnerIDs(ctx context.Context, cursor uint64, count int64) ([]string, uint64, error)
}

// DefaultBatch is how many partners a page holds when unset.
const DefaultBatch = 100

// walker is a resumable walk over the partners, under a job name.
type walker struct {
	rdb      redis.UniversalClient
	partners Partners
	job      string
	batch    int64
}

// walk calls page for every page of partner ids, from where the job's
// last walk stopped, saving the cursor after each page; a complete walk
// clears it. It reports whether it resumed a walk. Two walks at once
// share the cursor: each page is still done at least once per walk that
// completes, and done twice changes nothing.
func (w walker) walk(ctx context.Context, page func(ctx context.Context, ids []string) error) (resumed bool, err error) {
	raw, err := w.rdb.HGet(ctx, cursorKey, w.job).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, fmt.Errorf("maintenance: %s: read cursor: %w", w.job, err)
	}
	cursor, _ := strconv.ParseUint(raw, 10, 64) // absent or unreadable: from the start
	resumed = cursor != 0
	for {
		ids, next, err := w.partners.ScanPartnerIDs(ctx, cursor, w.batch)
		if err != nil {
			return resumed, fmt.Errorf("maintenance: %s: %w", w.job, err)
		}
		if err := page(ctx, ids); err != nil {
			return resumed, fmt.Errorf("maintenance: %s: %w", w.job, err)
		}
		if next == 0 {
			if err := w.rdb.HDel(ctx, cursorKey, w.job).Err(); err != nil {
				return resumed, fmt.Errorf("maintenance: %s: clear cursor: %w", w.job, err)
			}
			return resumed, nil
		}
		if err := w.rdb.HSet(ctx, cursorKey, w.job, next).Err(); err != nil {
			return resumed, fmt.Errorf("maintenance: %s: save cursor: %w", w.job, err)
		}
		if err := ctx.Err(); err != nil {
			return resumed, err
		}
		cursor = next
	}
}
