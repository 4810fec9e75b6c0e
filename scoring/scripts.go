package scoring

import "github.com/redis/go-redis/v9"

// headerArgs is the number of ARGV entries before the partner field names;
// Engine.applyArgs and applyScript agree.
const headerArgs = 4

// applyScript scores one batch of events of one contact, atomically: dedup,
// per-message and daily-cap filters, scanner clicks after delivery, decayed
// sums for the contact and its partner, explain aggregates, timeline, RFM
// facts and the threshold test.
//
// It runs once per contact and event batch, so it is written for speed.
// Under callgrind, what a call costs Redis is: every ARGV entry and every
// string Lua makes (interned: ~800 instructions each), every redis.call
// (~6,000 plus its arguments and reply), every hash field written (a
// listpack insert with a realloc: ~1,200), every table that grows, every
// number formatted for Redis (snprintf "%.17g": ~4,000), and the Lua
// interpreter itself, per event. Natively (perf), interning strings and
// keyspace lookups come first: Redis's Lua hashes every byte of every
// string it makes or receives (luaS_newlstr steps by one byte), so the
// bytes and the strings a call moves count more than its instructions
// say. So:
//   - Go judges the batch (fresh in fresh.go: duplicates, deliveries,
//     counted opens and clicks, daily caps, sums, explain deltas, the
//     records to append) against the contact string as it read it with a
//     plain GET just before (readContacts: Redis sends a reply as it is,
//     where a script would hash it), and the script's fast path only
//     checks that the contact is still at the version Go read, from its
//     header. When something stored changes Go's judgement, or the batch
//     filters its own events, or the contact was written in between, the
//     slow path reads the string and judges event by event;
//   - numbers go packed as little-endian float64 and integers (struct, in
//     C), never formatted and parsed;
//   - everything the contact keeps is one string: a header, the seen
//     markers (event ids, deliveries, counted opens and clicks, daily-cap
//     counters) and the explain aggregates, as records. A batch reads its
//     header (GETRANGE) and appends its records in place (SETRANGE of the
//     header, APPEND), with no hash fields named in ARGV, read and
//     written;
//     explain aggregates are appended as deltas and summed on read, and
//     compaction (in Go) folds them and drops expired markers;
//   - 6 or 7 redis.call (GETRANGE, then SET for a new contact or SETRANGE and
//     APPEND for a known one, RPUSH, APPEND to the partner's contacts for
//     a new contact, HMGET and HSET of the partner; LTRIM once the
//     timeline is full, HDEL on re-arm), and the cost grows with the
//     batch, not with history;
//   - tables are sized by their constructors and the output is one string.
//
// Scores are normalised: N = Σ p·2^(t/half) with t in ms since Epoch, read
// as N·2^(−now/half). Times are ms since Epoch unless said otherwise.
//
// KEYS[1] -> lt:{p:<pid>}:s:c:<cid>  contact (string, below)
// KEYS[2] -> lt:{p:<pid>}:s:t:<cid>  contact timeline list (below)
// KEYS[3] -> lt:{p:<pid>}:s:p        partner hash (with the RFM day buckets)
// KEYS[4] -> lt:{p:<pid>}:s:pc       partner's scored contacts (string of
// contact ids, each after its length as a little-endian uint16)
// --
// ARGV[1] -> 15 little-endian float64: now, now in minutes since Epoch
// (now_m), half-life, scanner window after delivery, timeline length,
// partner threshold, re-arm fraction, Epoch in unix ms, np, n, next
// compaction time (minutes since Epoch), contact fit points, partner fit
// points, 1 to roll up to the partner (0 not to), compactMinLen; then the
// contact's entry in KEYS[4] (length and id); then the version of the
// contact Go judged against as a float64 (0: none stored, -1: matches
// none); then Go's judgement for the fast path (fresh.appendPack), if
// any: '<ddB' (the batch's ΔN, last scored engagement, suppression code)
// and np partner-field deltas as float64. One string, as each argument
// costs a Lua string
// ARGV[2] -> "" when ARGV[1] has a judgement, else the n events' numbers,
// each packed as struct
// '<BdddBddI4BHHHHHHHHI4B' (little-endian, no padding): kind (1
// email.delivered, 2 email.click, 0 other); occurred_at (≤ now), points,
// normalised value; 1 if delivered_at is set, delivered_at; monetary
// value; daily cap; explain slot (4–8) of the reason filtered in Go (0:
// none); 1-based offsets in ARGV[3] (0: none) of the id record, delivered
// record, open/click record, daily-cap record and explain key (0 when the
// event cannot be explained); partner field indexes of the interest, RFM
// frequency and RFM monetary buckets; the byte length of the timeline JSON
// before ',"p"'; suppression code (0: none, else the index in
// suppressions)
// ARGV[3] -> "" when ARGV[1] has a judgement, else the records the events
// refer to, as stored (below), written as they are appended when new (a
// daily-cap record with count 1), and explain keys
// ARGV[4] -> with a judgement, the records the fast path appends, else ""
// When the contact is not at the version judged against and ARGV[2] is
// "", the script writes nothing and returns flags 4 (Go sends the batch
// again, whole, for the script to judge)
// then np partner-hash field names (besides "h" and "dis"; 0 without
// roll-up), then the events' timeline items (storedItem JSON) joined by
// newlines, as Go judged them: the slow path cuts out the items of
// duplicates and rewrites those it filters.
//
// Timeline: one element per batch, its items joined by newlines, oldest
// arrival first; the newest timeline-length batches are kept (each has an
// item at least, and reads show the newest timeline-length items).
//
// Contact string: a header of 7 packed float64 (next compaction time in
// minutes since Epoch, N, fit, suppression code, the length past which
// compaction is due, compactions so far, version: writes so far, batches
// and compactions), then records, each a key, then
// (markers) its expiry in minutes since Epoch as a little-endian uint32,
// then a payload:
//
//	i<id digest>   13 bytes   event id seen
//	o<msg digest>  13 bytes   open counted for the message
//	c<msg digest>  13 bytes   click counted for the message
//	d<msg digest>  21 bytes   delivered, payload: float64 delivered_at
//	k<type code><day uint32>  15 bytes   daily cap, payload: uint32 count
//	x<topic length uint16><type code><topic><m>  explain deltas: m (3 or
//	    8) float64 "count points N [duplicate machine_open scanner_click
//	    per_message daily_cap]" (slots 4–8 are the filterReasons in order)
//
// Digests are the first 8 bytes of a SHA-256, so a key found at a place
// that is not a record's start is as likely as two digests colliding (a
// daily-cap key, 7 bytes, about as likely): the lookups need no walk.
// Records are appended; for d and k the newest unexpired record is the
// value; x records of one key add up, in order. Compaction is due at the
// compaction time, or when the string outgrows twice its compacted
// length: the script returns the string as it leaves it, Go compacts it
// (compactContact: x records summed into one per key, then the unexpired
// markers, of d and k only the newest) and compactScript swaps it in.
//
// Partner hash: h = 8 packed float64 (N, version, crossing seq, pending
// crossing seq (0: none), crossed_at unix ms, last scored engagement unix
// ms, threshold last scored against, fit); dis = "1" while disarmed;
// i|<topic> interest N, f<day> scored engagements, m<day> monetary value:
// packed float64; rfm (ComputeRFM).
//
// Output: one string (Redis turns a returned table into a reply element by
// element, at several times the cost): 7 little-endian float64, contact
// N, partner N, partner version, pending crossing seq (0 = none),
// crossed_at unix ms, 1 if this call crossed, flags (1: slots follow, 2:
// the contact string follows, 4 alone: nothing written, send again with
// everything); then, from the slow path only, one byte
// per event, 0 (scored, or filtered in Go) or the explain slot 4–8 of the
// reason the script filtered it (without them the events stand as Go
// judged them); then, when compaction is due, the contact string as the
// call left it.
var applyScript = redis.NewScript(structShim + applyScriptSrc)

