package repqueue

import "github.com/redis/go-redis/v9"

// reserveScript takes one of a rep's daily slots for a handoff.
//
// KEYS[1]: the rep's capacity set of the day (rep slot)
// ARGV[1]: the reservation id (handoff id, plus the breach number for an
//
//	SLA reassignment)
//
// ARGV[2]: the rep's daily capacity
// ARGV[3]: time to live of the set, seconds
//
// Returns 1 when the id holds a slot (now or already: reserving twice for
// the same id takes one slot), 0 when the rep is at capacity.
var reserveScript = redis.NewScript(`
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
`)

// createScript writes a partner's new entry unless an open entry or one of
// this or a later crossing exists.
//
// KEYS[1]: the entry hash; KEYS[2]: the partner's queue timeline;
// KEYS[3]: the partner's pend key (partner slot, all three)
// ARGV[1]: the crossing seq
// ARGV[2]: the timeline item (JSON)
// ARGV[3]: the timeline length to keep
// ARGV[4..]: field, value, field, value... of the entry
//
// Returns 1 when created, 0 when an entry was kept (the caller reads it).
var createScript = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'seq', 'st')
if cur[1] and (tonumber(cur[1]) >= tonumber(ARGV[1]) or cur[2] ~= 'closed') then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'ver', 1, unpack(ARGV, 4))
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
redis.call('DEL', KEYS[3])
return 1
`)

// casScript applies a transition to an entry if nobody changed it since
// it was read.
//
// KEYS[1]: the entry hash; KEYS[2]: the partner's queue timeline;
// KEYS[3]: the partner's nurture hash (partner slot, all three)
// ARGV[1]: the entry version read
// ARGV[2]: the timeline item (JSON), or "" for none
// ARGV[3]: the timeline length to keep
// ARGV[4]: n, the number of entry field/value pairs that follow
// ARGV[5..4+2n]: entry field, value pairs; an empty value deletes the field
// ARGV[5+2n..]: nurture field, value pairs; an empty value deletes
//
// Returns 1 when applied (the version is incremented), 0 when the entry
// is missing or its version moved.
var casScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'ver') ~= ARGV[1] then return 0 end
local function apply(key, i, last)
  while i + 1 <= last do
    if ARGV[i + 1] == '' then
      redis.call('HDEL', key, ARGV[i])
    else
      redis.call('HSET', key, ARGV[i], ARGV[i + 1])
    end
    i = i + 2
  end
end
local n = tonumber(ARGV[4])
apply(KEYS[1], 5, 4 + 2 * n)
apply(KEYS[3], 5 + 2 * n, #ARGV)
redis.call('HINCRBY', KEYS[1], 'ver', 1)
if ARGV[2] ~= '' then
  redis.call('LPUSH', KEYS[2], ARGV[2])
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
end
return 1
`)
