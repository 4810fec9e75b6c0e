package scoring

import "github.com/redis/go-redis/v9"

// headerArgs is the number of ARGV entries before the field list, and
// eventArgs the number per event; Engine.applyArgs and applyScript agree.
const (
	headerArgs = 14
	eventArgs  = 15
)

// applyScript scores one batch of events of one contact, atomically: dedup,
// per-message and daily-cap filters, scanner clicks after delivery, decayed
// sums for the contact and its partner, explain aggregates, timeline, RFM
// facts and the threshold test.
//
// Go computes every field name the batch can touch, so the script reads the
// contact hash with one HMGET and writes it with one HSET: its cost grows
// with the batch, not with history, and it does little string work (Lua in
// Redis is slow at it). Numbers are stored as '%.17g' strings so every
// float64 survives the round trip (Redis formats bare Lua numbers with 14
// digits). Scores are normalised: N = Σ p·2^(t/half) with t in ms since
// Epoch, read as N·2^(−now/half). Times in ARGV are ms since Epoch.
//
// KEYS[1] -> lt:{p:<pid>}:s:c:<cid>  contact hash (scores and seen markers)
// KEYS[2] -> lt:{p:<pid>}:s:t:<cid>  contact timeline list
// KEYS[3] -> lt:{p:<pid>}:s:p        partner hash
// KEYS[4] -> lt:{p:<pid>}:s:pc       partner contacts zset
// KEYS[5] -> lt:{p:<pid>}:s:r        partner RFM buckets hash
// --
// ARGV[1]  -> now
// ARGV[2]  -> Epoch, unix ms (crossed_at and last are stored as unix ms)
// ARGV[3]  -> half-life, ms
// ARGV[4]  -> dedup retention, minutes
// ARGV[5]  -> message-marker retention, minutes
// ARGV[6]  -> scanner window after delivery, ms
// ARGV[7]  -> "1" to roll up to the partner, "0" not to
// ARGV[8]  -> partner threshold
// ARGV[9]  -> re-arm fraction
// ARGV[10] -> contact id
// ARGV[11] -> contact fit points
// ARGV[12] -> partner fit points
// ARGV[13] -> timeline length
// ARGV[14] -> seen-marker pruning interval, minutes
// ARGV[15] -> number of contact-hash fields f to read, then the f names
// then the number of events n, then n groups of 15:
//
//	+1 id field "i<digest>"      +2 type code (typeCodes)    +3 occurred_at (≤ now)
//	+4 topic                     +5 points      +6 reason filtered in Go, or ""
//	+7 delivered field or ""     +8 open/click marker field or ""
//	+9 delivered_at or ""        +10 monetary value
//	+11 daily-cap field or ""    +12 daily cap
//	+13 suppression reason or "" +14 explain field "x<type code><topic>"
//	+15 timeline JSON without its closing "}"
//
// Contact-hash fields: s (N), sup, fit, x<type code><topic> explain
// aggregate "count points N [duplicate machine_open scanner_click
// per_message daily_cap]" (trailing zero counters omitted); and seen
// markers, each value starting with its expiry in minutes since Epoch:
// i<id digest>; d<msg digest> "exp:delivered_at"; o<msg>, c<msg> counted
// open / click; k<type code><day> "exp:count"; _p next pruning time.
//
// Output: {contact N, partner N, partner version, pending crossing seq (0 =
// none), crossed_at unix ms, 1 if this call crossed, threshold, then per
// event: filtered reason ("" if scored), points}.
var applyScript = redis.NewScript(applyScriptSrc)

