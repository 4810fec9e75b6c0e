package scoring

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/ident"
	"github.com/longtailhq/longtail/internal/scriptrun"
	"github.com/longtailhq/longtail/scoring/internal/store"
)

// ErrEpochExhausted is returned once (now−Epoch)/HalfLife exceeds the range
// the normalised sums are safe in (decades away with the allowed half-lives).
var ErrEpochExhausted = errors.New("scoring: reference epoch exhausted for this half-life")

// ErrInvalidTarget is wrapped when a Target or event cannot be scored.
var ErrInvalidTarget = errors.New("scoring: invalid input")

// ErrContended is returned when a batch's contact kept changing between
// the read and the commit, maxAttempts times in a row. The batches that
// were committed stay committed: retrying the call is safe.
var ErrContended = errors.New("scoring: contact written by others at every attempt")

// maxAttempts bounds how many times a batch is judged in one call: once,
// and again each time its contact was written between the read and the
// commit (another worker scoring the same contact).
const maxAttempts = 5

// Engine scores events in Redis. It is safe for concurrent use; any number
// of engines (processes) may share one Redis.
type Engine struct {
	rdb      redis.UniversalClient
	rubric   *Rubric
	cfg      Config
	clock    func() time.Time
	verdicts sync.Pool // of *verdict, judge's buffers
	stats    struct{ retries, exhausted atomic.Int64 }
}

// NewEngine validates cfg, fills in its defaults and returns an engine.
// clock is the time source for decay and retention; nil means time.Now.
func NewEngine(rdb redis.UniversalClient, cfg Config, clock func() time.Time) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return newEngine(rdb, newRubric(cfg.withDefaults(), typeRules), clock)
}

// newEngine is an engine scoring by r.
func newEngine(rdb redis.UniversalClient, r *Rubric, clock func() time.Time) (*Engine, error) {
	if rdb == nil {
		return nil, errors.New("scoring: nil redis client")
	}
	if clock == nil {
		clock = time.Now
	}
	return &Engine{rdb: rdb, rubric: r, cfg: r.cfg, clock: clock}, nil
}

// Rubric returns the engine's rubric (state-free points and filters).
func (e *Engine) Rubric() *Rubric { return e.rubric }

// Stats counts what an engine did since it was made.
type Stats struct {
	// Retries counts batches judged again because their contact was
	// written between the read and the commit.
	Retries int64
	// Exhausted counts batches given up after maxAttempts judgements
	// (ErrContended).
	Exhausted int64
}

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	return Stats{Retries: e.stats.retries.Load(), Exhausted: e.stats.exhausted.Load()}
}

// EventResult is what Apply did with one event.
type EventResult struct {
	ID string
	// Duplicate is set when the event id was already seen (in this batch or
	// within DedupRetention): it changed nothing.
	Duplicate bool
	// Points credited before decay (0 when filtered).
	Points float64
	// Filtered is why the event scored 0 although it has points: one of the
	// Filtered* reasons, or "".
	Filtered string
}

// Result is the outcome of one Apply.
type Result struct {
	Events []EventResult
	// ContactScore and PartnerScore are decayed to the engine's now.
	// PartnerScore is 0 for a NoRollup target.
	ContactScore float64
	PartnerScore float64
	// Version orders the partner's updates (0 for NoRollup).
	Version int64
	// Crossing is the partner's pending threshold crossing, returned by
	// every Apply for the partner until AckCrossing.
	Crossing *Crossing
}

// Crossing is a partner's upward threshold crossing. Exactly one is
// created per crossing, whatever the number of workers racing; the caller
// enqueues the handoff with HandoffID as its task id (so repeats are
// harmless) and then calls AckCrossing.
type Crossing struct {
	PartnerID string
	Seq       int64
	CrossedAt time.Time
	Threshold float64
	// New is set only on the Apply that made the crossing.
	New bool
}

// HandoffID identifies the crossing for idempotent enqueuing.
func (c *Crossing) HandoffID() string {
	return "handoff:" + c.PartnerID + ":" + strconv.FormatInt(c.Seq, 10)
}

// checkTarget checks a Target's ids.
func checkTarget(t Target) error {
	if err := checkID("partner_id", t.PartnerID); err != nil {
		return err
	}
	return checkID("contact_id", t.ContactID)
}

