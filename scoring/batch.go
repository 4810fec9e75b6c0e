package scoring

import (
	"context"
	"fmt"
	"time"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/scriptrun"
	"github.com/redis/go-redis/v9"
)

// Batch is the events of one contact.
type Batch struct {
	Target Target
	Events []event.Event
}

// ApplyBatch applies the batches of many contacts as Apply would, with the
// contacts read in one pipelined round trip, all their scripts in a second
// and the leaderboard updates in a third: how the ingest job should score
// a webhook's worth of events. Each contact's batch is atomic on its own,
// and results are in input order. Batches apply in input order, after any
// larger than one script call takes (256 events), which go through Apply
// first; one whose contact another writer changed between the read and its
// script goes again, after the others. On error some batches may have
// been applied: retrying the whole call is safe, since applied events come
// back as duplicates.
func (e *Engine) ApplyBatch(ctx context.Context, batches []Batch) ([]*Result, error) {
	now, err := e.now()
	if err != nil {
		return nil, err
	}
	results := make([]*Result, len(batches))
	// A contact with more than one batch here gets everything on each (see
	// applyArgs): the first changes what the next was judged against.
	seen := make(map[Target]int, len(batches))
	for _, b := range batches {
		seen[b.Target]++
	}
	targets := make([]int, 0, len(batches)) // the batches one script call takes
	var large []int                         // batches more than one script call takes
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
		switch {
		case len(b.Events) == 0:
			results[i] = &Result{}
		case chunkEnd(b.Events, 0) < len(b.Events):
			large = append(large, i) // through Apply, in chunks
		default:
			targets = append(targets, i)
		}
	}
	small := make([]Batch, len(targets)) // small[k] is batches[targets[k]]
	read := make([]Target, len(targets))
	for k, i := range targets {
		small[k], read[k] = batches[i], batches[i].Target
	}
	stored, err := e.readContacts(ctx, read)
	if err != nil {
		return nil, err
	}
	calls := make([]*applyCall, len(small))
	for k, b := range small {
		if calls[k], err = e.applyArgs(b.Target, b.Events, now, seen[b.Target] > 1, stored[k]); err != nil {
			return nil, err
		}
	}
	type lbWrite struct {
		version int64
		norm    string
	}
	latest := map[string]lbWrite{}
	for _, i := range large {
		b := batches[i]
		res, err := e.Apply(ctx, b.Target, b.Events)
		if err != nil {
			return nil, fmt.Errorf("batches[%d]: %w", i, err)
		}
		results[i] = res
	}
	outs, err := e.applyAll(ctx, small, calls, stored, now)
	if err != nil {
		return nil, err
	}
	var scripts []scriptrun.Call
	for k, out := range outs {
		t := small[k].Target
		results[targets[k]] = out.res
		if pid := t.PartnerID; !t.NoRollup && out.res.Version > latest[pid].version {
			latest[pid] = lbWrite{out.res.Version, out.pnorm}
		}
		if sc, ok := e.compactCall(t, out.stored, now); ok {
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
		scripts = append(scripts, scriptrun.Call{Script: leaderboardScript, Keys: []string{leaderboardKey, leaderboardVersionsKey}, Args: args})
	}
	if len(scripts) > 0 {
		cmds, err := scriptrun.Pipelined(ctx, e.rdb, scripts)
		if err == nil {
			err = scriptrun.FirstError(cmds)
		}
		if err != nil {
			return results, fmt.Errorf("scoring: leaderboard and compaction: %w", err)
		}
	}
	return results, nil
}

// applyAll runs calls, calls[k] applying batches[k] as judged against
// stored[k], the contact as read, in one round trip; those whose contact
// another writer changed since the read go again, sent whole, in a
// second.
func (e *Engine) applyAll(ctx context.Context, batches []Batch, calls []*applyCall, stored []string, now time.Time) ([]applied, error) {
	outs := make([]applied, len(calls))
	pending := make([]int, len(calls)) // calls[j] applies batches[pending[j]]
	for k := range pending {
		pending[k] = k
	}
	for again := false; len(calls) > 0; again = true {
		raws, err := e.runApply(ctx, calls)
		if err != nil {
			return nil, err
		}
		var next []*applyCall
		var nextPending []int
		for j, ac := range calls {
			k := pending[j]
			t := batches[k].Target
			raw, err := raws[j].Text()
			if err != nil {
				return nil, fmt.Errorf("scoring: apply for contact %s: %w", t.ContactID, err)
			}
			out, err := e.parseApply(t, ac, raw, now)
			if err != nil {
				return nil, err
			}
			if !out.again {
				outs[k] = out
				continue
			}
			if again {
				return nil, fmt.Errorf("scoring: apply for contact %s: asked again for a batch sent whole", t.ContactID)
			}
			// Only the first round asks again, so stored[k] is still what
			// the call was judged against.
			if ac, err = e.applyArgs(t, batches[k].Events, now, true, stored[k]); err != nil {
				return nil, err
			}
			next, nextPending = append(next, ac), append(nextPending, k)
		}
		calls, pending = next, nextPending
	}
	return outs, nil
}

// runApply runs applyScript calls in one round trip (scriptrun) and
// returns their commands, to read each reply or error from.
func (e *Engine) runApply(ctx context.Context, calls []*applyCall) ([]*redis.Cmd, error) {
	sc := make([]scriptrun.Call, len(calls))
	for k, ac := range calls {
		sc[k] = scriptrun.Call{Script: applyScript, Cmd: ac.cmd}
	}
	cmds, err := scriptrun.Pipelined(ctx, e.rdb, sc)
	if err != nil {
		return nil, fmt.Errorf("scoring: %w", err)
	}
	return cmds, nil
}

// lbChunk bounds the partners of one leaderboard script call (Lua's
// unpack limits the arguments one call can spread).
const lbChunk = 500
