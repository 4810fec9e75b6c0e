// Package listtrim removes old elements from the end of a Redis list
// that its owner decided, in Go, are past retention. The owner reads the
// list, chooses the elements to drop (it alone knows their format and
// their time), and Pop commits exactly that: it removes them only while
// they are still the list's end elements, so a writer that appended or
// trimmed meanwhile, or a second retention run, never loses an element
// that was not decided on. Running Pop twice removes nothing the second
// time.
package listtrim

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/internal/scriptrun"
)

// End is the end of the list the old elements are at.
type End string

const (
	// Head: the list is oldest first (RPUSH); old elements are at index 0.
	Head End = "L"
	// Tail: the list is newest first (LPUSH); old elements are at index -1.
	Tail End = "R"
)

// popScript pops the elements Go decided to drop, one at a time, while
// each is still the one at the list's end.
//
// KEYS[1] the list
// ARGV[1] "L" (pop from the head) or "R" (from the tail)
// ARGV[2..] the elements to drop, in order from that end
// Output: how many were popped; it stops at the first end element that
// is not the one expected (the list moved under the decision).
var popScript = redis.NewScript(`
local idx, pop = 0, "LPOP"
if ARGV[1] == "R" then idx, pop = -1, "RPOP" end
local n = 0
for i = 2, #ARGV do
  if redis.call("LINDEX", KEYS[1], idx) ~= ARGV[i] then break end
  redis.call(pop, KEYS[1])
  n = n + 1
end
return n`)

// Drop is one list's decision: the elements to pop from End, in order.
type Drop struct {
	Key   string
	End   End
	Elems []string
}

// Pop commits drops in one pipeline and returns how many elements went.
// Every drop is its own single-key script, so the keys may live in any
// Cluster slots.
func Pop(ctx context.Context, rdb redis.UniversalClient, drops []Drop) (int, error) {
	var calls []scriptrun.Call
	for _, d := range drops {
		if len(d.Elems) == 0 {
			continue
		}
		args := make([]any, 0, 1+len(d.Elems))
		args = append(args, string(d.End))
		for _, e := range d.Elems {
			args = append(args, e)
		}
		calls = append(calls, scriptrun.Call{Script: popScript, Keys: []string{d.Key}, Args: args})
	}
	if len(calls) == 0 {
		return 0, nil
	}
	cmds, err := scriptrun.Pipelined(ctx, rdb, calls)
	if err != nil {
		return 0, fmt.Errorf("listtrim: %w", err)
	}
	n := 0
	for _, c := range cmds {
		k, err := c.Int()
		if err != nil {
			return n, fmt.Errorf("listtrim: pop: %w", err)
		}
		n += k
	}
	return n, nil
}

// Oldest are the elements to drop from the old end of elems (listed in
// the list's own order, as LRANGE 0 -1 returns them), given old, which
// says whether one element is past retention: from the old end up to the
// first that is not, in the order Drop.Elems wants.
func Oldest(elems []string, end End, old func(string) bool) []string {
	var out []string
	if end == Head {
		for _, e := range elems {
			if !old(e) {
				break
			}
			out = append(out, e)
		}
		return out
	}
	for i := len(elems) - 1; i >= 0; i-- {
		if !old(elems[i]) {
			break
		}
		out = append(out, elems[i])
	}
	return out
}

// Decide reads the lists at keys and returns, for each whose old end is
// past retention (old), the Drop of its old elements. It reads one
// element of every list, and the whole list only of those that have
// something to drop: a nightly pass over lists that are mostly recent
// costs one LINDEX each. Missing keys are lists with nothing to drop.
func Decide(ctx context.Context, rdb redis.UniversalClient, keys []string, end End, old func(string) bool) ([]Drop, error) {
	idx := int64(0)
	if end == Tail {
		idx = -1
	}
	pipe := rdb.Pipeline()
	ends := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		ends[i] = pipe.LIndex(ctx, k, idx)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("listtrim: read: %w", err)
	}
	var due []string
	for i, k := range keys {
		if e, err := ends[i].Result(); err == nil && old(e) {
			due = append(due, k)
		}
	}
	if len(due) == 0 {
		return nil, nil
	}
	pipe = rdb.Pipeline()
	lists := make([]*redis.StringSliceCmd, len(due))
	for i, k := range due {
		lists[i] = pipe.LRange(ctx, k, 0, -1)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("listtrim: read: %w", err)
	}
	drops := make([]Drop, 0, len(due))
	for i, k := range due {
		if d := Oldest(lists[i].Val(), end, old); len(d) > 0 {
			drops = append(drops, Drop{Key: k, End: end, Elems: d})
		}
	}
	return drops, nil
}
