package directory

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// GetContacts is GetContact for many ids in two pipelined round trips
// (the partner of each id, then the records), for the nurture engine's
// batched enrolment. out[i] and errs[i] answer ids[i] as GetContact would
// (ErrNotFound included); err is for Redis as a whole.
func (s *Store) GetContacts(ctx context.Context, ids []string) (out []Contact, errs []error, err error) {
	out, errs = make([]Contact, len(ids)), make([]error, len(ids))
	if len(ids) == 0 {
		return out, errs, nil
	}
	pipe := s.rdb.Pipeline()
	pids := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		if errs[i] = checkID("id", id, true); errs[i] == nil {
			pids[i] = pipe.Get(ctx, contactIDKey(id))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("directory: get contacts: %w", err)
	}
	pipe = s.rdb.Pipeline()
	recs := make([]*redis.StringCmd, len(ids))
	partner := make([]string, len(ids))
	for i, id := range ids {
		if pids[i] == nil {
			continue
		}
		if partner[i] = pids[i].Val(); partner[i] != "" {
			recs[i] = pipe.Get(ctx, contactKey(partner[i], id))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("directory: get contacts: %w", err)
	}
	for i, id := range ids {
		if errs[i] != nil {
			continue
		}
		if recs[i] == nil || recs[i].Val() == "" {
			errs[i] = fmt.Errorf("%w: contact %q", ErrNotFound, id)
			continue
		}
		out[i], errs[i] = decodeContact(partner[i], id, recs[i].Val())
	}
	return out, errs, nil
}