// checkEvents checks that every event can be scored: an id, a type the
// rubric knows, a time, and what is stored of it within bounds. The
// errors name batches[batch] unless batch is negative.
func (e *Engine) checkEvents(evs []event.Event, batch int) error {
	for i := range evs {
		if err := e.rubric.checkEvent(&evs[i]); err != nil {
			where := ""
			if batch >= 0 {
				where = fmt.Sprintf("batches[%d].", batch)
			}
			return fmt.Errorf("%w: %sevents[%d] (%q): %w", ErrInvalidTarget, where, i, evs[i].ID, err)
		}
	}
	return nil
}

func checkID(field, id string) error {
	if err := ident.Check(field, id); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidTarget, err)
	}
	return nil
}

func (e *Engine) now() (time.Time, error) {
	now := e.clock()
	if float64(now.Sub(Epoch))/float64(e.cfg.HalfLife) > maxExponent {
		return now, ErrEpochExhausted
	}
	return now, nil
}

func (e *Engine) decay(now time.Time) float64 {
	return math.Exp2(-float64(now.Sub(Epoch).Milliseconds()) / float64(e.cfg.HalfLife.Milliseconds()))
}

// Apply scores a batch of events of one contact: it reads the contact,
// judges the batch against it (dedup within the batch too, filters, caps,
// decay, interests, timeline, roll-up to the partner, RFM facts, the
// threshold) and commits the verdict in one atomic script; then it updates
// the leaderboard. Applying the same events again changes nothing.
//
// Events must have an ID, a valid Type and an OccurredAt; events dated after
// now count as of now. An empty batch does nothing and returns an empty
// Result.
func (e *Engine) Apply(ctx context.Context, t Target, evs []event.Event) (*Result, error) {
	if err := checkTarget(t); err != nil {
		return nil, err
	}
	if err := e.checkEvents(evs, -1); err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return &Result{}, nil
	}
	now, err := e.now()
	if err != nil {
		return nil, err
	}
	res, pnorm, err := e.applyChunks(ctx, t, evs, now)
	if err != nil {
		return nil, err
	}
	if !t.NoRollup {
		if err := store.LeaderboardScript.Run(ctx, e.rdb, []string{leaderboardKey, leaderboardVersionsKey},
			t.PartnerID, res.Version, pnorm).Err(); err != nil {
			return res, fmt.Errorf("scoring: leaderboard for partner %s: %w", t.PartnerID, err)
		}
	}
	return res, nil
}

// applyChunks commits a batch in chunks of one script call each (Lua's
// unpack limits the arguments one call can spread); each chunk is atomic
// and dedup holds across them. It returns the partner's normalised score
// formatted for the leaderboard.
func (e *Engine) applyChunks(ctx context.Context, t Target, evs []event.Event, now time.Time) (*Result, string, error) {
	res := &Result{Events: make([]EventResult, 0, len(evs))}
	var pnorm string
	for start, end := 0, 0; start < len(evs); start = end {
		end = chunkEnd(evs, start)
		outs, err := e.commitAll(ctx, []Batch{{Target: t, Events: evs[start:end]}}, now)
		if err != nil {
			return nil, "", err
		}
		part := outs[0].res
		fresh := res.Crossing != nil && res.Crossing.New
		res.Events = append(res.Events, part.Events...)
		res.ContactScore, res.PartnerScore, res.Version, res.Crossing = part.ContactScore, part.PartnerScore, part.Version, part.Crossing
		if fresh && res.Crossing != nil {
			res.Crossing.New = true
		}
		pnorm = outs[0].pnorm
	}
	return res, pnorm, nil
}

// maxChunk bounds the events of one script call.
const maxChunk = 256

// chunkEnd is the end of the script call's chunk of evs that starts at
// start: at most maxChunk events, and at most 64 KB of records, so that
// one atomic call stays small. An event appends at most 34 bytes of seen
// markers (an id and a delivery), 15 of daily count, and an explain
// record of 70 bytes plus its topic.
func chunkEnd(evs []event.Event, start int) int {
	size, end := 0, start
	for end < len(evs) && end-start < maxChunk {
		size += 34 + 15 + 70 + len(evs[end].Topic)
		if size > math.MaxUint16 && end > start {
			break
		}
		end++
	}
	return end
}

