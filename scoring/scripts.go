package scoring

import "github.com/redis/go-redis/v9"

// headerArgs is the number of ARGV entries before the field lists;
// Engine.applyArgs and applyScript agree.
const headerArgs = 6

// applyScript scores one batch of events of one contact, atomically: dedup,
// per-message and daily-cap filters, scanner clicks after delivery, decayed
// sums for the contact and its partner, explain aggregates, timeline, RFM
// facts and the threshold test.
//
// It runs once per contact and event batch, so it is written for speed.
// Lua in Redis is slow at everything but arithmetic and table indexing:
// tonumber, string.format, concatenation and Redis formatting a Lua number
// cost 0.2–0.7 µs each, a redis.call ~1 µs plus ~0.2 µs per field it reads
// or writes, and every byte of ARGV or of new strings and tables costs
// Lua's allocator and collector. So:
//   - Go computes everything that does not depend on stored state (each
//     field name, once, which events then refer to by index; the
//     normalised value p·2^(t/half) of each event, with math.Exp2 as Model
//     and Weight do; marker values; the timeline JSON) and packs numbers
//     as little-endian float64 and small integers (struct.unpack, in C);
//   - scores and counters are stored packed (struct.pack), not formatted
//     and parsed: the contact's and the partner's state in one field "h"
//     each, interests, RFM buckets and explain aggregates as float64 (only
//     the contacts zset score and the markers' expiries are text);
//   - each hash is read with one HMGET and written with one HSET, plus
//     RPUSH and ZADD: 6 redis.call, and the cost grows with the batch, not
//     with history.
//
// Scores are normalised: N = Σ p·2^(t/half) with t in ms since Epoch, read
// as N·2^(−now/half). Times are ms since Epoch unless said otherwise.
//
// KEYS[1] -> lt:{p:<pid>}:s:c:<cid>  contact hash (state and seen markers)
// KEYS[2] -> lt:{p:<pid>}:s:t:<cid>  contact timeline list
// KEYS[3] -> lt:{p:<pid>}:s:p        partner hash (with the RFM day buckets)
// KEYS[4] -> lt:{p:<pid>}:s:pc       partner contacts zset
// --
// ARGV[1] -> 14 little-endian float64: now, now in minutes since Epoch
// (now_m), half-life, scanner window after delivery, timeline length,
// partner threshold, re-arm fraction, Epoch in unix ms, nf, np, n, next
// seen-marker pruning time (minutes since Epoch), contact fit points,
// partner fit points
// ARGV[2] -> the n events' numbers, each packed as struct
// '<BdddBddI4BHHHHHHHHI4B' (little-endian, no padding): kind (1
// email.delivered, 2 email.click, 0 other); occurred_at (≤ now), points,
// normalised value; 1 if delivered_at is set, delivered_at; monetary
// value; daily cap; explain slot (4–8) of the reason filtered in Go (0:
// none); contact field indexes (0: none) of the id marker, delivered
// marker, open/click marker, daily-cap counter and explain aggregate (0
// when the event cannot be explained); partner field indexes of the
// interest, RFM frequency and RFM monetary buckets; the byte length of the
// timeline JSON before ',"p"'; suppression code (0: none, else the
// index in suppressions)
// ARGV[3] -> value of a new id marker: now_m + dedup retention + 1
// ARGV[4] -> value of a new open/click marker: now_m + message retention + 1
// ARGV[5] -> "1" to roll up to the partner, "0" not to
// ARGV[6] -> contact id
// then nf contact-hash field names (besides "h"), np partner-hash field
// names (besides "h" and "dis"; 0 without roll-up), and per event, in
// order:
//
//	timeline JSON (storedItem) as recorded unless the script filters the
//	  event
//	delivered marker value "<expiry>:<occurred_at>" (email.delivered with
//	  a delivered marker only)
//	first daily-cap counter value "<expiry>:1" (with a counter only)
//
// Contact hash: h = 4 packed float64 (next pruning time, N, fit,
// suppression code; absent: a new contact, no marker to prune);
// x<type code><topic> explain aggregate = 3 or 8 packed float64 "count
// points N [duplicate machine_open scanner_click per_message daily_cap]"
// (slots 4–8 are the filterReasons in order); seen markers, each value
// starting with its expiry in minutes since Epoch: i<id digest>; d<msg
// digest> "exp:delivered_at"; o<msg digest>, c<msg digest> counted open /
// click; k<type code><day> "exp:count".
//
// Partner hash: h = 8 packed float64 (N, version, crossing seq, pending
// crossing seq (0: none), crossed_at unix ms, last scored engagement unix
// ms, threshold last scored against, fit); dis = "1" while disarmed;
// i|<topic> interest N, f<day> scored engagements, m<day> monetary value:
// packed float64; rfm (ComputeRFM).
//
// Output: {contact N and partner N as 2 packed little-endian float64,
// partner version, pending crossing seq (0 = none), crossed_at unix ms, 1
// if this call crossed, then per event 0 (scored, or filtered in Go) or
// the explain slot 4–8 of the reason the script filtered it}.
var applyScript = redis.NewScript(structShim + applyScriptSrc)

