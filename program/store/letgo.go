package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/program"
)

// LetGo is a partner's "let go" state as stored: State is "" (nothing
// done: recommended), reengaging, exited or kept, since Since; the other
// times are when each last happened (zero for never).
type LetGo struct {
	State       string
	Since       time.Time
	ReengagedAt time.Time
	ExitedAt    time.Time
	KeptAt      time.Time
	raw         string // the s field as read, for the compare-and-set
}

// letGoScript moves a partner's let-go state, as Go decided, if it is
// still the one Go read.
//
//	KEYS[1] the let-go hash (letGoKey)
//	ARGV[1] its s field as Go read it ("" for none), ARGV[2] the new s,
//	ARGV[3] the time field of the move (r, x or k), ARGV[4] its unix ms
//	returns 1 when moved, 0 when the state moved under Go (another action
//	or settlement came first: it decides)
var letGoScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 's') or ''
if cur ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 's', ARGV[2], ARGV[3], ARGV[4])
return 1
`)

// letGoField is the time field a move to state stamps.
func letGoField(state string) (string, error) {
	switch state {
	case program.LetGoReengaging:
		return "r", nil
	case program.LetGoExited:
		return "x", nil
	case program.LetGoKept:
		return "k", nil
	}
	return "", fmt.Errorf("program/store: %q is not a let-go state", state)
}

func parseLetGo(h map[string]string) (LetGo, error) {
	var l LetGo
	ms := func(k string) (time.Time, error) {
		v, ok := h[k]
		if !ok {
			return time.Time{}, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("program/store: malformed let-go field %s %.40q", k, v)
		}
		return time.UnixMilli(n).UTC(), nil
	}
	var err error
	if l.ReengagedAt, err = ms("r"); err != nil {
		return l, err
	}
	if l.ExitedAt, err = ms("x"); err != nil {
		return l, err
	}
	if l.KeptAt, err = ms("k"); err != nil {
		return l, err
	}
	if l.raw = h["s"]; l.raw != "" {
		name, since, ok := strings.Cut(l.raw, " ")
		n, err := strconv.ParseInt(since, 10, 64)
		if !ok || err != nil {
			return l, fmt.Errorf("program/store: malformed let-go state %.40q", l.raw)
		}
		l.State, l.Since = name, time.UnixMilli(n).UTC()
	}
	return l, nil
}

// apply puts the let-go state into the facts the rules read: the last
// re-engagement always; the exit only while exited, the keep only while
// kept (a partner let go again after a keep is re-engaging, not kept).
func (l LetGo) apply(f *program.Facts) {
	f.ReengagedAt = l.ReengagedAt
	switch l.State {
	case program.LetGoExited:
		f.ExitedAt = l.ExitedAt
	case program.LetGoKept:
		f.KeptAt = l.KeptAt
	}
}

// LetGoState reads the partner's let-go state.
func (s *Store) LetGoState(ctx context.Context, pid string) (LetGo, error) {
	h, err := s.rdb.HGetAll(ctx, letGoKey(pid)).Result()
	if err != nil {
		return LetGo{}, fmt.Errorf("program/store: let-go state of %s: %w", pid, err)
	}
	return parseLetGo(h)
}

// MoveLetGo moves the partner's let-go state from cur (as read by
// LetGoState) to state at at, only if it is still cur; false when it
// moved under the caller.
func (s *Store) MoveLetGo(ctx context.Context, pid string, cur LetGo, state string, at time.Time) (bool, error) {
	field, err := letGoField(state)
	if err != nil {
		return false, err
	}
	ms := strconv.FormatInt(at.UnixMilli(), 10)
	n, err := letGoScript.Run(ctx, s.rdb, []string{letGoKey(pid)}, cur.raw, state+" "+ms, field, ms).Int()
	if err != nil {
		return false, fmt.Errorf("program/store: move the let-go state of %s: %w", pid, err)
	}
	return n == 1, nil
}

// Exited says whether the partner was let go (its contacts are
// suppressed with reason program_exit): the gate asks before every send.
func (s *Store) Exited(ctx context.Context, pid string) (bool, error) {
	v, err := s.rdb.HGet(ctx, letGoKey(pid), "s").Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("program/store: let-go state of %s: %w", pid, err)
	}
	return strings.HasPrefix(v, program.LetGoExited+" "), nil
}

// ExitedMany is Exited for many partners in one pipeline.
func (s *Store) ExitedMany(ctx context.Context, pids []string) ([]bool, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(pids))
	for i, pid := range pids {
		cmds[i] = pipe.HGet(ctx, letGoKey(pid), "s")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("program/store: let-go states: %w", err)
	}
	out := make([]bool, len(pids))
	for i, c := range cmds {
		out[i] = strings.HasPrefix(c.Val(), program.LetGoExited+" ")
	}
	return out, nil
}