// contactHeaderLen is the length of the contact string's header (7
// float64).
const contactHeaderLen = 56

// compactMinLen is the length below which a contact string is compacted
// only at its compaction time: compacting costs a round trip and a copy
// of the string, and a few kilobytes of expired markers cost little. A
// contact seeing a batch a day is compacted about weekly.
const compactMinLen = 4096

// compactScript swaps a contact's records as they were read for their
// compaction (compactContact), keeping what was appended since, unless
// another compaction came first. Records are only ever appended between
// compactions, so an unchanged generation means an unchanged prefix. It
// reads the header and what was appended, not the whole string: Lua
// hashes every byte of a string it makes. It counts as a write of the
// contact (its version moves on), so a batch judged against the string
// before goes again.
//
// KEYS[1] -> lt:{p:<pid>}:s:c:<cid>
// ARGV[1] -> the generation read (the header's sixth float64)
// ARGV[2] -> the length of the string read
// ARGV[3] -> contactHeaderLen bytes (replaced here), then the compacted
// records
// ARGV[4] -> next compaction time (minutes since Epoch)
// ARGV[5] -> compactMinLen
//
// Output: 1 if compacted, 0 if the generation moved on (or the contact is
// gone).
var compactScript = redis.NewScript(structShim + `
local k, read = KEYS[1], tonumber(ARGV[2])
local len = redis.call('STRLEN', k)
if len < read or read < 56 then return 0 end
local _, cs, fit, sup, _, gen, ver = struct.unpack('<ddddddd', redis.call('GETRANGE', k, '0', '55'))
if gen ~= tonumber(ARGV[1]) then return 0 end
local tail = len > read and redis.call('GETRANGE', k, read, -1) or ''
local body = ARGV[3]
redis.call('SET', k, body)
redis.call('SETRANGE', k, '0', struct.pack('<ddddddd', tonumber(ARGV[4]), cs, fit, sup,
  math.max(tonumber(ARGV[5]), 2 * (#body - 56)), gen + 1, ver + 1))
if tail ~= '' then redis.call('APPEND', k, tail) end
return 1
`)