const applyScriptSrc = `
local sc, tl, ph, pc, rf = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now = tonumber(ARGV[1])
local half = tonumber(ARGV[3])
local dedup_ttl, msg_ttl = tonumber(ARGV[4]), tonumber(ARGV[5])
local scanner = tonumber(ARGV[6])
local tllen = tonumber(ARGV[13])
local now_m = math.floor(now / 60000)
local DAY = 86400000

local function fmt(x) return string.format('%.17g', x) end

local nf = tonumber(ARGV[15])
local vals = redis.call('HMGET', sc, unpack(ARGV, 16, 15 + nf))
local S = {}
for i = 1, nf do S[ARGV[15 + i]] = vals[i] end
local W = {}
local function put(f, v) S[f] = v; W[f] = v end
-- live returns what follows "expiry:" in an unexpired seen value ("" when
-- nothing follows), or nil.
local function live(f)
  local v = S[f]
  if not v then return nil end
  local exp, rest = string.match(v, '^(%d+):?(.*)$')
  if not exp or tonumber(exp) <= now_m then return nil end
  return rest
end

if now_m >= (tonumber(S['_p']) or 0) then
  local all = redis.call('HGETALL', sc)
  local dead = {}
  for i = 1, #all, 2 do
    local f = all[i]
    local c = string.sub(f, 1, 1)
    if c == 'i' or c == 'd' or c == 'o' or c == 'c' or c == 'k' then
      local exp = tonumber(string.match(all[i + 1], '^%d+'))
      if not exp or exp <= now_m then dead[#dead + 1] = f end
      if #dead == 256 then redis.call('HDEL', sc, unpack(dead)); dead = {} end
    end
  end
  if #dead > 0 then redis.call('HDEL', sc, unpack(dead)) end
  put('_p', now_m + tonumber(ARGV[14]))
end

local slot = {duplicate = 4, machine_open = 5, scanner_click = 6, per_message = 7, daily_cap = 8}
local ds = 0
local explain, ptopics, freq, money = {}, {}, {}, {}
local last, sup = 0, nil
local tlargs = {}
local out = {}
local n = tonumber(ARGV[16 + nf])
local base = 16 + nf
for k = 0, n - 1 do
  local a = base + k * 15
  local idf, typ, t, pstr, filt = ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3]), ARGV[a + 5], ARGV[a + 6]
  local pts, v = tonumber(pstr), 0
  local gopts = pts
  if live(idf) then
    filt, pts, pstr = 'duplicate', 0, '0'
  else
    put(idf, now_m + dedup_ttl)
    local dlf, mk = ARGV[a + 7], ARGV[a + 8]
    if filt == '' then
      if typ == 'dl' and dlf ~= '' then
        put(dlf, (now_m + msg_ttl) .. ':' .. ARGV[a + 3])
      elseif typ == 'cl' then
        local d = tonumber(ARGV[a + 9]) or (dlf ~= '' and tonumber(live(dlf)))
        if d and t >= d and t - d < scanner then filt = 'scanner_click' end
      end
      if filt == '' and mk ~= '' and live(mk) then filt = 'per_message' end
    end
    local kf = ARGV[a + 11]
    if filt == '' and kf ~= '' then
      local used = tonumber(live(kf)) or 0
      if used >= tonumber(ARGV[a + 12]) then
        filt = 'daily_cap'
      else
        put(kf, (math.max(now_m, (math.floor(t / DAY) + 1) * 1440) + 1440) .. ':' .. (used + 1))
      end
    end
    if filt == '' then
      if mk ~= '' then put(mk, now_m + msg_ttl) end
      if pts ~= 0 then
        v = pts * 2 ^ (t / half)
        ds = ds + v
        local topic = ARGV[a + 4]
        if topic ~= '' then ptopics[topic] = (ptopics[topic] or 0) + v end
        if pts > 0 then
          local day = math.floor(t / DAY)
          freq[day] = (freq[day] or 0) + 1
          if t > last then last = t end
        end
      end
    else
      pts, pstr = 0, '0'
    end
    local val = tonumber(ARGV[a + 10])
    if val > 0 then
      local day = math.floor(t / DAY)
      money[day] = (money[day] or 0) + val
    end
    local supr = ARGV[a + 13]
    if supr ~= '' and not sup then sup = supr end
    tlargs[#tlargs + 1] = ARGV[a + 15] .. ',"points":' .. pstr .. ',"filtered":"' .. filt .. '"}'
  end
  -- Explain what carries points or was filtered; plain zero-point facts
  -- (deliveries, purchases) only take space.
  if pts ~= 0 or (filt ~= '' and (filt ~= 'duplicate' or gopts ~= 0)) then
    local ek = ARGV[a + 14]
    local e = explain[ek]
    if not e then
      e = {0, 0, 0, 0, 0, 0, 0, 0}
      local j = 0
      for num in string.gmatch(S[ek] or '', '%S+') do j = j + 1; e[j] = tonumber(num) end
      explain[ek] = e
    end
    if filt == '' then
      e[1], e[2], e[3] = e[1] + 1, e[2] + pts, e[3] + v
    else
      e[slot[filt]] = e[slot[filt]] + 1
    end
  end
  out[#out + 1] = filt
  out[#out + 1] = pstr
end

local cs = (tonumber(S['s']) or 0) + ds
W['s'] = fmt(cs)
if sup and not S['sup'] then W['sup'] = sup end
if ARGV[11] ~= '0' then W['fit'] = ARGV[11] elseif S['fit'] then redis.call('HDEL', sc, 'fit') end
for f, e in pairs(explain) do
  local keep = 3
  for i = 4, 8 do if e[i] ~= 0 then keep = i end end
  local parts = {e[1], fmt(e[2]), fmt(e[3])}
  for i = 4, keep do parts[i] = e[i] end
  W[f] = table.concat(parts, ' ')
end
local hs = {}
for f, x in pairs(W) do hs[#hs + 1] = f; hs[#hs + 1] = x end
redis.call('HSET', sc, unpack(hs))
if #tlargs > 0 then
  if redis.call('LPUSH', tl, unpack(tlargs)) > tllen then redis.call('LTRIM', tl, 0, tllen - 1) end
end

if ARGV[7] ~= '1' then
  return {W['s'], '0', 0, 0, 0, 0, ARGV[8], unpack(out)}
end

local threshold, rearm = tonumber(ARGV[8]), tonumber(ARGV[9])
local epoch_unix = tonumber(ARGV[2])
local pfields = {'s', 'dis', 'seq', 'pend', 'xat', 'last', 'ver', 'fit'}
for topic in pairs(ptopics) do pfields[#pfields + 1] = 'i|' .. topic end
local pv = redis.call('HMGET', ph, unpack(pfields))
local P = {}
for i, f in ipairs(pfields) do P[f] = pv[i] end
local old = tonumber(P['s']) or 0
local ps = old + ds
local seq, pend, xat = tonumber(P['seq']) or 0, tonumber(P['pend']) or 0, tonumber(P['xat']) or 0
local ver = (tonumber(P['ver']) or 0) + 1
local pw = {'s', fmt(ps), 'thr', ARGV[8], 'ver', ver}
if ARGV[12] ~= '0' then
  pw[#pw + 1] = 'fit'; pw[#pw + 1] = ARGV[12]
elseif P['fit'] then
  redis.call('HDEL', ph, 'fit')
end
for topic, dv in pairs(ptopics) do
  local f = 'i|' .. topic
  pw[#pw + 1] = f; pw[#pw + 1] = fmt((tonumber(P[f]) or 0) + dv)
end
if last > 0 and last + epoch_unix > (tonumber(P['last']) or 0) then
  pw[#pw + 1] = 'last'; pw[#pw + 1] = fmt(last + epoch_unix)
end
redis.call('ZADD', pc, W['s'], ARGV[10])
for d, c in pairs(freq) do redis.call('HINCRBY', rf, 'f' .. d, c) end
for d, m in pairs(money) do redis.call('HINCRBYFLOAT', rf, 'm' .. d, fmt(m)) end

-- Threshold: a disarmed partner re-arms once its decayed score is seen below
-- rearm × threshold (before or after this batch); an armed partner crosses
-- when new positive engagement takes it to or above the threshold.
local decay = 2 ^ (-now / half)
local disarmed = P['dis'] == '1'
if disarmed and math.min(old, ps) * decay < rearm * threshold then
  disarmed = false
  redis.call('HDEL', ph, 'dis')
end
local crossed = 0
if not disarmed and ds > 0 and ps * decay >= threshold then
  seq = seq + 1
  pend, xat, crossed = seq, now + epoch_unix, 1
  for _, x in ipairs({'dis', '1', 'seq', fmt(seq), 'pend', fmt(seq), 'xat', fmt(xat)}) do pw[#pw + 1] = x end
end
redis.call('HSET', ph, unpack(pw))
return {W['s'], pw[2], ver, pend, xat, crossed, ARGV[8], unpack(out)}
`

