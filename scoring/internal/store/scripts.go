package store

import (
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ApplyScript commits one batch of one contact that scoring judged in Go
// against the contact string as it read it: if the contact is still that
// string (its write token, or still absent), it writes the contact, pushes
// the batch's timeline element and adds the batch's deltas to the partner,
// including the threshold test with the levels Go computed; otherwise it
// writes nothing and returns 0, and Go reads the contact again and judges
// the batch again. It applies no scoring rule: no points, caps, dedup,
// decay or windows, only the arithmetic of Partner.Commit.
//
// A call costs Redis every string Lua makes or receives (hashed byte by
// byte when interned), every redis.call, every number formatted: so the
// numbers travel packed in one argument, and the contact is written in
// place (SETRANGE of the header, APPEND of the records) unless Go replaces
// it whole (a new contact, a compaction).
//
// KEYS[1] -> lt:{p:<pid>}:s:c:<cid>  contact string
// KEYS[2] -> lt:{p:<pid>}:s:t:<cid>  contact timeline
// KEYS[3] -> lt:{p:<pid>}:s:p        partner hash
// KEYS[4] -> lt:{p:<pid>}:s:pc       partner's contacts list
// --
// ARGV[1] -> 10 float64: mode (1: no contact was stored when read, 2:
// replace the contact string (always, for a new one), 4: roll up to the
// partner; summed), np (the partner fields), timeline length, then
// PartnerCommit's DN, CrossAt, RearmAt, Now, Last, Threshold, Fit; then
// np float64, the fields' deltas; then the write token read (8 bytes) or,
// for a new contact, its entry for the contacts list
// ARGV[2] -> the header to write at offset 0, or the whole contact string
// when replacing
// ARGV[3] -> the records to append ("" when replacing)
// ARGV[4] -> the batch's timeline element ("" for none)
// ARGV[5..4+np] -> the partner fields (besides h and dis)
//
// Output: 0 if stale (nothing written); "" without roll-up; else 5
// float64: the partner's N, version, pending crossing seq (0: none),
// crossed at (unix ms), 1 if this call crossed.
var ApplyScript = redis.NewScript(structShim + `
local sc, tl, ph, pc = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local F = ARGV[1]
local mode, np, tllen, dn, cross_at, rearm_at, now, last, thr, fit = struct.unpack('<dddddddddd', F)
local T = 81 + 8 * np -- the token read, or the new contact's entry
local new = mode % 2 == 1
if new then
  -- A new contact is written whole, unless one was written since the read.
  if not redis.call('SET', sc, ARGV[2], 'NX') then return 0 end
elseif redis.call('GETRANGE', sc, '48', '55') ~= string.sub(F, T, T + 7) then
  return 0
elseif mode % 4 >= 2 then
  redis.call('SET', sc, ARGV[2])
else
  redis.call('SETRANGE', sc, '0', ARGV[2])
  if ARGV[3] ~= '' then redis.call('APPEND', sc, ARGV[3]) end
end
-- Appended oldest first: a listpack grows at its tail without moving what
-- it holds.
if ARGV[4] ~= '' and redis.call('RPUSH', tl, ARGV[4]) > tllen then
  redis.call('LTRIM', tl, -tllen, '-1')
end
if mode < 4 then return '' end

local P = redis.call('HMGET', ph, 'h', 'dis', unpack(ARGV, 5, 4 + np))
local old, ver, seq, pend, xat, plast = 0, 0, 0, 0, 0, 0
if P[1] then old, ver, seq, pend, xat, plast = struct.unpack('<dddddd', P[1]) end
local n = old + dn
ver = ver + 1
local pw = {nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil}
local m = 0
for i = 1, np do
  local d = struct.unpack('<d', F, 73 + 8 * i)
  local x = P[2 + i]
  if x then d = struct.unpack('<d', x) + d end
  pw[m + 1], pw[m + 2] = ARGV[4 + i], struct.pack('<d', d)
  m = m + 2
end
if last > plast then plast = last end
-- A contact joins the list once, on its first batch. A string, not a
-- set: Redis 7.0 keeps a set of strings as a hashtable, an allocation per
-- member.
if new then redis.call('APPEND', pc, string.sub(F, T)) end
local disarmed = P[2] == '1'
if disarmed and math.min(old, n) < rearm_at then
  disarmed = false
  redis.call('HDEL', ph, 'dis')
end
local crossed = 0
if not disarmed and n >= cross_at then
  seq = seq + 1
  pend, xat, crossed = seq, now, 1
  pw[m + 1], pw[m + 2] = 'dis', '1'
  m = m + 2
end
pw[m + 1], pw[m + 2] = 'h', struct.pack('<dddddddd', n, ver, seq, pend, xat, plast, thr, fit)
redis.call('HSET', ph, unpack(pw, 1, m + 2))
return struct.pack('<ddddd', n, ver, pend, xat, crossed)
`)

// Modes of an ApplyScript call (ARGV[1]'s first number), summed.
const (
	modeNew     = 1
	modeReplace = 2
	modeRollup  = 4
)

// applyHead is the number of float64 ApplyScript's ARGV[1] starts with.
const applyHead = 10

// ApplyKeys is the number of KEYS of ApplyScript.
const ApplyKeys = 4

// applySHA is ApplyScript's SHA1, boxed once for every EVALSHA.
var applySHA any = ApplyScript.Hash()

// Commit is one ApplyScript call.
type Commit struct {
	// Keys are the script's KEYS, in one string: Ends says where each
	// ends (so the caller builds them without allocating each).
	Keys string
	Ends [ApplyKeys]int
	// Read is the contact string as read ("" when none): the call commits
	// only if it is still stored.
	Read string
	// Write is how to write the contact.
	Write Write
	// Timeline is the batch's timeline element (nil for none), and
	// TimelineLen the number of elements kept.
	Timeline    []byte
	TimelineLen int
	// Partner is what the batch adds to the partner, nil without roll-up.
	Partner *PartnerCommit
}

// Cmd is the EVALSHA command of c, for scriptrun.
func (c *Commit) Cmd() []any {
	np := 0
	mode := 0.0
	if c.Read == "" {
		mode += modeNew
	}
	if c.Write.Replace {
		mode += modeReplace
	}
	p := c.Partner
	if p != nil {
		mode += modeRollup
		np = len(p.Fields)
	} else {
		p = &PartnerCommit{}
	}
	// One allocation for ARGV[1] and the timeline element.
	var sb strings.Builder
	sb.Grow(8*(applyHead+np) + TokenLen + len(p.Entry) + len(c.Timeline))
	var num [8]byte
	for _, f := range [applyHead]float64{mode, float64(np), float64(c.TimelineLen),
		p.DN, p.CrossAt, p.RearmAt, p.Now, p.Last, p.Threshold, p.Fit} {
		sb.Write(AppendFloat(num[:0], f))
	}
	for _, d := range p.Deltas[:np] {
		sb.Write(AppendFloat(num[:0], d))
	}
	if c.Read != "" {
		sb.WriteString(c.Read[HeaderLen-TokenLen : HeaderLen])
	} else {
		sb.WriteString(p.Entry)
	}
	f := sb.Len()
	sb.Write(c.Timeline)
	all := sb.String()
	// Every argument by pointer: go-redis writes a *string as it does a
	// string, and none is boxed on its own.
	strs := make([]string, ApplyKeys+4)
	prev := 0
	for i, end := range c.Ends {
		strs[i], prev = c.Keys[prev:end], end
	}
	strs[ApplyKeys], strs[ApplyKeys+1], strs[ApplyKeys+2], strs[ApplyKeys+3] = all[:f], c.Write.Value, c.Write.Records, all[f:]
	args := make([]any, 3+len(strs)+np)
	args[0], args[1], args[2] = "evalsha", applySHA, ApplyKeys
	for i := range strs {
		args[3+i] = &strs[i]
	}
	for i := range np {
		args[3+len(strs)+i] = &p.Fields[i]
	}
	return args
}

// Applied is what an ApplyScript call returned.
type Applied struct {
	// Stale is set when the contact was no longer the one read: nothing
	// was written.
	Stale bool
	// Partner's N and version after the call, its pending crossing seq and
	// when that crossing was made (unix ms), and whether this call made
	// it; all zero without roll-up.
	N, Version, Pending, CrossedAt float64
	Crossed                        bool
}

// ParseApplied reads an ApplyScript call's reply.
func ParseApplied(reply any) (Applied, error) {
	switch r := reply.(type) {
	case int64:
		if r == 0 {
			return Applied{Stale: true}, nil
		}
	case string:
		if r == "" {
			return Applied{}, nil
		}
		if len(r) == 40 {
			return Applied{N: Float(r, 0), Version: Float(r, 1), Pending: Float(r, 2), CrossedAt: Float(r, 3), Crossed: Float(r, 4) == 1}, nil
		}
	}
	return Applied{}, fmt.Errorf("apply script replied %T %v", reply, reply)
}

// LeaderboardScript writes partners' normalised scores to the leaderboard,
// each unless a newer version of it is already there, so two workers
// finishing out of order never leave the older score behind. One call takes
// any number of partners.
//
// KEYS[1] -> lt:{lb}:partners
// KEYS[2] -> lt:{lb}:ver
// --
// ARGV    -> triples: partner id, partner version returned by ApplyScript,
// partner normalised score
//
// Output: how many triples were written (for one partner: 1 if written,
// 0 if a newer version was already there).
var LeaderboardScript = redis.NewScript(`
local n = #ARGV / 3
local ids = {}
for i = 1, n do ids[i] = ARGV[3 * i - 2] end
local cur = redis.call('HMGET', KEYS[2], unpack(ids))
local best, hv, zv = {}, {}, {}
for i = 1, n do
  local id, v = ids[i], tonumber(ARGV[3 * i - 1])
  if v > (best[id] or tonumber(cur[i]) or 0) then
    best[id] = v
    hv[#hv + 1] = id; hv[#hv + 1] = ARGV[3 * i - 1]
    zv[#zv + 1] = ARGV[3 * i]; zv[#zv + 1] = id
  end
end
if #hv == 0 then return 0 end
redis.call('HSET', KEYS[2], unpack(hv))
redis.call('ZADD', KEYS[1], unpack(zv))
return #hv / 2
`)

// AckScript clears a pending crossing (PartnerHead.Pending) once its
// handoff is enqueued.
//
// KEYS[1] -> lt:{p:<pid>}:s:p
// ARGV[1] -> crossing seq
//
// Output: 1 if the pending crossing was that seq and is now cleared, else 0.
var AckScript = redis.NewScript(structShim + `
local h = redis.call('HGET', KEYS[1], 'h')
if not h then return 0 end
local s, ver, seq, pend, xat, last, thr, fit = struct.unpack('<dddddddd', h)
if pend == 0 or pend ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'h', struct.pack('<dddddddd', s, ver, seq, 0, xat, last, thr, fit))
return 1
`)

// RearmScript re-arms a partner that Go found, reading its "h", should be
// re-armed (scoring's Sweep), if its "h" is still the one read: every
// write of the partner changes its version.
//
// KEYS[1] -> lt:{p:<pid>}:s:p
// ARGV[1] -> the partner's "h" as read
//
// Output: 1 if re-armed, 0 if it was not disarmed or "h" moved on.
var RearmScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'h') ~= ARGV[1] then return 0 end
return redis.call('HDEL', KEYS[1], 'dis')
`)
