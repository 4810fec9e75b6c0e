package scoring

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/scriptrun"
	"github.com/longtailhq/longtail/scoring/internal/store"
)

// Batch is the events of one contact.
type Batch struct {
	Target Target
	Events []event.Event
}

// ApplyBatch applies the batches of many contacts as Apply would, with the
// contacts read in one pipelined round trip, their commits in a second and
// the leaderboard updates in a third: how the ingest job should score a
// webhook's worth of events. Each contact's batch is atomic on its own,
// and results are in input order. Batches apply in input order (a
// contact's later batch is judged against what its earlier one leaves),
// after any larger than one script call takes (256 events), which go
// through Apply first; one whose contact another writer changed between
// the read and its commit is judged again, after the others. Invalid
// input fails the call before anything is written. On other errors some
// batches may have been applied: retrying the whole call is safe, since
// applied events come back as duplicates.
func (e *Engine) ApplyBatch(ctx context.Context, batches []Batch) ([]*Result, error) {
	now, err := e.now()
	if err != nil {
		return nil, err
	}
	results := make([]*Result, len(batches))
	var small []Batch
	var targets []int // small[k] is batches[targets[k]]
	var large []int   // batches more than one script call takes
	for i, b := range batches {
		if err := checkTarget(b.Target); err != nil {
			return nil, fmt.Errorf("batches[%d]: %w", i, err)
		}
		if err := e.checkEvents(b.Events, i); err != nil {
			return nil, err
		}
		switch {
		case len(b.Events) == 0:
			results[i] = &Result{}
		case chunkEnd(b.Events, 0) < len(b.Events):
			large = append(large, i) // in chunks
		default:
			small = append(small, b)
			targets = append(targets, i)
		}
	}
	type lbWrite struct {
		version int64
		norm    string
	}
	latest := map[string]lbWrite{}
	note := func(t Target, res *Result, pnorm string) {
		if pid := t.PartnerID; !t.NoRollup && res.Version > latest[pid].version {
			latest[pid] = lbWrite{res.Version, pnorm}
		}
	}
	for _, i := range large {
		t := batches[i].Target
		res, pnorm, err := e.applyChunks(ctx, t, batches[i].Events, now)
		if err != nil {
			return nil, fmt.Errorf("batches[%d]: %w", i, err)
		}
		results[i] = res
		note(t, res, pnorm)
	}
	outs, err := e.commitAll(ctx, small, now)
	if err != nil {
		return nil, err
	}
	for k, out := range outs {
		results[targets[k]] = out.res
		note(small[k].Target, out.res, out.pnorm)
	}
	// One leaderboard call per lbChunk partners (they all live in the {lb}
	// slot), in one round trip.
	var scripts []scriptrun.Call
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
		scripts = append(scripts, scriptrun.Call{Script: store.LeaderboardScript, Keys: []string{leaderboardKey, leaderboardVersionsKey}, Args: args})
	}
	if len(scripts) > 0 {
		cmds, err := scriptrun.Pipelined(ctx, e.rdb, scripts)
		if err == nil {
			err = scriptrun.FirstError(cmds)
		}
		if err != nil {
			return results, fmt.Errorf("scoring: leaderboard: %w", err)
		}
	}
	return results, nil
}

// lbChunk bounds the partners of one leaderboard script call (Lua's
// unpack limits the arguments one call can spread).
const lbChunk = 500

// committed is a batch's outcome: its Result and the partner's normalised
// score formatted for the leaderboard.
type committed struct {
	res   *Result
	pnorm string
}

// contactKey identifies a contact across Targets.
type contactKey struct{ pid, cid string }