// pruneInterval spaces the time-driven compactions of a contact (in
// minutes; see store.Next): a week, or the dedup retention if longer, so
// expired markers outlive their expiry by at most that. A contact that sees
// many events is compacted sooner, as its records pile up (compactMinLen).
func pruneInterval(cfg Config) int64 { return max(minutes(cfg.DedupRetention), minutes(7*Day)) }

func minutes(d time.Duration) int64 { return int64(d / time.Minute) }

// deliveryMinutes is how long a delivery is remembered (in minutes): while
// a click in its scanner window can still be reported, that is the window
// plus the dedup retention (how long providers retry a webhook). Keeping
// it for MessageRetention, as opens and clicks are, would only grow every
// contact's string.
func deliveryMinutes(cfg Config) int64 {
	return minutes(cfg.DedupRetention + cfg.ScannerClickWindow)
}

// sinceEpoch is t in ms since Epoch, the time unit of the scripts.
func sinceEpoch(t time.Time) int64 { return t.Sub(Epoch).Milliseconds() }

// AckCrossing marks the partner's crossing seq as handed off: Apply stops
// returning it. Acking a seq that is not pending is a no-op (false).
func (e *Engine) AckCrossing(ctx context.Context, partnerID string, seq int64) (bool, error) {
	if err := checkID("partner_id", partnerID); err != nil {
		return false, err
	}
	n, err := store.AckScript.Run(ctx, e.rdb, []string{partnerScoreKey(partnerID)}, seq).Int()
	if err != nil {
		return false, fmt.Errorf("scoring: ack crossing %s/%d: %w", partnerID, seq, err)
	}
	return n == 1, nil
}

// Rearm lets the partner cross the threshold again (a rep recycled it).
// The next positive engagement that finds its score at or above the
// threshold is a new crossing. It reports whether the partner was disarmed.
func (e *Engine) Rearm(ctx context.Context, partnerID string) (bool, error) {
	if err := checkID("partner_id", partnerID); err != nil {
		return false, err
	}
	n, err := e.rdb.HDel(ctx, partnerScoreKey(partnerID), "dis").Result()
	if err != nil {
		return false, fmt.Errorf("scoring: rearm %s: %w", partnerID, err)
	}
	return n == 1, nil
}

// Sweep re-arms the given partners whose decayed score has fallen below
// RearmFraction × the threshold they were last scored against, for
// partners that see no new events (a batch does the same check itself).
// It returns how many were re-armed. The scheduler runs it periodically.
//
// It reads each partner's state, judges in Go, and re-arms through
// store.RearmScript only if the state is still the one read; one written
// in between is left to the batch that wrote it, which judged re-arming
// itself, and to the next sweep.
func (e *Engine) Sweep(ctx context.Context, partnerIDs []string) (int, error) {
	now, err := e.now()
	if err != nil {
		return 0, err
	}
	for _, pid := range partnerIDs {
		if err := checkID("partner_id", pid); err != nil {
			return 0, err
		}
	}
	scale := math.Exp2(float64(sinceEpoch(now)) / float64(e.cfg.HalfLife.Milliseconds()))
	total := 0
	for start := 0; start < len(partnerIDs); start += 500 {
		chunk := partnerIDs[start:min(start+500, len(partnerIDs))]
		pipe := e.rdb.Pipeline()
		reads := make([]*redis.SliceCmd, len(chunk))
		for i, pid := range chunk {
			reads[i] = pipe.HMGet(ctx, partnerScoreKey(pid), "h", "dis")
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return total, fmt.Errorf("scoring: sweep: %w", err)
		}
		var calls []scriptrun.Call
		for i, pid := range chunk {
			vals := reads[i].Val()
			h, _ := vals[0].(string)
			dis, _ := vals[1].(string)
			if dis != "1" || h == "" {
				continue
			}
			head := store.ParsePartnerHead(h)
			if head.N < e.cfg.RearmFraction*head.Threshold*scale {
				calls = append(calls, scriptrun.Call{Script: store.RearmScript, Keys: []string{partnerScoreKey(pid)}, Args: []any{h}})
			}
		}
		if len(calls) == 0 {
			continue
		}
		cmds, err := scriptrun.Pipelined(ctx, e.rdb, calls)
		if err == nil {
			err = scriptrun.FirstError(cmds)
		}
		if err != nil {
			return total, fmt.Errorf("scoring: sweep: %w", err)
		}
		for _, c := range cmds {
			if n, _ := c.Int(); n == 1 {
				total++
			}
		}
	}
	return total, nil
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
