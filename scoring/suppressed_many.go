package scoring

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/scoring/internal/store"
)

// SuppressedMany is Suppressed for many contacts in one pipelined round
// trip: out[i] answers (partnerIDs[i], contactIDs[i]). For the nurture
// engine's batched enrolment.
func (e *Engine) SuppressedMany(ctx context.Context, partnerIDs, contactIDs []string) ([]string, error) {
	if len(partnerIDs) != len(contactIDs) {
		return nil, errors.New("scoring: suppressed: as many partners as contacts")
	}
	pipe := e.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(contactIDs))
	for i := range contactIDs {
		if err := checkID("partner_id", partnerIDs[i]); err != nil {
			return nil, err
		}
		if err := checkID("contact_id", contactIDs[i]); err != nil {
			return nil, err
		}
		cmds[i] = pipe.GetRange(ctx, contactScoreKey(partnerIDs[i], contactIDs[i]), 0, store.HeaderLen-1)
	}
	if len(cmds) == 0 {
		return nil, nil
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("scoring: read contacts: %w", err)
	}
	out := make([]string, len(cmds))
	for i, c := range cmds {
		out[i] = suppression(c.Val())
	}
	return out, nil
}