// commitAll reads the contacts of batches, judges each batch against what
// is stored (a contact's later batch against what its earlier one leaves)
// and commits them in one round trip; a batch whose contact another writer
// changed since the read is read and judged again, with the batches of its
// contact after it, up to maxAttempts times. Every batch is judged before
// any is committed, so a batch judge refuses writes nothing.
func (e *Engine) commitAll(ctx context.Context, batches []Batch, now time.Time) ([]committed, error) {
	out := make([]committed, len(batches))
	pending := make([]int, len(batches))
	for k := range pending {
		pending[k] = k
	}
	v, _ := e.verdicts.Get().(*verdict)
	if v == nil {
		v = &verdict{}
	}
	defer e.verdicts.Put(v)
	nowM := floorDiv(sinceEpoch(now), 60000)
	decay := e.decay(now)
	type call struct {
		events []EventResult
		n      float64 // the contact's N after the batch
	}
	// Each batch's keys, made once: the contact's key is read, then all
	// are the commit's.
	keys := make([]applyKey, len(batches))
	for k, b := range batches {
		keys[k].all, keys[k].ends = applyKeys(b.Target.PartnerID, b.Target.ContactID)
	}
	for attempt := 1; len(pending) > 0; attempt++ {
		if attempt > maxAttempts {
			e.stats.exhausted.Add(int64(len(pending)))
			t := batches[pending[0]].Target
			return nil, fmt.Errorf("%w: contact %s, %d attempts", ErrContended, t.ContactID, maxAttempts)
		}
		if attempt > 1 {
			e.stats.retries.Add(int64(len(pending)))
		}
		// Each contact read once, its batches judged in turn.
		state := map[contactKey]string{}
		left := map[contactKey]int{} // batches of the contact still to judge
		var read []int               // a batch of each contact
		for _, k := range pending {
			t := batches[k].Target
			ck := contactKey{t.PartnerID, t.ContactID}
			if left[ck] == 0 {
				read = append(read, k)
			}
			left[ck]++
		}
		stored, err := e.readContacts(ctx, batches, keys, read)
		if err != nil {
			return nil, err
		}
		for i, k := range read {
			t := batches[k].Target
			state[contactKey{t.PartnerID, t.ContactID}] = stored[i]
		}
		calls := make([]scriptrun.Call, len(pending))
		judged := make([]call, len(pending))
		for j, k := range pending {
			b := &batches[k]
			t := b.Target
			ck := contactKey{t.PartnerID, t.ContactID}
			s := state[ck]
			if err := e.rubric.judge(v, t, b.Events, s, now); err != nil {
				return nil, fmt.Errorf("scoring: contact %s: %w", t.ContactID, err)
			}
			c := e.commit(v, s, nowM)
			c.Keys, c.Ends = keys[k].all, keys[k].ends
			calls[j] = scriptrun.Call{Script: store.ApplyScript, Cmd: c.Cmd()}
			judged[j] = call{events: v.events, n: v.header.N}
			if left[ck]--; left[ck] > 0 {
				state[ck] = c.Write.Apply(s) // what the next batch is judged against
			}
		}
		cmds, err := scriptrun.Pipelined(ctx, e.rdb, calls)
		if err != nil {
			return nil, fmt.Errorf("scoring: %w", err)
		}
		var stale []int
		for j, k := range pending {
			t := batches[k].Target
			reply, err := cmds[j].Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return nil, fmt.Errorf("scoring: apply for contact %s: %w", t.ContactID, err)
			}
			a, err := store.ParseApplied(reply)
			if err != nil {
				return nil, fmt.Errorf("scoring: apply for contact %s: %w", t.ContactID, err)
			}
			if a.Stale {
				stale = append(stale, k)
				continue
			}
			res := &Result{Events: judged[j].events, ContactScore: judged[j].n * decay, PartnerScore: a.N * decay, Version: int64(a.Version)}
			if a.Pending > 0 {
				res.Crossing = &Crossing{
					PartnerID: t.PartnerID, Seq: int64(a.Pending), CrossedAt: time.UnixMilli(int64(a.CrossedAt)).UTC(),
					Threshold: e.rubric.Threshold(t.Tier), New: a.Crossed,
				}
			}
			out[k] = committed{res: res, pnorm: fmtFloat(a.N)}
		}
		pending = stale
	}
	return out, nil
}

// commit is how verdict v of a batch, judged against s (the contact as
// read) at nowM, is committed; the caller sets its keys.
func (e *Engine) commit(v *verdict, s string, nowM int64) *store.Commit {
	binary.LittleEndian.PutUint64(v.header.Token[:], rand.Uint64()) // new on every write
	return &store.Commit{
		Read: s, Write: store.Next(s, v.header, v.records, nowM, nowM+pruneInterval(e.cfg)),
		Timeline: v.timeline, TimelineLen: e.cfg.TimelineLength, Partner: v.partner,
	}
}

// applyKey is a batch's store.ApplyScript KEYS (applyKeys).
type applyKey struct {
	all  string
	ends [store.ApplyKeys]int
}

// readContacts reads the stored strings of the contacts of batches[k] for
// k in read ("" for one not stored) in one round trip, for judge. A plain
// GET costs Redis far less than a script reading the same string: Lua
// hashes every byte of a string it takes in, and Redis sends the reply as
// it is.
func (e *Engine) readContacts(ctx context.Context, batches []Batch, keys []applyKey, read []int) ([]string, error) {
	pipe := e.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(read))
	for i, k := range read {
		cmds[i] = pipe.Get(ctx, keys[k].all[:keys[k].ends[0]]) // the contact's key
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("scoring: read contacts: %w", err)
	}
	out := make([]string, len(read))
	for i, cmd := range cmds {
		s, err := cmd.Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("scoring: read contact %s: %w", batches[read[i]].Target.ContactID, err)
		}
		out[i] = s
	}
	return out, nil
}