const applyScriptSrc = `
local sc, tl, ph, pc = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, now_m, half, scanner, tllen, threshold, rearm, epoch_unix, nf, np, n, next_prune, cfit, pfit =
  struct.unpack('<dddddddddddddd', ARGV[1])
local evnums, dedup_v, msg_v = ARGV[2], ARGV[3], ARGV[4]
local ARGV, tonumber, unpack, find, sub, spack, sunpack =
  ARGV, tonumber, unpack, string.find, string.sub, struct.pack, struct.unpack
local FB = 6 -- contact field i is ARGV[FB + i]
local PB = FB + nf -- partner field i is ARGV[PB + i]

-- V[1 + i] is the stored value of contact field i.
local V = redis.call('HMGET', sc, 'h', unpack(ARGV, FB + 1, FB + nf))
local H, prune_at, cs, _, sup0 = V[1], 0, 0, 0, 0
if H then prune_at, cs, _, sup0 = sunpack('<dddd', H) end
-- hs[1..j] are the HSET arguments.
local hs = {}
local j = 0
local function put(i, v)
  V[i + 1] = v
  hs[j + 1], hs[j + 2] = ARGV[FB + i], v
  j = j + 2
end
-- live tells whether marker i, holding only its expiry, is unexpired.
local function live(i)
  local v = V[i + 1]
  if not v then return false end
  local exp = tonumber(v)
  return exp ~= nil and exp > now_m
end
-- rest returns what follows "expiry:" in unexpired marker i ("" when
-- nothing follows), or nil.
local function rest(i)
  local v = V[i + 1]
  if not v then return nil end
  local p = find(v, ':', 1, true)
  local exp = tonumber(p and sub(v, 1, p - 1) or v)
  if not exp or exp <= now_m then return nil end
  return p and sub(v, p + 1) or ''
end

if not H or now_m >= prune_at then
  -- Every write sets h, so a hash without it holds no markers.
  if H then
    local all = redis.call('HGETALL', sc)
    local dead = {}
    for i = 1, #all, 2 do
      local f = all[i]
      local c = sub(f, 1, 1)
      if c == 'i' or c == 'd' or c == 'o' or c == 'c' or c == 'k' then
        local exp = tonumber(string.match(all[i + 1], '^%d+'))
        if not exp or exp <= now_m then dead[#dead + 1] = f end
        if #dead == 256 then redis.call('HDEL', sc, unpack(dead)); dead = {} end
      end
    end
    if #dead > 0 then redis.call('HDEL', sc, unpack(dead)) end
  end
  prune_at = next_prune
end

-- ret is the output: 5 values, then one per event.
local ret = {}
local tlargs = {}
local ntl = 0
local ds, last, sup = 0, 0, 0
local PD = {}
local a, pos = FB + nf + np + 1, 1
for k = 1, n do
  local kind, t, pts, v, hasd, dat, val, cap, gslot, idf, dlf, mk, kf, ek, tf, ff, mf, hl, supc, npos =
    sunpack('<BdddBddI4BHHHHHHHHI4B', evnums, pos)
  pos = npos
  local json = ARGV[a]
  a = a + 1
  local dlval, kval
  if kind == 1 and dlf > 0 then dlval = ARGV[a]; a = a + 1 end
  if kf > 0 then kval = ARGV[a]; a = a + 1 end
  local gopts, slot = pts, gslot
  if live(idf) then
    slot, pts = 4, 0
  else
    put(idf, dedup_v)
    if slot == 0 then
      if kind == 1 then
        if dlf > 0 then put(dlf, dlval) end
      elseif kind == 2 then
        local d
        if hasd == 1 then d = dat elseif dlf > 0 then d = tonumber(rest(dlf)) end
        if d and t >= d and t - d < scanner then slot = 6 end
      end
      if slot == 0 and mk > 0 and live(mk) then slot = 7 end
      if slot == 0 and kf > 0 then
        local used = tonumber(rest(kf)) or 0
        if used >= cap then
          slot = 8
        elseif used == 0 then
          put(kf, kval)
        else
          put(kf, sub(kval, 1, -2) .. (used + 1))
        end
      end
    end
    ntl = ntl + 1
    if slot == 0 then
      if mk > 0 then put(mk, msg_v) end
      if pts ~= 0 then
        ds = ds + v
        if tf > 0 then PD[tf] = (PD[tf] or 0) + v end
        if pts > 0 then
          PD[ff] = (PD[ff] or 0) + 1
          if t > last then last = t end
        end
      end
      tlargs[ntl] = json
    else
      pts = 0
      if slot == gslot then
        tlargs[ntl] = json
      else
        local why = slot == 6 and 'scanner_click' or (slot == 7 and 'per_message' or 'daily_cap')
        tlargs[ntl] = sub(json, 1, hl) .. ',"p":0,"f":"' .. why .. '"}'
      end
    end
    if val > 0 then PD[mf] = (PD[mf] or 0) + val end
    if supc > 0 and sup == 0 then sup = supc end
  end
  -- Explain what carries points or was filtered; plain zero-point facts
  -- (deliveries, purchases) only take space. The aggregate is updated in
  -- place (V), so events of a batch sharing it add up.
  if ek > 0 and (pts ~= 0 or (slot ~= 0 and (slot ~= 4 or gopts ~= 0))) then
    local x = V[ek + 1]
    local c1, c2, c3, c4, c5, c6, c7, c8 = 0, 0, 0, 0, 0, 0, 0, 0
    if x then
      if #x == 24 then
        c1, c2, c3 = sunpack('<ddd', x)
      else
        c1, c2, c3, c4, c5, c6, c7, c8 = sunpack('<dddddddd', x)
      end
    end
    if slot == 0 then
      c1, c2, c3 = c1 + 1, c2 + pts, c3 + v
    elseif slot == 4 then c4 = c4 + 1
    elseif slot == 5 then c5 = c5 + 1
    elseif slot == 6 then c6 = c6 + 1
    elseif slot == 7 then c7 = c7 + 1
    else c8 = c8 + 1 end
    if c4 == 0 and c5 == 0 and c6 == 0 and c7 == 0 and c8 == 0 then
      put(ek, spack('<ddd', c1, c2, c3))
    else
      put(ek, spack('<dddddddd', c1, c2, c3, c4, c5, c6, c7, c8))
    end
  end
  ret[5 + k] = slot
end

cs = cs + ds
if sup0 ~= 0 then sup = sup0 end
hs[j + 1], hs[j + 2] = 'h', spack('<dddd', prune_at, cs, cfit, sup)
j = j + 2
redis.call('HSET', sc, unpack(hs, 1, j))
if ntl > 0 then
  -- Appended oldest first: a listpack grows at its tail without moving
  -- what it holds, where pushing at its head would move it all per item.
  if redis.call('RPUSH', tl, unpack(tlargs, 1, ntl)) > tllen then redis.call('LTRIM', tl, -tllen, -1) end
end

if ARGV[5] ~= '1' then
  ret[1], ret[2], ret[3], ret[4], ret[5] = spack('<dd', cs, 0), 0, 0, 0, 0
  return ret
end

local P = redis.call('HMGET', ph, 'h', 'dis', unpack(ARGV, PB + 1, PB + np))
local old, ver, seq, pend, xat, plast = 0, 0, 0, 0, 0, 0
if P[1] then old, ver, seq, pend, xat, plast = sunpack('<dddddd', P[1]) end
ver = ver + 1
local ps = old + ds
local pw = {}
local m = 0
for i = 1, np do
  local d = PD[i]
  if d then
    local x = P[2 + i]
    if x then d = sunpack('<d', x) + d end
    pw[m + 1], pw[m + 2] = ARGV[PB + i], spack('<d', d)
    m = m + 2
  end
end
if last > 0 and last + epoch_unix > plast then plast = last + epoch_unix end
redis.call('ZADD', pc, cs, ARGV[6])

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
ret[1], ret[2], ret[3], ret[4], ret[5] = spack('<dd', cs, ps), ver, pend, xat, crossed
return ret
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
