package scoring

import (
	"context"
	"fmt"

	"github.com/longtailhq/longtail/event"
	"github.com/redis/go-redis/v9"
)

// Batch is the events of one contact.
type Batch struct {
	Target Target
	Events []event.Event
}

// ApplyBatch applies the batches of many contacts as Apply would, with all
// their scripts in one pipelined round trip and the leaderboard updates in
// a second: how the ingest job should score a webhook's worth of events.
// Each contact's batch is atomic on its own; results are in input order. On
// error some batches may have been applied: retrying the whole call is safe,
// since applied events come back as duplicates. A batch larger than one
// script call takes (256 events) goes through Apply.
func (e *Engine) ApplyBatch(ctx context.Context, batches []Batch) ([]*Result, error) {
	now, err := e.now()
	if err != nil {
		return nil, err
	}
	type call struct {
		i   int
		ac  *applyCall
		cmd *redis.Cmd
	}
	results := make([]*Result, len(batches))
	calls := make([]*call, 0, len(batches))
	for i, b := range batches {
		t := b.Target
		if err := checkID("partner_id", t.PartnerID); err != nil {
			return nil, fmt.Errorf("batches[%d]: %w", i, err)
		}
		if err := checkID("contact_id", t.ContactID); err != nil {
			return nil, fmt.Errorf("batches[%d]: %w", i, err)
		}
		for j := range b.Events {
			if ev := &b.Events[j]; ev.ID == "" || !ev.Type.Valid() || ev.OccurredAt.IsZero() {
				return nil, fmt.Errorf("%w: batches[%d].events[%d] (%q): needs an id, a valid type and occurred_at", ErrInvalidTarget, i, j, ev.ID)
			}
		}
		if len(b.Events) == 0 {
			results[i] = &Result{}
			continue
		}
		if chunkEnd(b.Events, 0) < len(b.Events) {
			continue // through Apply, in chunks
		}
		ac, err := e.applyArgs(t, b.Events, now)
		if err != nil {
			return nil, err
		}
		calls = append(calls, &call{i: i, ac: ac})
	}
	run := calls
	for attempt := 0; ; attempt++ {
		pipe := e.rdb.Pipeline()
		for _, c := range run {
			c.cmd = pipe.Do(ctx, c.ac.cmd...)
		}
		_, _ = pipe.Exec(ctx) // errors are read per command below
		var missing []*call
		for _, c := range run {
			if redis.HasErrorPrefix(c.cmd.Err(), "NOSCRIPT") {
				missing = append(missing, c)
			}
		}
		if len(missing) == 0 || attempt == 1 {
			break
		}
		// The server lost its script cache (restart, SCRIPT FLUSH): load
		// and run again the calls that did not execute.
		if err := applyScript.Load(ctx, e.rdb).Err(); err != nil {
			return nil, fmt.Errorf("scoring: load apply script: %w", err)
		}
		run = missing
	}
	type lbWrite struct {
		version int64
		norm    string
	}
	latest := map[string]lbWrite{}
	for i, b := range batches {
		if chunkEnd(b.Events, 0) == len(b.Events) {
			continue
		}
		res, err := e.Apply(ctx, b.Target, b.Events)
		if err != nil {
			return nil, fmt.Errorf("batches[%d]: %w", i, err)
		}
		results[i] = res
	}
	var scripts []scriptCall
	for _, c := range calls {
		b := batches[c.i]
		raw, err := c.cmd.Text()
		if err != nil {
			return nil, fmt.Errorf("scoring: apply for contact %s: %w", b.Target.ContactID, err)
		}
		out, err := e.parseApply(b.Target, c.ac, raw, now)
		if err != nil {
			return nil, err
		}
		results[c.i] = out.res
		if pid := b.Target.PartnerID; !b.Target.NoRollup && out.res.Version > latest[pid].version {
			latest[pid] = lbWrite{out.res.Version, out.pnorm}
		}
		if sc, ok := e.compactCall(b.Target, out.stored, now); ok {
			scripts = append(scripts, sc)
		}
	}
	// One leaderboard call per lbChunk partners (they all live in the {lb}
	// slot), in one round trip with the compactions that came due.
	pids := make([]string, 0, len(latest))
	for pid := range latest {
		pids = append(pids, pid)
	}
	for start := 0; start < len(pids); start += lbChunk {
		chunk := pids[start:min(start+lbChunk, len(pids))]
		args := make([]any, 0, 3*len(chunk))
		for _, pid := range chunk {
			args = append(args, pid, latest[pid].version, latest[pid].norm)
		}
		scripts = append(scripts, scriptCall{leaderboardScript, []string{leaderboardKey, leaderboardVersionsKey}, args})
	}
	if len(scripts) > 0 {
		if err := runScripts(ctx, e.rdb, scripts); err != nil {
			return results, fmt.Errorf("scoring: leaderboard and compaction: %w", err)
		}
	}
	return results, nil
}

// lbChunk bounds the partners of one leaderboard script call (Lua's
// unpack limits the arguments one call can spread).
const lbChunk = 500
