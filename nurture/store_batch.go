package nurture

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/internal/scriptrun"
)

// GetMany reads enrollments in one round trip: out[i] is ids[i]'s, nil
// when there is none.
func (s *Store) GetMany(ctx context.Context, ids []string) ([]*Enrollment, error) {
	type ref struct{ pid, fid, cid string }
	refs := make([]ref, len(ids))
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		pid, fid, cid, err := ParseEnrollmentID(id)
		if err != nil {
			return nil, err
		}
		refs[i] = ref{pid, fid, cid}
		cmds[i] = pipe.HGetAll(ctx, enrollmentKey(pid, fid, cid))
	}
	if len(ids) == 0 {
		return nil, nil
	}
	_, _ = pipe.Exec(ctx) // errors are read per command
	out := make([]*Enrollment, len(ids))
	for i, cmd := range cmds {
		h, err := cmd.Result()
		if err != nil {
			return nil, fmt.Errorf("nurture: read enrollment %s: %w", ids[i], err)
		}
		if len(h) > 0 {
			out[i] = decode(refs[i].pid, refs[i].fid, refs[i].cid, h)
		}
	}
	return out, nil
}

// Commit is one transition of CommitMany: C over E.
type Commit struct {
	E *Enrollment
	C Change
}

// CommitMany is Commit for each item, in one round trip (plus one to load
// the script after a Redis restart). out[i] and errs[i] answer items[i] as
// Commit would (ErrMoved included); err is for the round trip itself.
func (s *Store) CommitMany(ctx context.Context, items []Commit, now time.Time) (out []*Enrollment, errs []error, err error) {
	calls := make([]scriptrun.Call, len(items))
	for i, it := range items {
		keys, args := commitArgs(it.E, it.C, now)
		calls[i] = scriptrun.Call{Script: commitScript, Keys: keys, Args: args}
	}
	cmds, err := scriptrun.Pipelined(ctx, s.rdb, calls)
	if err != nil {
		return nil, nil, fmt.Errorf("nurture: commit: %w", err)
	}
	out, errs = make([]*Enrollment, len(items)), make([]error, len(items))
	for i, it := range items {
		q, cerr := cmds[i].Int64()
		out[i], errs[i] = committed(it.E, it.C, now, q, cerr)
	}
	return out, errs, nil
}

// CountN adds n to a step's funnel counter: the count of a batch.
func (s *Store) CountN(ctx context.Context, flowID, stepID, counter string, n int64) error {
	if err := s.rdb.HIncrBy(ctx, funnelKey(flowID), stepID+"."+counter, n).Err(); err != nil {
		return fmt.Errorf("nurture: count %s %s.%s: %w", flowID, stepID, counter, err)
	}
	return nil
}
