package directory

import (
	"context"
	"fmt"

	"github.com/longtailhq/longtail/internal/scriptrun"
	"github.com/redis/go-redis/v9"
)

// upsertScript writes a record unless its body is already stored, so an
// identical put changes nothing (not even UpdatedAt), and adds the record
// to a set in the same slot in the same atomic step.
//
// KEYS[1] record key ("<created> <updated> <body>", see codec.go)
// KEYS[2] optional set listing the record, in KEYS[1]'s slot
// ARGV[1] body
// ARGV[2] now (see stamp)
// ARGV[3] created-at for a new record; "" means now (a contact moving to
// another partner keeps its creation time)
// ARGV[4] member to add to KEYS[2]
// ARGV[5] "1": create only; an existing record is left as it is
// Output: {status, previous value or nil, value now stored}, status
// 0 = unchanged, 1 = updated, 2 = created.
var upsertScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  local i = string.find(cur, ' ', 1, true)
  local j = i and string.find(cur, ' ', i + 1, true)
  if j then
    if ARGV[5] == '1' or string.sub(cur, j + 1) == ARGV[1] then
      if KEYS[2] then redis.call('SADD', KEYS[2], ARGV[4]) end
      return {0, cur, cur}
    end
    local val = string.sub(cur, 1, i) .. ARGV[2] .. ' ' .. ARGV[1]
    redis.call('SET', KEYS[1], val)
    if KEYS[2] then redis.call('SADD', KEYS[2], ARGV[4]) end
    return {1, cur, val}
  end
end
local created = ARGV[3]
if created == '' then created = ARGV[2] end
local val = created .. ' ' .. ARGV[2] .. ' ' .. ARGV[1]
redis.call('SET', KEYS[1], val)
if KEYS[2] then redis.call('SADD', KEYS[2], ARGV[4]) end
return {2, cur or false, val}
`)

// releaseEmailScript deletes an email index entry only while it still
// names the given contact, so releasing an old address can never remove
// an entry another contact has claimed meanwhile.
//
// KEYS[1] email index key
// ARGV[1] contact id
// Output: 1 if deleted, else 0.
var releaseEmailScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then
  local sp = string.find(v, ' ', 1, true)
  if sp and string.sub(v, sp + 1) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
  end
end
return 0
`)

// Upsert statuses returned by upsertScript.
const (
	statusUnchanged = 0
	statusUpdated   = 1
	statusCreated   = 2
)

type upsertCall struct {
	keys []string
	args []any
}

func newUpsert(key, setKey, body, now, created, member string, createOnly bool) upsertCall {
	keys := []string{key}
	if setKey != "" {
		keys = append(keys, setKey)
	}
	only := "0"
	if createOnly {
		only = "1"
	}
	return upsertCall{keys: keys, args: []any{body, now, created, member, only}}
}

type upsertResult struct {
	status int64
	prev   string // previous value; "" when there was none
	value  string // the value stored now
}

// upsertAll runs the calls in one pipeline (scriptrun: the calls a server
// that lost its scripts refused run again once loaded; only those).
func (s *Store) upsertAll(ctx context.Context, calls []upsertCall) ([]upsertResult, error) {
	if len(calls) == 0 {
		return nil, nil
	}
	sc := make([]scriptrun.Call, len(calls))
	for i, c := range calls {
		sc[i] = scriptrun.Call{Script: upsertScript, Keys: c.keys, Args: c.args}
	}
	cmds, err := scriptrun.Pipelined(ctx, s.rdb, sc)
	if err != nil {
		return nil, err
	}
	out := make([]upsertResult, len(calls))
	for i, cmd := range cmds {
		r, err := parseUpsert(cmd)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

func (s *Store) upsert(ctx context.Context, c upsertCall) (upsertResult, error) {
	r, err := s.upsertAll(ctx, []upsertCall{c})
	if err != nil {
		return upsertResult{}, err
	}
	return r[0], nil
}

func parseUpsert(cmd *redis.Cmd) (upsertResult, error) {
	vals, err := cmd.Slice()
	if err != nil {
		return upsertResult{}, err
	}
	if len(vals) != 3 {
		return upsertResult{}, fmt.Errorf("directory: upsert script returned %d values, want 3", len(vals))
	}
	st, ok := vals[0].(int64)
	val, ok2 := vals[2].(string)
	if !ok || !ok2 {
		return upsertResult{}, fmt.Errorf("directory: upsert script returned %T, %T", vals[0], vals[2])
	}
	prev, _ := vals[1].(string)
	return upsertResult{status: st, prev: prev, value: val}, nil
}
