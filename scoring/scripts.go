package scoring

import "github.com/redis/go-redis/v9"

// headerArgs is the number of ARGV entries before the field lists;
// Engine.applyArgs and applyScript agree.
const headerArgs = 5

// applyScript scores one batch of events of one contact, atomically: dedup,
// per-message and daily-cap filters, scanner clicks after delivery, decayed
// sums for the contact and its partner, explain aggregates, timeline, RFM
// facts and the threshold test.
//
// It runs once per contact and event batch, so it is written for speed.
// Under callgrind, what a call costs Redis is: every ARGV entry and every
// string Lua makes (interned: ~500 instructions each), every redis.call
// (~6,000 plus its arguments and reply), every hash field written (a
// listpack insert with a realloc: ~1,200), every table that grows, every
// number formatted for Redis (snprintf "%.17g": ~4,000). So:
//   - Go computes everything that does not depend on stored state (each
//     field name, once, which events then refer to by index; the
//     normalised value p·2^(t/half) of each event, with math.Exp2 as Model
//     and Weight do; the seen-marker records; the timeline JSON) and packs
//     numbers as little-endian float64 and integers (struct.unpack, in C);
//   - scores and counters are stored packed (struct.pack), never formatted
//     and parsed;
//   - the seen markers (event ids, deliveries, counted opens and clicks,
//     daily-cap counters) are records in one string key, looked up with
//     string.find (C) and appended to: one GET and one SET where a hash
//     field per marker cost its name in ARGV, in HMGET and in HSET. It is
//     a key of its own because a hash value over 64 bytes
//     (hash-max-listpack-value) turns the whole contact hash into a
//     hashtable, ~400 bytes more per contact;
//   - each hash is read with one HMGET and written with one HSET, plus
//     GET and SET of the markers, RPUSH, and SADD for a new contact: 7
//     redis.call at most, and the cost grows with the batch, not with
//     history;
//   - tables are sized by their constructors and the output is one string.
//
// Scores are normalised: N = Σ p·2^(t/half) with t in ms since Epoch, read
// as N·2^(−now/half). Times are ms since Epoch unless said otherwise.
//
// KEYS[1] -> lt:{p:<pid>}:s:c:<cid>  contact hash
// KEYS[2] -> lt:{p:<pid>}:s:t:<cid>  contact timeline list
// KEYS[3] -> lt:{p:<pid>}:s:p        partner hash (with the RFM day buckets)
// KEYS[4] -> lt:{p:<pid>}:s:pc       partner's scored contacts (set)
// KEYS[5] -> lt:{p:<pid>}:s:m:<cid>  contact seen markers (string)
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
// none); 1-based offsets in ARGV[3] (0: none) of the id record, delivered
// record, open/click record and daily-cap record; contact field index of
// the explain aggregate (0 when the event cannot be explained); partner
// field indexes of the interest, RFM frequency and RFM monetary buckets;
// the byte length of the timeline JSON before ',"p"'; suppression code (0:
// none, else the index in suppressions)
// ARGV[3] -> the seen-marker records the events refer to, as stored
// (below), written as they are appended when new: a daily-cap record with
// count 1
// ARGV[4] -> "1" to roll up to the partner, "0" not to
// ARGV[5] -> contact id
// then nf contact-hash field names (besides "h"), np partner-hash
// field names (besides "h" and "dis"; 0 without roll-up), and per event
// its timeline JSON (storedItem) as recorded unless the script filters it.
//
// Contact hash: h = 4 packed float64 (next pruning time, N, fit,
// suppression code; absent: a new contact); x<type code><topic> explain
// aggregate = 3 or 8 packed float64 "count points N [duplicate
// machine_open scanner_click per_message daily_cap]" (slots 4–8 are the
// filterReasons in order).
//
// Seen markers: records, each a key, then its expiry in minutes since
// Epoch as a little-endian uint32, then a payload:
//
//	i<id digest>   13 bytes   event id seen
//	o<msg digest>  13 bytes   open counted for the message
//	c<msg digest>  13 bytes   click counted for the message
//	d<msg digest>  21 bytes   delivered, payload: float64 delivered_at
//	k<type code><day uint32>  15 bytes   daily cap, payload: uint32 count
//
// Digests are the first 8 bytes of a SHA-256, so a key found at a place
// that is not a record's start is as likely as two digests colliding (a
// daily-cap key, 7 bytes, about as likely): the lookups need no walk.
// Records are appended; for d and k the newest unexpired record is the
// value. Expired and superseded records are dropped every pruning time.
//
// Partner hash: h = 8 packed float64 (N, version, crossing seq, pending
// crossing seq (0: none), crossed_at unix ms, last scored engagement unix
// ms, threshold last scored against, fit); dis = "1" while disarmed;
// i|<topic> interest N, f<day> scored engagements, m<day> monetary value:
// packed float64; rfm (ComputeRFM).
//
// Output: one string (Redis turns a returned table into a reply element by
// element, at several times the cost): 6 little-endian float64, contact
// N, partner N, partner version, pending crossing seq (0 = none),
// crossed_at unix ms, 1 if this call crossed; then one byte per event, 0
// (scored, or filtered in Go) or the explain slot 4–8 of the reason the
// script filtered it.
var applyScript = redis.NewScript(structShim + applyScriptSrc)