const applyScriptSrc = `
local sc, tl, ph, pc = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local F = ARGV[1] -- the header, the contact's entry, the version judged against, the judgement
local now, now_m, half, scanner, tllen, threshold, rearm, epoch_unix, np, n, next_prune, cfit, pfit, rollup, minlen, CE =
  struct.unpack('<ddddddddddddddd', F)
local XV = CE + 2 + string.byte(F, CE) + 256 * string.byte(F, CE + 1) -- where the version is
local xver, FB = struct.unpack('<d', F, XV) -- FB: where the judgement starts
local evnums, recs, R = ARGV[2], ARGV[3], ARGV[4]
local ARGV, unpack, find, sub, byte, char, concat, spack, sunpack =
  ARGV, unpack, string.find, string.sub, string.byte, string.char, table.concat, struct.pack, struct.unpack
local PB = 4 -- partner field i is ARGV[PB + i]
local HL = 56 -- the header

-- The header is all the fast path reads: S, the whole string, is read
-- only for the slow path (whole()). Numbers passed to redis.call are
-- formatted with "%.17g", where literals are strings made once.
local H = redis.call('GETRANGE', sc, '0', '55')
local new = H == ''
local S
local prune_at, cs, sup0, lim, gen, cver, _ = 0, 0, 0, 0, 0, 0, 0
if new then
  prune_at, lim = next_prune, minlen
else
  if #H < HL then return redis.error_reply('stored contact of ' .. #H .. ' bytes: shorter than its header') end
  prune_at, cs, _, sup0, lim, gen, cver = sunpack('<ddddddd', H)
end
local function whole()
  if not S then S = redis.call('GET', sc) or '' end
end
-- newest returns the position in S of the newest unexpired record with
-- key (kl bytes), or nil.
local function newest(key, kl)
  local found
  local p = find(S, key, HL + 1, true)
  while p do
    if p + kl + 3 <= #S and sunpack('<I4', S, p + kl) > now_m then found = p end
    p = find(S, key, p + 1, true)
  end
  return found
end
-- xrec is an explain record: key (x, topic length, code, topic) and sums.
local function xrec(key, d1, d2, d3, d4, d5, d6, d7, d8)
  if d4 == 0 and d5 == 0 and d6 == 0 and d7 == 0 and d8 == 0 then
    return key .. '\3' .. spack('<ddd', d1, d2, d3)
  end
  return key .. '\8' .. spack('<dddddddd', d1, d2, d3, d4, d5, d6, d7, d8)
end

local a0 = PB + np + 1 -- ARGV index of the timeline items
local ds, last, sup = 0, 0, 0
local PD, PO -- partner deltas: a table (slow path) or their offset in F
local appended -- the records to append
local ntl = 0
local items -- the timeline items, when the slow path changed them
local slots

-- Fast path: Go judged the batch against the contact as it read it (F),
-- and that judgement stands if the contact is still at the version Go
-- read (version 0: none stored). Every write of the contact increments
-- its version.
local fast = false
if #F >= FB then
  if cver == xver then
    fast = true
    ds, last, sup, PO = sunpack('<ddB', F, FB)
    appended, ntl = R, n
  elseif evnums == '' then
    -- Sent without the events' numbers: nothing written yet, so Go sends
    -- the batch again with them.
    return spack('<ddddddd', 0, 0, 0, 0, 0, 0, 4)
  end
end

if not fast then
  whole()
  -- mine[key] is what this call recorded under key: true, a delivery time
  -- or a daily count; add[1..na] are the records to append.
  local mine, na = {a = nil, b = nil, c = nil, d = nil, e = nil, f = nil, g = nil, h = nil}, 0
  local add = {nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil}
  -- E[offset] are the explain deltas of the explain key at that offset in
  -- recs, EK[1..ne] those offsets in first use order.
  local E, EK, ne = {}, {nil, nil, nil, nil, nil, nil, nil, nil}, 0
  slots = {nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil}
  -- tlargs[1..ntl] are the items kept, same while they are the batch's
  -- items as Go wrote them, all of them.
  local tlargs, same = {nil, nil, nil, nil, nil, nil, nil, nil}, true
  PD = {nil, nil, nil, nil, nil, nil, nil, nil}
  local blob, jp, pos = ARGV[a0], 1, 1
  for k = 1, n do
    local kind, t, pts, v, hasd, dat, val, cap, gslot, ir, dr, mr, kr, ek, tf, ff, mf, hl, supc, npos =
      sunpack('<BdddBddI4BHHHHHHHHI4B', evnums, pos)
    pos = npos
    local je = find(blob, '\n', jp, true) or #blob + 1
    local js = jp -- this event's item is blob[js, je)
    jp = je + 1
    local gopts, slot = pts, gslot
    local ik = sub(recs, ir, ir + 8)
    if mine[ik] or newest(ik, 9) then
      slot, pts, same = 4, 0, false
    else
      mine[ik] = true
      na = na + 1
      add[na] = sub(recs, ir, ir + 12)
      if slot == 0 then
        if kind == 1 then
          if dr > 0 then
            mine[sub(recs, dr, dr + 8)] = t
            na = na + 1
            add[na] = sub(recs, dr, dr + 20)
          end
        elseif kind == 2 then
          local d
          if hasd == 1 then
            d = dat
          elseif dr > 0 then
            local dk = sub(recs, dr, dr + 8)
            d = mine[dk]
            if not d then
              local p = newest(dk, 9)
              if p then d = sunpack('<d', S, p + 13) end
            end
          end
          if d and t >= d and t - d < scanner then slot = 6 end
        end
        local mk
        if slot == 0 and mr > 0 then
          mk = sub(recs, mr, mr + 8)
          if mine[mk] or newest(mk, 9) then slot = 7 end
        end
        if slot == 0 and kr > 0 then
          local kk = sub(recs, kr, kr + 6)
          local used = mine[kk]
          if not used then
            local p = newest(kk, 7)
            used = p and sunpack('<I4', S, p + 11) or 0
          end
          if used >= cap then
            slot = 8
          else
            mine[kk] = used + 1
            na = na + 1
            if used == 0 then
              add[na] = sub(recs, kr, kr + 14)
            else
              add[na] = sub(recs, kr, kr + 10) .. spack('<I4', used + 1)
            end
          end
        end
        if slot == 0 and mk then
          mine[mk] = true
          na = na + 1
          add[na] = sub(recs, mr, mr + 12)
        end
      end
      ntl = ntl + 1
      if slot == 0 then
        if pts ~= 0 then
          ds = ds + v
          if tf > 0 then PD[tf] = (PD[tf] or 0) + v end
          if pts > 0 then
            PD[ff] = (PD[ff] or 0) + 1
            if t > last then last = t end
          end
        end
        tlargs[ntl] = sub(blob, js, je - 1)
      else
        pts = 0
        if slot == gslot then
          tlargs[ntl] = sub(blob, js, je - 1)
        else
          local why = slot == 6 and 'scanner_click' or (slot == 7 and 'per_message' or 'daily_cap')
          tlargs[ntl] = sub(blob, js, js + hl - 1) .. ',"p":0,"f":"' .. why .. '"}'
          same = false
        end
      end
      if val > 0 then PD[mf] = (PD[mf] or 0) + val end
      if supc > 0 and sup == 0 then sup = supc end
    end
    -- Explain what carries points or was filtered; plain zero-point facts
    -- (deliveries, purchases) only take space.
    if ek > 0 and (pts ~= 0 or (slot ~= 0 and (slot ~= 4 or gopts ~= 0))) then
      local e = E[ek]
      if not e then
        e = {0, 0, 0, 0, 0, 0, 0, 0}
        E[ek] = e
        ne = ne + 1
        EK[ne] = ek
      end
      if slot == 0 then
        e[1], e[2], e[3] = e[1] + 1, e[2] + pts, e[3] + v
      else
        e[slot] = e[slot] + 1
      end
    end
    slots[k] = slot
  end
  for i = 1, ne do
    local off = EK[i]
    local e = E[off]
    na = na + 1
    add[na] = xrec(sub(recs, off, off + 4 + byte(recs, off + 1) + 256 * byte(recs, off + 2)),
      e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8])
  end
  appended = concat(add, '', 1, na)
  if not same then items = concat(tlargs, '\n', 1, ntl) end
end

cs = cs + ds
if sup0 ~= 0 then sup = sup0 end
local head = spack('<ddddddd', prune_at, cs, cfit, sup, lim, gen, cver + 1)
local len = 0 -- the contact string's length, when the batch appended to it
if new then
  redis.call('SET', sc, head .. appended)
else
  -- Lua hashes every byte of every string it makes (Redis hashes whole
  -- strings), so rebuilding a known contact's string would cost more
  -- than the two calls that rewrite its header and append in place.
  redis.call('SETRANGE', sc, '0', head)
  if appended ~= '' then len = redis.call('APPEND', sc, appended) end
end
if ntl > 0 then
  -- Appended oldest first: a listpack grows at its tail without moving
  -- what it holds, where pushing at its head would move it all per item.
  -- One element per batch, its items joined by newlines (JSON has none):
  -- one string to push, where an element per item cost a string and a
  -- listpack entry each.
  if redis.call('RPUSH', tl, items or ARGV[a0]) > tllen then redis.call('LTRIM', tl, -tllen, '-1') end
end
-- Compaction is Go's (compactContact, then compactScript): the script
-- only says when it is due, at the compaction time or once the string
-- has doubled since the last compaction, by returning it as it now is.
local due = not new and (now_m >= prune_at or len > lim)
-- The fast path's output has no slots: Go's judgement stands.
local flags, tail = 0, ''
if not fast then flags, tail = 1, char(unpack(slots, 1, n)) end
if due then flags, tail = flags + 2, tail .. redis.call('GET', sc) end

if rollup ~= 1 then
  return spack('<ddddddd', cs, 0, 0, 0, 0, 0, flags) .. tail
end

local P = redis.call('HMGET', ph, 'h', 'dis', unpack(ARGV, PB + 1, PB + np))
local old, ver, seq, pend, xat, plast = 0, 0, 0, 0, 0, 0
if P[1] then old, ver, seq, pend, xat, plast = sunpack('<dddddd', P[1]) end
ver = ver + 1
local ps = old + ds
local pw = {nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil}
local m = 0
for i = 1, np do
  local d
  if PO then d = sunpack('<d', F, PO + 8 * (i - 1)) else d = PD[i] end
  if d then
    local x = P[2 + i]
    if x then d = sunpack('<d', x) + d end
    pw[m + 1], pw[m + 2] = ARGV[PB + i], spack('<d', d)
    m = m + 2
  end
end
if last > 0 and last + epoch_unix > plast then plast = last + epoch_unix end
-- A contact joins the list once, on its first batch (the hottest is found
-- on read). A string, not a set: Redis 7.0 keeps a set of strings as a
-- hashtable, an allocation per member.
if new then redis.call('APPEND', pc, sub(F, CE, XV - 1)) end

-- Threshold: a disarmed partner re-arms once its decayed score is seen below
-- rearm × threshold (before or after this batch); an armed partner crosses
-- when new positive engagement takes it to or above the threshold.
local decay = 2 ^ (-now / half)
local disarmed = P[2] == '1'
if disarmed and math.min(old, ps) * decay < rearm * threshold then
  disarmed = false
  redis.call('HDEL', ph, 'dis')
end
local crossed = 0
if not disarmed and ds > 0 and ps * decay >= threshold then
  seq = seq + 1
  pend, xat, crossed = seq, now + epoch_unix, 1
  pw[m + 1], pw[m + 2] = 'dis', '1'
  m = m + 2
end
pw[m + 1], pw[m + 2] = 'h', spack('<dddddddd', ps, ver, seq, pend, xat, plast, threshold, pfit)
redis.call('HSET', ph, unpack(pw, 1, m + 2))
return spack('<ddddddd', cs, ps, ver, pend, xat, crossed, flags) .. tail
`

