package scoring

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// readContacts reads the stored strings of the targets' contacts ("" for
// one not stored) in one round trip, for applyArgs to judge batches
// against. A plain GET costs Redis far less than a script reading and
// searching the same string: Lua hashes every byte of a string it takes
// in, and Redis sends the reply as it is. The script then only checks
// that each contact is still the one read (its version), and a contact
// written in between goes again (applyArgs).
func (e *Engine) readContacts(ctx context.Context, targets []Target) ([]string, error) {
	pipe := e.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(targets))
	for i, t := range targets {
		cmds[i] = pipe.Get(ctx, contactScoreKey(t.PartnerID, t.ContactID))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("scoring: read contacts: %w", err)
	}
	out := make([]string, len(targets))
	for i, cmd := range cmds {
		s, err := cmd.Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("scoring: read contact %s: %w", targets[i].ContactID, err)
		}
		out[i] = s
	}
	return out, nil
}
