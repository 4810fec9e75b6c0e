package nurture

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/ident"
)

// Status is where an enrollment stands.
type Status string

// Enrollment statuses. Active and waiting enrollments have a step to run;
// a paused one waits for its partner to leave the call queue; exited and
// completed ones are over (Reason says why an exited one ended).
const (
	StatusActive    Status = "active"
	StatusWaiting   Status = "waiting"
	StatusPaused    Status = "paused"
	StatusExited    Status = "exited"
	StatusCompleted Status = "completed"
)

// Over reports whether the enrollment has ended.
func (s Status) Over() bool { return s == StatusExited || s == StatusCompleted }

// Reasons an enrollment ends, besides the gate's (consent_withdrawn,
// suppressed: ...) and the call queue's (not_a_fit, converted).
const (
	ReasonExitStep     = "exit_step"
	ReasonEnded        = "ended"        // DELETE /v1/flows/{id}/enrollments/{contact}
	ReasonFlowRemoved  = "flow_removed" // a reload removed the flow
	ReasonStepRemoved  = "step_removed" // a reload removed the step the enrollment was at
	ReasonSendFailed   = "send_failed"  // the mail server refused the email for good (5xx)
	ReasonUnsubscribed = "unsubscribed"
	ReasonHardBounce   = "hard_bounce"
	ReasonComplaint    = "complaint"
)

// Waiter is what an enrollment at a wait_for step waits for.
type Waiter struct {
	Until time.Time `json:"until"`
	Event string    `json:"event"`
	Topic string    `json:"topic,omitempty"`
	Step  string    `json:"step,omitempty"`
}

// HistoryItem is one step an enrollment went through.
type HistoryItem struct {
	At      time.Time `json:"at"`
	Step    string    `json:"step"`
	Outcome string    `json:"outcome"`
}

// Enrollment is one contact's progress through one flow.
type Enrollment struct {
	// ID is "<partner>:<flow>:<contact>" (none of the three holds a colon).
	ID        string  `json:"id"`
	Flow      string  `json:"flow"`
	ContactID string  `json:"contact_id"`
	PartnerID string  `json:"partner_id"`
	Step      string  `json:"step"`
	Status    Status  `json:"status"`
	Reason    string  `json:"reason,omitempty"`
	Seq       int64   `json:"seq"`
	Waiter    *Waiter `json:"waiter,omitempty"`
	// NextAt is when the current step runs (zero once over or while waiting
	// for an event with no timeout scheduled).
	NextAt    time.Time     `json:"next_at,omitzero"`
	EnteredAt time.Time     `json:"entered_at"`
	UpdatedAt time.Time     `json:"updated_at"`
	EndedAt   time.Time     `json:"ended_at,omitzero"`
	History   []HistoryItem `json:"history,omitempty"`
}

// EnrollmentID names the enrollment of contact cid of partner pid in flowID.
func EnrollmentID(pid, flowID, cid string) string { return pid + ":" + flowID + ":" + cid }

// ErrBadEnrollmentID: the id is not "<partner>:<flow>:<contact>".
var ErrBadEnrollmentID = errors.New("nurture: invalid enrollment id")

// ParseEnrollmentID splits an enrollment id.
func ParseEnrollmentID(id string) (pid, flowID, cid string, err error) {
	parts := strings.Split(id, ":")
	if len(parts) != 3 || !ident.Valid(parts[0]) || !ident.Valid(parts[2]) || parts[1] == "" {
		return "", "", "", fmt.Errorf("%w %q (want <partner>:<flow>:<contact>)", ErrBadEnrollmentID, id)
	}
	return parts[0], parts[1], parts[2], nil
}

// ErrNoEnrollment: no such enrollment.
var ErrNoEnrollment = errors.New("nurture: no such enrollment")

// ErrMoved: the enrollment changed since it was read (another task moved
// it); the caller reads it again or lets the other task win.
var ErrMoved = errors.New("nurture: the enrollment moved under this change")

// historyLength caps an enrollment's history: enough for every step of a
// long flow, small enough that a forgotten loop cannot grow it.
const historyLength = 64