// leaderboardScript writes a partner's normalised score to the leaderboard
// unless a newer version is already there, so two workers finishing out of
// order never leave the older score behind.
//
// KEYS[1] -> lt:{lb}:partners
// KEYS[2] -> lt:{lb}:ver
// --
// ARGV[1] -> partner id
// ARGV[2] -> partner version returned by applyScript
// ARGV[3] -> partner normalised score
//
// Output: 1 if written, 0 if a newer version was already there.
var leaderboardScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[1])) or 0
if tonumber(ARGV[2]) <= cur then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
`)

// ackScript clears a pending crossing once its handoff is enqueued.
//
// KEYS[1] -> lt:{p:<pid>}:s:p
// ARGV[1] -> crossing seq
//
// Output: 1 if the pending crossing was that seq and is now cleared, else 0.
var ackScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'pend') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'pend')
  return 1
end
return 0
`)

// sweepScript re-arms a disarmed partner whose decayed score has fallen
// below the re-arm fraction of the threshold it was last scored against.
//
// KEYS[1] -> lt:{p:<pid>}:s:p
// ARGV[1] -> now, ms since Epoch
// ARGV[2] -> half-life, ms
// ARGV[3] -> re-arm fraction
//
// Output: 1 if re-armed, else 0.
var sweepScript = redis.NewScript(`
local st = redis.call('HMGET', KEYS[1], 'dis', 's', 'thr')
if st[1] ~= '1' then return 0 end
local score = (tonumber(st[2]) or 0) * 2 ^ (-tonumber(ARGV[1]) / tonumber(ARGV[2]))
if score < tonumber(ARGV[3]) * (tonumber(st[3]) or 0) then
  redis.call('HDEL', KEYS[1], 'dis')
  return 1
end
return 0
`)
