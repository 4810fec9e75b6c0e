package repqueue

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// MayMailMany is MayMail for many partners in one pipelined round trip
// (each partner read once however many of its contacts ask): ok[i] and
// why[i] answer partnerIDs[i], for the nurture engine's batched enrolment.
func (q *Queue) MayMailMany(ctx context.Context, partnerIDs []string) (ok []bool, why []string, err error) {
	type reads struct {
		st *redis.StringCmd
		n  *redis.MapStringStringCmd
	}
	byPartner := map[string]reads{}
	pipe := q.rdb.Pipeline()
	for _, pid := range partnerIDs {
		if err := checkID("partner_id", pid); err != nil {
			return nil, nil, err
		}
		if _, seen := byPartner[pid]; !seen {
			byPartner[pid] = reads{pipe.HGet(ctx, entryKey(pid), fState), pipe.HGetAll(ctx, nurtureKey(pid))}
		}
	}
	if len(partnerIDs) == 0 {
		return nil, nil, nil
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("repqueue: may mail: %w", err)
	}
	ok, why = make([]bool, len(partnerIDs)), make([]string, len(partnerIDs))
	for i, pid := range partnerIDs {
		r := byPartner[pid]
		ok[i], why[i] = q.mayMail(r.st.Val(), r.n.Val())
	}
	return ok, why, nil
}
