package store

import "github.com/redis/go-redis/v9"

// CompactScript replaces a contact string with the compaction scoring
// decided in Go for a contact that saw no write since its compaction
// came due (the retention job: write-time compaction never reaches a
// contact that gets no new events), if the string is still the one read.
//
// KEYS[1] -> lt:{p:<pid>}:s:c:<cid>
// ARGV[1] -> the write token of the string as read (TokenLen bytes)
// ARGV[2] -> the compacted string (its header with a new token)
//
// Output: 1 when replaced, 0 when the string moved on (a batch was
// applied meanwhile, or another run compacted it first).
// The token is bytes 48 to 55 (HeaderLen-TokenLen to HeaderLen-1).
var CompactScript = redis.NewScript(`
if redis.call('GETRANGE', KEYS[1], 48, 55) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
`)
