package nurture

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/internal/listtrim"
)

// PruneHistories removes from the history of every enrollment of the
// partner (ended ones too) the items older than cutoff, and returns how
// many went. The enrollment itself stays, with its status and end reason:
// re-entry rules read when it ended. Write-time capping keeps the newest
// historyLength items of an enrollment that moves; this reaches the ones
// that ended or stopped moving. Running it twice, or beside a transition,
// removes nothing that was not decided on (listtrim.Pop).
func (s *Store) PruneHistories(ctx context.Context, pid string, cutoff time.Time) (int, error) {
	members, err := s.rdb.SMembers(ctx, partnerIndexKey(pid)).Result()
	if err != nil {
		return 0, fmt.Errorf("nurture: enrollments of %s: %w", pid, err)
	}
	slices.Sort(members)
	cut := cutoff.UnixMilli()
	old := func(item string) bool {
		at, _, _ := strings.Cut(item, " ")
		n, err := strconv.ParseInt(at, 10, 64)
		return err == nil && n < cut // what cannot be read is not judged old
	}
	removed := 0
	for chunk := range slices.Chunk(members, 200) {
		keys := make([]string, 0, len(chunk))
		for _, m := range chunk {
			if f, c, ok := strings.Cut(m, ":"); ok {
				keys = append(keys, historyKey(pid, f, c))
			}
		}
		drops, err := listtrim.Decide(ctx, s.rdb, keys, listtrim.Tail, old)
		if err != nil {
			return removed, fmt.Errorf("nurture: histories of %s: %w", pid, err)
		}
		n, err := listtrim.Pop(ctx, s.rdb, drops)
		removed += n
		if err != nil {
			return removed, fmt.Errorf("nurture: prune histories of %s: %w", pid, err)
		}
	}
	return removed, nil
}

// lastMoves are when each enrollment last moved: its newest history item
// (a pause re-checked every hour rewrites the enrollment, not its
// history, so UpdatedAt would say it moved), else UpdatedAt.
func (s *Store) lastMoves(ctx context.Context, list []*Enrollment) ([]time.Time, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(list))
	for i, en := range list {
		cmds[i] = pipe.LIndex(ctx, historyKey(en.PartnerID, en.Flow, en.ContactID), 0)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("nurture: histories: %w", err)
	}
	out := make([]time.Time, len(list))
	for i, en := range list {
		out[i] = en.UpdatedAt
		at, _, _ := strings.Cut(cmds[i].Val(), " ")
		if t := fromMS(at); !t.IsZero() {
			out[i] = t
		}
	}
	return out, nil
}
