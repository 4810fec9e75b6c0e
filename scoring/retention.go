package scoring

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/internal/listtrim"
	"github.com/longtailhq/longtail/internal/scriptrun"
	"github.com/longtailhq/longtail/scoring/internal/store"
)

// pruneChunk is how many contacts of a partner one round trip reads.
const pruneChunk = 200

// scoredContacts are the ids of the partner's scored contacts (its
// lt:{p:<pid>}:s:pc entries), including contacts no longer in the
// directory: their scoring keys are still there to prune.
func (e *Engine) scoredContacts(ctx context.Context, partnerID string) ([]string, error) {
	if err := checkID("partner_id", partnerID); err != nil {
		return nil, err
	}
	raw, err := e.rdb.Get(ctx, partnerContactsKey(partnerID)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("scoring: contacts of partner %s: %w", partnerID, err)
	}
	ids, err := store.ParseEntries(raw)
	if err != nil {
		return nil, fmt.Errorf("scoring: contacts of partner %s: %w", partnerID, err)
	}
	return ids, nil
}

// PruneTimelines removes from the timeline of every scored contact of the
// partner the oldest batches whose events all occurred before cutoff; it
// returns how many batches went. A batch with one event at or after
// cutoff, and every batch after it, stays (the timeline is in arrival
// order). Write-time trimming keeps the newest TimelineLength batches of a
// contact that gets events; this reaches the contacts that get none.
// Running it twice, or beside a writer, removes nothing that was not
// decided on (listtrim.Pop).
func (e *Engine) PruneTimelines(ctx context.Context, partnerID string, cutoff time.Time) (int, error) {
	ids, err := e.scoredContacts(ctx, partnerID)
	if err != nil {
		return 0, err
	}
	old := func(elem string) bool {
		for line := range strings.SplitSeq(elem, "\n") {
			it, err := store.ParseItem([]byte(line))
			if err != nil || !it.OccurredAt.Before(cutoff) {
				return false // what cannot be read is not judged old
			}
		}
		return true
	}
	removed := 0
	for chunk := range slices.Chunk(ids, pruneChunk) {
		keys := make([]string, len(chunk))
		for i, cid := range chunk {
			keys[i] = contactTimelineKey(partnerID, cid)
		}
		drops, err := listtrim.Decide(ctx, e.rdb, keys, listtrim.Head, old)
		if err != nil {
			return removed, fmt.Errorf("scoring: timelines of partner %s: %w", partnerID, err)
		}
		n, err := listtrim.Pop(ctx, e.rdb, drops)
		removed += n
		if err != nil {
			return removed, fmt.Errorf("scoring: prune timelines of partner %s: %w", partnerID, err)
		}
	}
	return removed, nil
}

// CompactIdle compacts the contact strings of the partner's scored
// contacts whose compaction time has come, and returns how many it
// compacted. Compaction drops the seen markers (event ids, per-message
// opens and clicks, deliveries, daily caps) that expired: an event id is
// kept DedupRetention after it was seen, so a redelivery inside that
// window still counts once. A contact that gets events is compacted as
// it is written; this reaches the ones that get none. The decision is
// the one a write makes (store.Next), committed only if the string is
// still the one read: running it twice compacts once.
func (e *Engine) CompactIdle(ctx context.Context, partnerID string) (int, error) {
	ids, err := e.scoredContacts(ctx, partnerID)
	if err != nil {
		return 0, err
	}
	now, err := e.now()
	if err != nil {
		return 0, err
	}
	nowM := floorDiv(sinceEpoch(now), 60000)
	compacted := 0
	for chunk := range slices.Chunk(ids, pruneChunk) {
		pipe := e.rdb.Pipeline()
		cmds := make([]*redis.StringCmd, len(chunk))
		for i, cid := range chunk {
			cmds[i] = pipe.Get(ctx, contactScoreKey(partnerID, cid))
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return compacted, fmt.Errorf("scoring: contacts of partner %s: %w", partnerID, err)
		}
		var calls []scriptrun.Call
		for i, cid := range chunk {
			s := cmds[i].Val()
			h, err := store.ParseHeader(s)
			if s == "" || err != nil || float64(nowM) < h.PruneAt {
				continue // none, unreadable (reads report it), or not due
			}
			old := h.Token
			binary.LittleEndian.PutUint64(h.Token[:], rand.Uint64())
			w := store.Next(s, h, nil, nowM, nowM+pruneInterval(e.cfg))
			if !w.Replace {
				continue // its records do not parse: left for reads to report
			}
			calls = append(calls, scriptrun.Call{Script: store.CompactScript,
				Keys: []string{contactScoreKey(partnerID, cid)}, Args: []any{string(old[:]), w.Value}})
		}
		if len(calls) == 0 {
			continue
		}
		runs, err := scriptrun.Pipelined(ctx, e.rdb, calls)
		if err == nil {
			err = scriptrun.FirstError(runs)
		}
		if err != nil {
			return compacted, fmt.Errorf("scoring: compact contacts of partner %s: %w", partnerID, err)
		}
		for _, r := range runs {
			if n, _ := r.Int(); n == 1 {
				compacted++
			}
		}
	}
	return compacted, nil
}
