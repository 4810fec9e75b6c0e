package scoring

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
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
	rdb    redis.UniversalClient
	rubric *Rubric
	cfg    Config
	clock  func() time.Time
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

func digest(prefix, s string) string {
	h := sha256.Sum256([]byte(prefix + s))
	return string(h[:8])
}

type timelineHead struct {
	ID         string     `json:"id"`
	Type       event.Type `json:"type"`
	OccurredAt time.Time  `json:"occurred_at"`
	Topic      string     `json:"topic,omitempty"`
	Title      string     `json:"title,omitempty"`
	URL        string     `json:"url,omitempty"`
	Source     string     `json:"source,omitempty"`
	MessageID  string     `json:"message_id,omitempty"`
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
	keys := applyKeys(t)
	// Large batches go in chunks (Lua's unpack limits the arguments one
	// call can spread); each chunk is atomic and dedup holds across them.
	res := &Result{Events: make([]EventResult, 0, len(evs))}
	var pnorm string
	for start := 0; start < len(evs); start += maxChunk {
		chunk := evs[start:min(start+maxChunk, len(evs))]
		args, err := e.applyArgs(t, chunk, now)
		if err != nil {
			return nil, err
		}
		raw, err := applyScript.Run(ctx, e.rdb, keys, args...).Slice()
		if err != nil {
			return nil, fmt.Errorf("scoring: apply for contact %s: %w", t.ContactID, err)
		}
		part, pn, err := e.parseApply(t, chunk, raw, now)
		if err != nil {
			return nil, err
		}
		fresh := res.Crossing != nil && res.Crossing.New
		res.Events = append(res.Events, part.Events...)
		res.ContactScore, res.PartnerScore, res.Version, res.Crossing = part.ContactScore, part.PartnerScore, part.Version, part.Crossing
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

// applyArgs encodes a batch of already validated events for applyScript
// (see its comment for the layout).
func (e *Engine) applyArgs(t Target, evs []event.Event, now time.Time) ([]any, error) {
	r := e.rubric
	rollup, threshold := "1", r.Threshold(t.Tier)
	if t.NoRollup {
		rollup = "0"
	}
	nowMs := sinceEpoch(now)
	nowM := floorDiv(nowMs, 60000)
	msgV := strconv.FormatInt(nowM+minutes(e.cfg.MessageRetention)+1, 10)
	halfMs := e.cfg.HalfLife.Milliseconds()
	// The hash fields the script reads besides its fixed ones, each once;
	// events refer to them by index.
	var cf, pf fieldSet
	evArgs := make([]any, 0, 3*len(evs))
	for i := range evs {
		ev := &evs[i]
		at := ev.OccurredAt
		if at.After(now) {
			at = now
		}
		ms := sinceEpoch(at)
		day := floorDiv(ms, 86400000)
		pts, filtered := r.Points(*ev, t)
		code := typeCodes[ev.Type]
		var kind, hasDelivered, gslot uint8
		var deliveredAt float64
		var dlf, mk, kf, tf, ff, mf uint16
		var deliveredVal string
		switch ev.Type {
		case event.EmailDelivered:
			kind = 1
		case event.EmailClick:
			kind = 2
		}
		if ev.MessageID != "" {
			msg := digest("m", ev.MessageID)
			switch ev.Type {
			case event.EmailDelivered:
				dlf = cf.add("d" + msg)
				deliveredVal = msgV + ":" + strconv.FormatInt(ms, 10)
			case event.EmailOpen:
				mk = cf.add("o" + msg)
			case event.EmailClick:
				dlf, mk = cf.add("d"+msg), cf.add("c"+msg)
			}
		}
		if ev.DeliveredAt != nil && !ev.DeliveredAt.IsZero() {
			hasDelivered, deliveredAt = 1, float64(sinceEpoch(*ev.DeliveredAt))
		}
		cap := r.DailyCap(ev.Type)
		var capVal string
		if cap > 0 {
			kf = cf.add("k" + code + strconv.FormatInt(day, 10))
			capVal = strconv.FormatInt(max(nowM, (day+1)*1440)+1440, 10) + ":1"
		}
		if filtered != "" {
			gslot = uint8(4 + slices.Index(filterReasons, filtered))
		}
		money := monetary(*ev)
		var norm float64
		if pts != 0 {
			norm = pts * math.Exp2(float64(ms)/float64(halfMs))
		}
		if !t.NoRollup {
			if pts != 0 && ev.Topic != "" {
				tf = pf.add("i|" + ev.Topic)
			}
			if pts > 0 {
				ff = pf.add("f" + strconv.FormatInt(day, 10))
			}
			if money > 0 {
				mf = pf.add("m" + strconv.FormatInt(day, 10))
			}
		}
		head, err := json.Marshal(timelineHead{
			ID: ev.ID, Type: ev.Type, OccurredAt: ev.OccurredAt, Topic: ev.Topic,
			Title: ev.Title, URL: ev.URL, Source: ev.Source, MessageID: ev.MessageID,
		})
		if err != nil {
			return nil, fmt.Errorf("scoring: encode events[%d]: %w", i, err)
		}
		hl := len(head) - 1
		head = append(head[:hl], `,"points":`...)
		head = strconv.AppendFloat(head, pts, 'g', -1, 64)
		if filtered != "" {
			head = append(head, `,"filtered":"`...)
			head = append(head, filtered...)
			head = append(head, '"')
		}
		head = append(head, '}')
		sup := Suppression(*ev)
		var hasSup uint8
		if sup != "" {
			hasSup = 1
		}
		idf := cf.add("i" + digest("i", ev.ID))
		var ek uint16
		if pts != 0 || filtered != "" || kind == 2 || mk > 0 || kf > 0 {
			ek = cf.add("x" + code + ev.Topic)
		}
		// The layout of struct.unpack('<BdddBddI4BHHHHHHHHI4B') in the script.
		nums := make([]byte, 0, 68)
		nums = append(nums, kind)
		nums = appendFloat(nums, float64(ms))
		nums = appendFloat(nums, pts)
		nums = appendFloat(nums, norm)
		nums = append(nums, hasDelivered)
		nums = appendFloat(nums, deliveredAt)
		nums = appendFloat(nums, money)
		nums = binary.LittleEndian.AppendUint32(nums, uint32(min(cap, math.MaxUint32)))
		nums = append(nums, gslot)
		for _, x := range [...]uint16{idf, dlf, mk, kf, ek, tf, ff, mf} {
			nums = binary.LittleEndian.AppendUint16(nums, x)
		}
		nums = binary.LittleEndian.AppendUint32(nums, uint32(hl))
		nums = append(nums, hasSup)
		evArgs = append(evArgs, string(nums), string(head))
		if kind == 1 && dlf > 0 {
			evArgs = append(evArgs, deliveredVal)
		}
		if kf > 0 {
			evArgs = append(evArgs, capVal)
		}
		if sup != "" {
			evArgs = append(evArgs, sup)
		}
	}
	args := make([]any, 0, headerArgs+len(cf.list)+len(pf.list)+len(evArgs))
	args = append(args,
		packFloats(float64(nowMs), float64(nowM), float64(halfMs), float64(e.cfg.ScannerClickWindow.Milliseconds()),
			float64(e.cfg.TimelineLength), threshold, e.cfg.RearmFraction, float64(Epoch.UnixMilli()),
			float64(len(cf.list)), float64(len(pf.list)), float64(len(evs))),
		strconv.FormatInt(nowM+minutes(e.cfg.DedupRetention)+1, 10), msgV,
		strconv.FormatInt(nowM+pruneInterval(e.cfg), 10), rollup, fmtFloat(threshold),
		t.ContactID, fmtFloat(r.ContactFit(t)), fmtFloat(r.PartnerFit(t)),
	)
	args = append(args, cf.list...)
	args = append(args, pf.list...)
	return append(args, evArgs...), nil
}

// fieldSet collects the distinct hash fields a script call reads, in
// order. Batches are small, so a linear scan beats a map until they are
// not.
type fieldSet struct {
	list []any
	idx  map[string]int
}

// add records f once and returns its 1-based index (a script call reads
// at most a few thousand fields: see maxChunk).
func (s *fieldSet) add(f string) uint16 {
	if s.idx == nil && len(s.list) < 32 {
		for i, x := range s.list {
			if x.(string) == f {
				return uint16(i + 1)
			}
		}
		s.list = append(s.list, f)
		return uint16(len(s.list))
	}
	if s.idx == nil {
		s.idx = make(map[string]int, 2*len(s.list))
		for i, x := range s.list {
			s.idx[x.(string)] = i + 1
		}
	}
	if i, ok := s.idx[f]; ok {
		return uint16(i)
	}
	s.list = append(s.list, f)
	s.idx[f] = len(s.list)
	return uint16(len(s.list))
}

// packFloats encodes numbers for struct.unpack('<d...') in the scripts.
func packFloats(fs ...float64) string {
	b := make([]byte, 0, 8*len(fs))
	for _, f := range fs {
		b = appendFloat(b, f)
	}
	return string(b)
}

func appendFloat(b []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
}

// unpackFloat reads the i-th little-endian float64 of b.
func unpackFloat(b string, i int) float64 {
	return math.Float64frombits(binary.LittleEndian.Uint64([]byte(b[8*i : 8*i+8])))
}

// pruneInterval spaces the sweeps of a contact's seen hash (in minutes) so
// expired entries outlive their expiry by at most a quarter of the dedup
// retention.
func pruneInterval(cfg Config) int64 { return max(minutes(cfg.DedupRetention)/4, 1) }

func minutes(d time.Duration) int64 { return int64(d / time.Minute) }

// sinceEpoch is t in ms since Epoch, the time unit of the scripts.
func sinceEpoch(t time.Time) int64 { return t.Sub(Epoch).Milliseconds() }

// parseApply reads applyScript's output; it returns the partner's
// normalised score formatted for the leaderboard.
func (e *Engine) parseApply(t Target, evs []event.Event, raw []any, now time.Time) (*Result, string, error) {
	if len(raw) != 6 {
		return nil, "", fmt.Errorf("scoring: apply script returned %d values, want 6", len(raw))
	}
	scores, _ := raw[0].(string)
	codes, _ := raw[5].(string)
	if len(scores) != 16 || len(codes) != len(evs) {
		return nil, "", fmt.Errorf("scoring: apply script output: %d bytes of scores, %d codes for %d events",
			len(scores), len(codes), len(evs))
	}
	num := func(i int) int64 { n, _ := raw[i].(int64); return n }
	cnorm, pnorm := unpackFloat(scores, 0), unpackFloat(scores, 1)
	d := e.decay(now)
	res := &Result{
		Events:       make([]EventResult, len(evs)),
		ContactScore: cnorm * d,
		PartnerScore: pnorm * d,
		Version:      num(1),
	}
	if seq := num(2); seq > 0 {
		res.Crossing = &Crossing{
			PartnerID: t.PartnerID, Seq: seq, CrossedAt: time.UnixMilli(num(3)).UTC(),
			Threshold: e.rubric.Threshold(t.Tier), New: num(4) == 1,
		}
	}
	for i := range evs {
		er := EventResult{ID: evs[i].ID}
		switch c := codes[i]; {
		case c == '0':
			er.Points, er.Filtered = e.rubric.Points(evs[i], t)
		case c >= '4' && int(c-'4') < len(filterReasons):
			er.Filtered = filterReasons[c-'4']
		default:
			return nil, "", fmt.Errorf("scoring: apply script output for events[%d]: code %q", i, c)
		}
		er.Duplicate = er.Filtered == FilteredDuplicate
		res.Events[i] = er
	}
	return res, fmtFloat(pnorm), nil
}

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