// leaderboardScript writes partners' normalised scores to the leaderboard,
// each unless a newer version of it is already there, so two workers
// finishing out of order never leave the older score behind. One call takes
// any number of partners (ApplyBatch sends a batch's in one call).
//
// KEYS[1] -> lt:{lb}:partners
// KEYS[2] -> lt:{lb}:ver
// --
// ARGV    -> triples: partner id, partner version returned by applyScript,
//
//	partner normalised score
//
// Output: how many triples were written (for one partner: 1 if written,
// 0 if a newer version was already there).
var leaderboardScript = redis.NewScript(`
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

// ackScript clears a pending crossing (in the partner's "h", see
// applyScript) once its handoff is enqueued.
//
// KEYS[1] -> lt:{p:<pid>}:s:p
// ARGV[1] -> crossing seq
//
// Output: 1 if the pending crossing was that seq and is now cleared, else 0.
var ackScript = redis.NewScript(structShim + `
local h = redis.call('HGET', KEYS[1], 'h')
if not h then return 0 end
local s, ver, seq, pend, xat, last, thr, fit = struct.unpack('<dddddddd', h)
if pend == 0 or pend ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'h', struct.pack('<dddddddd', s, ver, seq, 0, xat, last, thr, fit))
return 1
`)

// sweepScript re-arms a disarmed partner whose decayed score has fallen
// below the re-arm fraction of the threshold it was last scored against
// (both in the partner's "h", see applyScript).
//
// KEYS[1] -> lt:{p:<pid>}:s:p
// ARGV[1] -> now, ms since Epoch
// ARGV[2] -> half-life, ms
// ARGV[3] -> re-arm fraction
//
// Output: 1 if re-armed, else 0.
var sweepScript = redis.NewScript(structShim + `
local st = redis.call('HMGET', KEYS[1], 'dis', 'h')
if st[1] ~= '1' or not st[2] then return 0 end
local n, _, _, _, _, _, thr = struct.unpack('<dddddddd', st[2])
if n * 2 ^ (-tonumber(ARGV[1]) / tonumber(ARGV[2])) < tonumber(ARGV[3]) * thr then
  redis.call('HDEL', KEYS[1], 'dis')
  return 1
end
return 0
`)
