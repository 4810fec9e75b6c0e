package scoring

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/longtailhq/longtail/event"
	"github.com/redis/go-redis/v9"
)

// ErrEpochExhausted is returned once (now−Epoch)/HalfLife exceeds the range
// the normalised sums are safe in (decades away with the allowed half-lives).
var ErrEpochExhausted = errors.New("scoring: reference epoch exhausted for this half-life")

// ErrInvalidTarget is wrapped when a Target or event cannot be scored.
var ErrInvalidTarget = errors.New("scoring: invalid input")

// Engine scores events in Redis. It is safe for concurrent use; any number
// of engines (processes) may share one Redis.
type Engine struct {
	rdb      redis.UniversalClient
	rubric   *Rubric
	cfg      Config
	clock    func() time.Time
	encoders sync.Pool // of *encoder
	// slowOnly sends no judgement for the fast path: the tests' reference.
	slowOnly bool
}

// NewEngine validates cfg, fills in its defaults and returns an engine.
// clock is the time source for decay and retention; nil means time.Now.
func NewEngine(rdb redis.UniversalClient, cfg Config, clock func() time.Time) (*Engine, error) {
	if rdb == nil {
		return nil, errors.New("scoring: nil redis client")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if clock == nil {
		clock = time.Now
	}
	full := cfg.withDefaults()
	return &Engine{rdb: rdb, rubric: newRubric(full), cfg: full, clock: clock}, nil
}

// Rubric returns the engine's rubric (state-free points and filters).
func (e *Engine) Rubric() *Rubric { return e.rubric }

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

	// slow is set when the script judged the events one by one (see
	// applyScript's fast path), for the tests of both paths.
	slow bool
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

func checkID(field, id string) error {
	if id == "" {
		return fmt.Errorf("%w: %s: required", ErrInvalidTarget, field)
	}
	if len(id) > 256 || strings.ContainsAny(id, "{}") {
		return fmt.Errorf("%w: %s: %q must be at most 256 bytes without braces", ErrInvalidTarget, field, id)
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

// Apply scores a batch of events of one contact in one atomic script:
// dedup (within the batch too), filters, caps, decay, interests, timeline,
// roll-up to the partner, RFM facts and the threshold test; then it updates
// the leaderboard. Applying the same events again changes nothing.
//
// Events must have an ID, a valid Type and an OccurredAt; events dated after
// now count as of now. An empty batch does nothing and returns an empty
// Result.
func (e *Engine) Apply(ctx context.Context, t Target, evs []event.Event) (*Result, error) {
	if err := checkID("partner_id", t.PartnerID); err != nil {
		return nil, err
	}
	if err := checkID("contact_id", t.ContactID); err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return &Result{}, nil
	}
	now, err := e.now()
	if err != nil {
		return nil, err
	}
	for i := range evs {
		if ev := &evs[i]; ev.ID == "" || !ev.Type.Valid() || ev.OccurredAt.IsZero() {
			return nil, fmt.Errorf("%w: events[%d] (%q): needs an id, a valid type and occurred_at", ErrInvalidTarget, i, ev.ID)
		}
	}
	// Large batches go in chunks (Lua's unpack limits the arguments one
	// call can spread); each chunk is atomic and dedup holds across them.
	res := &Result{Events: make([]EventResult, 0, len(evs))}
	var pnorm string
	for start, end := 0, 0; start < len(evs); start = end {
		end = chunkEnd(evs, start)
		chunk := evs[start:end]
		// Judged against the contact as read, and again whole if it was
		// written in between.
		stored, err := e.readContacts(ctx, []Target{t})
		if err != nil {
			return nil, err
		}
		call, err := e.applyArgs(t, chunk, now, false, stored[0])
		if err != nil {
			return nil, err
		}
		outs, err := e.applyAll(ctx, []Batch{{Target: t, Events: chunk}}, []*applyCall{call}, stored, now)
		if err != nil {
			return nil, err
		}
		part, pn := outs[0].res, outs[0].pnorm
		if sc, ok := e.compactCall(t, outs[0].stored, now); ok {
			if err := sc.Script.Run(ctx, e.rdb, sc.Keys, sc.Args...).Err(); err != nil {
				return nil, fmt.Errorf("scoring: compact contact %s: %w", t.ContactID, err)
			}
		}
		fresh := res.Crossing != nil && res.Crossing.New
		res.Events = append(res.Events, part.Events...)
		res.ContactScore, res.PartnerScore, res.Version, res.Crossing = part.ContactScore, part.PartnerScore, part.Version, part.Crossing
		res.slow = res.slow || part.slow
		if fresh && res.Crossing != nil {
			res.Crossing.New = true
		}
		pnorm = pn
	}
	if !t.NoRollup {
		if err := leaderboardScript.Run(ctx, e.rdb, []string{leaderboardKey, leaderboardVersionsKey},
			t.PartnerID, res.Version, pnorm).Err(); err != nil {
			return res, fmt.Errorf("scoring: leaderboard for partner %s: %w", t.PartnerID, err)
		}
	}
	return res, nil
}

// maxChunk bounds the events of one script call.
const maxChunk = 256

// chunkEnd is the end of the script call's chunk of evs that starts at
// start: at most maxChunk events, whose records (ARGV[3]) the script
// addresses with uint16 offsets. An event adds at most 62 bytes of seen
// markers and an explain key of 5 bytes plus its topic.
func chunkEnd(evs []event.Event, start int) int {
	size, end := 0, start
	for end < len(evs) && end-start < maxChunk {
		size += 67 + len(evs[end].Topic)
		if size > math.MaxUint16 && end > start {
			break
		}
		end++
	}
	return end
}

// pruneInterval spaces the time-driven compactions of a contact (in
// minutes; see applyScript): a week, or the dedup retention if longer, so
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
	n, err := ackScript.Run(ctx, e.rdb, []string{partnerScoreKey(partnerID)}, seq).Int()
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
// RearmFraction × their threshold since they crossed, for partners that see
// no new events (Apply does the same check itself). It returns how many
// were re-armed. The scheduler runs it periodically.
func (e *Engine) Sweep(ctx context.Context, partnerIDs []string) (int, error) {
	now, err := e.now()
	if err != nil {
		return 0, err
	}
	total := 0
	for start := 0; start < len(partnerIDs); start += 500 {
		chunk := partnerIDs[start:min(start+500, len(partnerIDs))]
		pipe := e.rdb.Pipeline()
		cmds := make([]*redis.Cmd, len(chunk))
		for i, pid := range chunk {
			if err := checkID("partner_id", pid); err != nil {
				return total, err
			}
			cmds[i] = sweepScript.Eval(ctx, pipe, []string{partnerScoreKey(pid)},
				sinceEpoch(now), e.cfg.HalfLife.Milliseconds(), fmtFloat(e.cfg.RearmFraction))
		}
		if _, err := pipe.Exec(ctx); err != nil {
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
