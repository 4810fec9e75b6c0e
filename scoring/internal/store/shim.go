package store

// structShim gives the scripts a `struct` with the pack/unpack formats they
// use ('<', 'd', 'B', 'H', 'I4'), in plain Lua, where the server has none.
// Redis ships the C struct library and the shim is skipped (one rawget per
// call); the embedded in-process Redis (miniredis, `longtail serve` with no
// redis.url) has no struct library, and without this every script would
// fail there. Doubles are encoded exactly with frexp/ldexp, subnormals,
// zeros, infinities and NaN included; unpack returns the next position as
// its last value, like struct.unpack.
const structShim = `
local struct = rawget(_G, 'struct') or (function()
  local floor, frexp, ldexp, byte, char, concat = math.floor, math.frexp, math.ldexp, string.byte, string.char, table.concat
  -- Not math.huge: some Lua implementations set it to the largest finite double.
  local inf = 1 / 0
  local function uint(s, pos, n)
    local v, m = 0, 1
    for i = 0, n - 1 do v = v + byte(s, pos + i) * m; m = m * 256 end
    return v
  end
  local function putuint(out, v, n)
    for _ = 1, n do out[#out + 1] = char(v % 256); v = floor(v / 256) end
  end
  local function rdouble(s, pos)
    local lo, hi = uint(s, pos, 4), uint(s, pos + 4, 4)
    local sign = 1
    if hi >= 2147483648 then sign = -1 end
    local e = floor(hi / 1048576) % 2048
    local f = (hi % 1048576) * 4294967296 + lo
    if e == 2047 then
      if f == 0 then return sign * inf end
      return 0 / 0
    end
    if e == 0 then return sign * ldexp(f, -1074) end
    return sign * ldexp(f + 4503599627370496, e - 1075)
  end
  local function wdouble(out, x)
    local sign, e, f = 0, 0, 0
    if x < 0 or (x == 0 and 1 / x < 0) then sign = 1; x = -x end
    if x ~= x then e, f = 2047, 1
    elseif x == inf then e, f = 2047, 0
    elseif x ~= 0 then
      local m, ex = frexp(x)
      e = ex + 1022
      if e <= 0 then e, f = 0, ldexp(x, 1074) else f = (m * 2 - 1) * 4503599627370496 end
    end
    putuint(out, f % 4294967296, 4)
    putuint(out, sign * 2147483648 + e * 1048576 + floor(f / 4294967296), 4)
  end
  local function codes(fmt)
    local list, i = {}, 1
    while i <= #fmt do
      local c = string.sub(fmt, i, i)
      i = i + 1
      if c == 'd' then list[#list + 1] = 0
      elseif c == 'B' then list[#list + 1] = 1
      elseif c == 'H' then list[#list + 1] = 2
      elseif c == 'I' then list[#list + 1] = tonumber(string.sub(fmt, i, i)); i = i + 1
      elseif c ~= '<' then error('struct shim: unsupported format ' .. c) end
    end
    return list
  end
  local M = {}
  function M.pack(fmt, ...)
    local out, args = {}, {...}
    for k, size in ipairs(codes(fmt)) do
      if size == 0 then wdouble(out, args[k]) else putuint(out, args[k], size) end
    end
    return concat(out)
  end
  function M.unpack(fmt, s, pos)
    pos = pos or 1
    local res, n = {}, 0
    for _, size in ipairs(codes(fmt)) do
      n = n + 1
      if size == 0 then res[n] = rdouble(s, pos); pos = pos + 8
      else res[n] = uint(s, pos, size); pos = pos + size end
    end
    res[n + 1] = pos
    return unpack(res, 1, n + 1)
  end
  return M
end)()
`
