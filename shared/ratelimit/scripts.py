"""The Lua scripts that keep rate-limit state atomic in Redis.

All times are microseconds of the Redis server's clock (``TIME``), so workers whose clocks
disagree still share one schedule. Numbers are written with ``%.0f``: Lua's ``tostring``
keeps only 14 digits, too few for microseconds since the epoch.

State of one provider credential (its keys share a hash tag, so one script may touch them
all on Redis Cluster):

* control hash: ``factor`` (fraction of the limits in force after 429s, absent = 1),
  ``hold`` (no slot before this time: the provider's retry time), ``cut_until`` (429s before
  this time belong to the congestion that already halved the rate);
* one hash per limit: ``tat`` (theoretical arrival time of the next call, GCRA virtual
  scheduling) and ``learned`` (the capacity the provider reported).
"""

from __future__ import annotations

__all__ = ["RESERVE", "SETTLE", "TAKE_LEASE"]

_PRELUDE = """
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function num(key, field, default)
  local value = redis.call('HGET', key, field)
  if value then return tonumber(value) end
  return default
end
local function fmt(value) return string.format('%.0f', value) end
-- Microseconds between two calls of cost 1: the window, padded by the jitter allowance,
-- over the capacity in force (configured, lowered by the provider's report and by 429s).
local function interval(key, capacity, window, jitter, factor)
  local effective = math.min(capacity, num(key, 'learned', capacity)) * factor
  return (window + jitter) / math.max(effective, 0.000001)
end
local function expire(key, until_us, now, idle_ms)
  redis.call('PEXPIRE', key, math.ceil(math.max(until_us - now, 0) / 1000) + idle_ms)
end
"""

RESERVE = (
    _PRELUDE
    + """
-- KEYS[1] control, KEYS[2..] one per limit.
-- ARGV: max_wait_us, idle_ttl_ms, jitter_us, then per limit: capacity, window_us, cost.
-- Returns {reserved, wait_us, slot_us}; nothing is written unless reserved is 1.
local now = now_us()
local max_wait, idle, jitter = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local factor = num(KEYS[1], 'factor', 1)
local slot = math.max(now, num(KEYS[1], 'hold', 0))
local steps = {}
for i = 2, #KEYS do
  local a = 4 + (i - 2) * 3
  local per_unit = interval(KEYS[i], tonumber(ARGV[a]), tonumber(ARGV[a + 1]), jitter, factor)
  steps[i] = tonumber(ARGV[a + 2]) * per_unit
  slot = math.max(slot, num(KEYS[i], 'tat', 0))
end
local wait = slot - now
if wait > max_wait then
  return {0, math.floor(wait), math.floor(slot)}
end
for i = 2, #KEYS do
  local tat = slot + steps[i]
  redis.call('HSET', KEYS[i], 'tat', fmt(tat))
  expire(KEYS[i], tat, now, idle)
end
return {1, math.floor(wait), math.floor(slot)}
"""
)

SETTLE = (
    _PRELUDE
    + """
-- KEYS as for RESERVE.
-- ARGV: idle_ttl_ms, jitter_us, outcome (0 other, 1 success, 2 throttled), retry_after_us
-- (-1: not given), fallback_retry_us, decrease, floor, step, then per limit: capacity,
-- window_us, cost_delta (actual - reserved), reported_capacity (-1: none), provider_wait_us
-- (-1: none).
-- Returns {rate_cut, factor, hold_in_us}.
local now = now_us()
local idle, jitter, outcome = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local factor = num(KEYS[1], 'factor', 1)
local hold = num(KEYS[1], 'hold', 0)
local cut = 0
if outcome == 2 then
  local retry = tonumber(ARGV[4])
  if retry < 0 then retry = tonumber(ARGV[5]) end
  hold = math.max(hold, now + retry)
  if now >= num(KEYS[1], 'cut_until', 0) then
    factor = math.max(factor * tonumber(ARGV[6]), tonumber(ARGV[7]))
    -- Calls already in flight will answer 429 too: one congestion, one cut.
    redis.call('HSET', KEYS[1], 'cut_until', fmt(now + math.max(retry, 1000000)))
    cut = 1
  end
  redis.call('HSET', KEYS[1], 'hold', fmt(hold), 'factor', string.format('%.6f', factor))
  expire(KEYS[1], hold, now, idle)
elseif outcome == 1 and factor < 1 then
  factor = math.min(factor + tonumber(ARGV[8]), 1)
  if factor >= 0.999999 then
    redis.call('HDEL', KEYS[1], 'factor')
  else
    redis.call('HSET', KEYS[1], 'factor', string.format('%.6f', factor))
  end
end
for i = 2, #KEYS do
  local a = 9 + (i - 2) * 5
  local delta, reported, wait = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  if reported > 0 then redis.call('HSET', KEYS[i], 'learned', ARGV[a + 3]) end
  local tat = num(KEYS[i], 'tat', nil)
  local new = tat
  local per_unit = interval(KEYS[i], tonumber(ARGV[a]), tonumber(ARGV[a + 1]), jitter, factor)
  if delta > 0 then
    -- Spent more than reserved: the next calls pay it back, however long this call took.
    new = math.max(tat or now, now) + delta * per_unit
  elseif delta < 0 and tat and tat > now then
    -- Spent less: hand back what is still ahead; time already past cannot be given back.
    new = math.max(tat + delta * per_unit, now)
  end
  if wait >= 0 then new = math.max(new or now, now + wait) end
  if new and new ~= tat then redis.call('HSET', KEYS[i], 'tat', fmt(new)) end
  if new or reported > 0 then expire(KEYS[i], new or now, now, idle) end
end
return {cut, string.format('%.6f', factor), math.floor(math.max(hold - now, 0))}
"""
)

TAKE_LEASE = (
    _PRELUDE
    + """
-- KEYS[1] the tenant's lease set (member = lease id, score = expiry).
-- ARGV: lease_id, max_live, lease_us. Returns {taken, until_first_expiry_us}.
local now = now_us()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', fmt(now))
local lease = tonumber(ARGV[3])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], fmt(now + lease), ARGV[1])
  local ttl = math.ceil(lease / 1000)
  if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
  return {1, 0}
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, math.floor(math.max(tonumber(first[2]) - now, 0))}
"""
)