const applyScriptSrc = `
local sc, tl, ph, pc, sk = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now, now_m, half, scanner, tllen, threshold, rearm, epoch_unix, nf, np, n, next_prune, cfit, pfit =
  struct.unpack('<dddddddddddddd', ARGV[1])
local evnums, recs = ARGV[2], ARGV[3]
local ARGV, unpack, find, sub, byte, concat, spack, sunpack =
  ARGV, unpack, string.find, string.sub, string.byte, table.concat, struct.pack, struct.unpack
local FB = 5 -- contact field i is ARGV[FB + i]
local PB = FB + nf -- partner field i is ARGV[PB + i]

-- V[1 + i] is the stored value of contact field i.
local V = redis.call('HMGET', sc, 'h', unpack(ARGV, FB + 1, FB + nf))
local H, prune_at, cs, _, sup0 = V[1], 0, 0, 0, 0
local S = H and redis.call('GET', sk) or ''
if H then prune_at, cs, _, sup0 = sunpack('<dddd', H) end
-- Tables are built by constructors sized for a typical batch: Lua grows a
-- table by rehashing it at every power of two, which costs more than the
-- few slots it saves.
-- hs[1..j] are the HSET arguments.
local hs = {nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil}
local j = 0
local function put(i, v)
  V[i + 1] = v
  hs[j + 1], hs[j + 2] = ARGV[FB + i], v
  j = j + 2
end
-- size is a record's length by its first byte (d, k, else i o c).
local function size(b) if b == 100 then return 21 elseif b == 107 then return 15 end return 13 end
-- newest returns the position in S of the newest unexpired record with
-- key (kl bytes), or nil.
local function newest(key, kl)
  local found
  local p = find(S, key, 1, true)
  while p do
    if p + kl + 3 <= #S and sunpack('<I4', S, p + kl) > now_m then found = p end
    p = find(S, key, p + 1, true)
  end
  return found
end

local pruned = false
if H and now_m >= prune_at then
  -- Keep unexpired records, and of d and k records only the newest.
  local keep, latest, nk, pos, len = {}, {}, 0, 1, #S
  while pos <= len do
    local b = byte(S, pos)
    local sz = size(b)
    local kl = b == 107 and 7 or 9
    if sunpack('<I4', S, pos + kl) > now_m then
      local r = sub(S, pos, pos + sz - 1)
      nk = nk + 1
      keep[nk] = r
      if b == 100 or b == 107 then
        local k = sub(r, 1, kl)
        local old = latest[k]
        if old then keep[old] = '' end
        latest[k] = nk
      end
    end
    pos = pos + sz
  end
  S = concat(keep, '', 1, nk)
  pruned = true
end
if not H or pruned then prune_at = next_prune end

-- mine[key] is what this call recorded under key: true, a delivery time
-- or a daily count; add[1..na] are the records to append.
local mine, na = {a = nil, b = nil, c = nil, d = nil, e = nil, f = nil, g = nil, h = nil}, 0
local add = {nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil}
-- slots[k] is event k's explain slot in the output.
local slots = {nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil}
local tlargs = {nil, nil, nil, nil, nil, nil, nil, nil}
local ntl = 0
local ds, last, sup = 0, 0, 0
local PD = {nil, nil, nil, nil, nil, nil, nil, nil}
local a, pos = FB + nf + np + 1, 1
for k = 1, n do
  local kind, t, pts, v, hasd, dat, val, cap, gslot, ir, dr, mr, kr, ek, tf, ff, mf, hl, supc, npos =
    sunpack('<BdddBddI4BHHHHHHHHI4B', evnums, pos)
  pos = npos
  local json = ARGV[a]
  a = a + 1
  local gopts, slot = pts, gslot
  local ik = sub(recs, ir, ir + 8)
  if mine[ik] or newest(ik, 9) then
    slot, pts = 4, 0
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
  slots[k] = slot
end

cs = cs + ds
if sup0 ~= 0 then sup = sup0 end
hs[j + 1], hs[j + 2] = 'h', spack('<dddd', prune_at, cs, cfit, sup)
j = j + 2
redis.call('HSET', sc, unpack(hs, 1, j))
if na > 0 or pruned then redis.call('SET', sk, S .. concat(add, '', 1, na)) end
if ntl > 0 then
  -- Appended oldest first: a listpack grows at its tail without moving
  -- what it holds, where pushing at its head would move it all per item.
  if redis.call('RPUSH', tl, unpack(tlargs, 1, ntl)) > tllen then redis.call('LTRIM', tl, -tllen, -1) end
end

if ARGV[4] ~= '1' then
  return spack('<dddddd', cs, 0, 0, 0, 0, 0) .. string.char(unpack(slots, 1, n))
end

local P = redis.call('HMGET', ph, 'h', 'dis', unpack(ARGV, PB + 1, PB + np))
local old, ver, seq, pend, xat, plast = 0, 0, 0, 0, 0, 0
if P[1] then old, ver, seq, pend, xat, plast = sunpack('<dddddd', P[1]) end
ver = ver + 1
local ps = old + ds
local pw = {nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil}
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
-- A contact joins the set once, on its first batch: no number to format,
-- nothing to do on later batches (the hottest is found on read).
if not H then redis.call('SADD', pc, ARGV[5]) end

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
return spack('<dddddd', cs, ps, ver, pend, xat, crossed) .. string.char(unpack(slots, 1, n))
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