// Store keeps enrollments, send logs, tags and funnel counters in Redis.
// It decides nothing: the Engine decides in Go, the store reads and
// commits (a commit refuses when the enrollment moved, ErrMoved).
type Store struct {
	rdb redis.UniversalClient
}

// NewStore returns a store on rdb.
func NewStore(rdb redis.UniversalClient) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("nurture: nil Redis client")
	}
	return &Store{rdb: rdb}, nil
}

func ms(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

func fromMS(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || s == "" {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

func encodeWaiter(w *Waiter) string {
	if w == nil {
		return ""
	}
	return ms(w.Until) + " " + w.Event + " " + w.Topic + " " + w.Step
}

func decodeWaiter(s string) *Waiter {
	if s == "" {
		return nil
	}
	p := strings.SplitN(s, " ", 4)
	for len(p) < 4 {
		p = append(p, "")
	}
	return &Waiter{Until: fromMS(p[0]), Event: p[1], Topic: p[2], Step: p[3]}
}

func decode(pid, flowID, cid string, h map[string]string) *Enrollment {
	q, _ := strconv.ParseInt(h["q"], 10, 64)
	return &Enrollment{
		ID: EnrollmentID(pid, flowID, cid), Flow: flowID, ContactID: cid, PartnerID: pid,
		Step: h["s"], Status: Status(h["st"]), Reason: h["r"], Seq: q, Waiter: decodeWaiter(h["w"]),
		NextAt: fromMS(h["n"]), EnteredAt: fromMS(h["e"]), UpdatedAt: fromMS(h["u"]), EndedAt: fromMS(h["x"]),
	}
}

// Get reads an enrollment (without its history); ErrNoEnrollment when
// there is none.
func (s *Store) Get(ctx context.Context, id string) (*Enrollment, error) {
	pid, fid, cid, err := ParseEnrollmentID(id)
	if err != nil {
		return nil, err
	}
	h, err := s.rdb.HGetAll(ctx, enrollmentKey(pid, fid, cid)).Result()
	if err != nil {
		return nil, fmt.Errorf("nurture: read enrollment %s: %w", id, err)
	}
	if len(h) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoEnrollment, id)
	}
	return decode(pid, fid, cid, h), nil
}

// History reads an enrollment's history, oldest first.
func (s *Store) History(ctx context.Context, e *Enrollment) ([]HistoryItem, error) {
	raw, err := s.rdb.LRange(ctx, historyKey(e.PartnerID, e.Flow, e.ContactID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("nurture: history of %s: %w", e.ID, err)
	}
	out := make([]HistoryItem, 0, len(raw))
	for i := len(raw) - 1; i >= 0; i-- {
		p := strings.SplitN(raw[i], " ", 3)
		if len(p) == 3 {
			out = append(out, HistoryItem{At: fromMS(p[0]), Step: p[1], Outcome: p[2]})
		}
	}
	return out, nil
}

// OfPartner lists every enrollment of the partner's contacts (ended ones
// too), in flow then contact order; cid, when set, keeps that contact's.
func (s *Store) OfPartner(ctx context.Context, pid, cid string) ([]*Enrollment, error) {
	members, err := s.rdb.SMembers(ctx, partnerIndexKey(pid)).Result()
	if err != nil {
		return nil, fmt.Errorf("nurture: enrollments of %s: %w", pid, err)
	}
	slices.Sort(members)
	type ref struct{ flow, cid string }
	var refs []ref
	for _, m := range members {
		f, c, ok := strings.Cut(m, ":")
		if ok && (cid == "" || c == cid) {
			refs = append(refs, ref{f, c})
		}
	}
	if len(refs) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(refs))
	for i, r := range refs {
		cmds[i] = pipe.HGetAll(ctx, enrollmentKey(pid, r.flow, r.cid))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("nurture: enrollments of %s: %w", pid, err)
	}
	out := make([]*Enrollment, 0, len(refs))
	for i, r := range refs {
		if h := cmds[i].Val(); len(h) > 0 {
			out = append(out, decode(pid, r.flow, r.cid, h))
		}
	}
	return out, nil
}

// commitScript applies one transition the engine decided, if the
// enrollment is still the one it read.
//
// KEYS[1] the enrollment hash, KEYS[2] its history, KEYS[3] the partner's index
// ARGV[1] the seq the engine read ("0" for an enrollment that must not exist yet)
// ARGV[2] a history item ("" for none), ARGV[3] historyLength
// ARGV[4] the index member "<flow>:<cid>"
// ARGV[5...] field, value pairs to set; an empty value deletes the field
// Output: the new seq, or 0 when the stored seq is not ARGV[1] (ErrMoved).
var commitScript = redis.NewScript(`
local q = tonumber(redis.call("HGET", KEYS[1], "q") or "0")
if q ~= tonumber(ARGV[1]) then return 0 end
for i = 5, #ARGV, 2 do
  if ARGV[i+1] == "" then redis.call("HDEL", KEYS[1], ARGV[i])
  else redis.call("HSET", KEYS[1], ARGV[i], ARGV[i+1]) end
end
redis.call("HSET", KEYS[1], "q", q + 1)
if ARGV[2] ~= "" then
  redis.call("LPUSH", KEYS[2], ARGV[2])
  redis.call("LTRIM", KEYS[2], 0, tonumber(ARGV[3]) - 1)
end
redis.call("SADD", KEYS[3], ARGV[4])
return q + 1`)

// Change is one transition of an enrollment, as the engine decided it.
type Change struct {
	// Step, Status, Reason, NextAt, Waiter, EnteredAt, EndedAt are the
	// enrollment's new values (all of them are written).
	Step      string
	Status    Status
	Reason    string
	NextAt    time.Time
	Waiter    *Waiter
	EnteredAt time.Time
	EndedAt   time.Time
	// Done, when set, is the history item of the step just finished.
	Done *HistoryItem
}

// Commit writes c over e if e is still at seq e.Seq, and returns the
// enrollment as written. ErrMoved when another transition came first.
func (s *Store) Commit(ctx context.Context, e *Enrollment, c Change, now time.Time) (*Enrollment, error) {
	keys, args := commitArgs(e, c, now)
	q, err := commitScript.Run(ctx, s.rdb, keys, args...).Int64()
	return committed(e, c, now, q, err)
}

// commitArgs are the keys and arguments of commitScript for c over e.
func commitArgs(e *Enrollment, c Change, now time.Time) ([]string, []any) {
	hist := ""
	if c.Done != nil {
		hist = ms(c.Done.At) + " " + c.Done.Step + " " + c.Done.Outcome
	}
	args := []any{e.Seq, hist, historyLength, e.Flow + ":" + e.ContactID,
		"f", e.Flow, "c", e.ContactID, "s", c.Step, "st", string(c.Status), "r", c.Reason,
		"n", ms(c.NextAt), "e", ms(enteredAt(e, c)), "u", ms(now), "x", ms(c.EndedAt), "w", encodeWaiter(c.Waiter)}
	keys := []string{enrollmentKey(e.PartnerID, e.Flow, e.ContactID), historyKey(e.PartnerID, e.Flow, e.ContactID), partnerIndexKey(e.PartnerID)}
	return keys, args
}

func enteredAt(e *Enrollment, c Change) time.Time {
	if c.EnteredAt.IsZero() {
		return e.EnteredAt
	}
	return c.EnteredAt
}

// committed is the enrollment commitScript wrote (new seq q), or its error.
func committed(e *Enrollment, c Change, now time.Time, q int64, err error) (*Enrollment, error) {
	if err != nil {
		return nil, fmt.Errorf("nurture: commit %s: %w", e.ID, err)
	}
	if q == 0 {
		return nil, fmt.Errorf("%w: %s", ErrMoved, e.ID)
	}
	out := *e
	out.Step, out.Status, out.Reason, out.NextAt, out.Waiter = c.Step, c.Status, c.Reason, c.NextAt, c.Waiter
	out.EnteredAt, out.UpdatedAt, out.EndedAt, out.Seq, out.History = enteredAt(e, c), now, c.EndedAt, q, nil
	return &out, nil
}

// SendsSince returns when the contact's nurture emails since from went out.
func (s *Store) SendsSince(ctx context.Context, pid, cid string, from time.Time) ([]time.Time, error) {
	zs, err := s.rdb.ZRangeByScoreWithScores(ctx, sendLogKey(pid, cid), &redis.ZRangeBy{Min: "(" + ms(from), Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("nurture: send log of %s: %w", cid, err)
	}
	out := make([]time.Time, len(zs))
	for i, z := range zs {
		out[i] = time.UnixMilli(int64(z.Score)).UTC()
	}
	return out, nil
}

// LogSend records a send in the contact's send log (idempotent per
// sendID) and drops entries older than keep, the cap's span.
func (s *Store) LogSend(ctx context.Context, pid, cid, sendID string, at time.Time, keep time.Duration) error {
	key := sendLogKey(pid, cid)
	pipe := s.rdb.TxPipeline()
	pipe.ZAdd(ctx, key, redis.Z{Score: float64(at.UnixMilli()), Member: sendID})
	pipe.ZRemRangeByScore(ctx, key, "-inf", "("+ms(at.Add(-keep)))
	pipe.PExpire(ctx, key, keep+time.Hour)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("nurture: log send to %s: %w", cid, err)
	}
	return nil
}

// Tag puts a tag on the contact (tag steps); Tags reads them.
func (s *Store) Tag(ctx context.Context, pid, cid, tag string) error {
	if err := s.rdb.SAdd(ctx, tagsKey(pid, cid), tag).Err(); err != nil {
		return fmt.Errorf("nurture: tag %s: %w", cid, err)
	}
	return nil
}

// Tags are the tags tag steps put on the contact, sorted.
func (s *Store) Tags(ctx context.Context, pid, cid string) ([]string, error) {
	tags, err := s.rdb.SMembers(ctx, tagsKey(pid, cid)).Result()
	if err != nil {
		return nil, fmt.Errorf("nurture: tags of %s: %w", cid, err)
	}
	slices.Sort(tags)
	return tags, nil
}

// Funnel counters, per step of a flow.
const (
	CountEntered      = "entered"
	CountSent         = "sent"
	CountDeferred     = "deferred"
	CountDelivered    = "delivered"
	CountOpened       = "opened"
	CountClicked      = "clicked"
	CountHandedOff    = "handed_off"
	CountUnsubscribed = "unsubscribed"
	CountExited       = "exited"
	// CountFailed: a send the mail server refused for good (5xx).
	CountFailed = "failed"
	// CountUncertain: a send that may or may not have gone (a worker died
	// between marking it and the server's answer); never resent.
	CountUncertain = "uncertain"
	// CountRemoved: enrollments exited because a reload removed their step.
	CountRemoved = "removed"
)

// FunnelCounters are the counters GET /v1/flows/{id}/funnel reports, in order.
var FunnelCounters = []string{CountEntered, CountSent, CountDeferred, CountDelivered, CountOpened,
	CountClicked, CountHandedOff, CountUnsubscribed, CountExited, CountFailed, CountUncertain, CountRemoved}

// Count adds one to a step's funnel counter. Counters follow committed
// transitions, so a retried task does not count twice; a crash between the
// commit and the count loses one count (they are a funnel, not a ledger).
func (s *Store) Count(ctx context.Context, flowID, stepID, counter string) error {
	if err := s.rdb.HIncrBy(ctx, funnelKey(flowID), stepID+"."+counter, 1).Err(); err != nil {
		return fmt.Errorf("nurture: count %s %s.%s: %w", flowID, stepID, counter, err)
	}
	return nil
}

// Funnel reads a flow's counters: step id → counter → count.
func (s *Store) Funnel(ctx context.Context, flowID string) (map[string]map[string]int64, error) {
	h, err := s.rdb.HGetAll(ctx, funnelKey(flowID)).Result()
	if err != nil {
		return nil, fmt.Errorf("nurture: funnel of %s: %w", flowID, err)
	}
	out := map[string]map[string]int64{}
	for k, v := range h {
		step, counter, ok := strings.Cut(k, ".")
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil {
			continue
		}
		if out[step] == nil {
			out[step] = map[string]int64{}
		}
		out[step][counter] = n
	}
	return out, nil
}
