"""The limiter's Lua scripts. Each runs atomically in Redis and reads the clock with `TIME`.

All times inside the scripts are integer microseconds of the Redis server's clock, so replicas
with skewed clocks agree. Numbers are formatted with `%.0f` before they reach a command or a
member name, because Lua's default number-to-string conversion keeps only 14 digits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class LuaScript:
    source: str

    @cached_property
    def sha(self) -> str:
        return hashlib.sha1(self.source.encode(), usedforsecurity=False).hexdigest()


# Sliding log: each window is a sorted set with one member per admitted call, scored by its
# admission time. A call is admitted only when every window has room for `cost` more members,
# and then it is recorded in every window.
#
# KEYS[1] park key, KEYS[2] sequence key, KEYS[3..] one sorted set per window.
# ARGV[1] cost, ARGV[2] TTL of the sequence key in ms, then per window: length in ms, limit.
# Returns the server time in microseconds when the call is admitted: one integer keeps the
# common reply short. A rejection returns {status, window index (1-based) or 0, wait in
# microseconds, server time in microseconds, park reason or ""}, status 1 for a full window
# and 2 for a park.
ACQUIRE = LuaScript("""
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local now_text = string.format('%.0f', now)

local parked_ms = redis.call('PTTL', KEYS[1])
if parked_ms ~= -2 then
  local reason = redis.call('GET', KEYS[1]) or ''
  return {2, 0, parked_ms * 1000, now_text, reason}
end

local cost = tonumber(ARGV[1])
local window_count = #KEYS - 2
local worst_index = 0
local worst_wait = -1
for i = 1, window_count do
  local key = KEYS[i + 2]
  local length = tonumber(ARGV[1 + 2 * i]) * 1000
  local limit = tonumber(ARGV[2 + 2 * i])
  -- A call admitted at t counts while now < t + length, so t <= now - length has left.
  redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.0f', now - length))
  local used = redis.call('ZCARD', key)
  local excess = used + cost - limit
  if excess > 0 then
    if excess > used then
      return redis.error_reply('cost ' .. cost .. ' exceeds the limit of window ' .. i)
    end
    -- The call fits once the `excess` oldest members have left this window.
    local entry = redis.call('ZRANGE', key, excess - 1, excess - 1, 'WITHSCORES')
    local wait = tonumber(entry[2]) + length - now
    if wait > worst_wait then
      worst_index = i
      worst_wait = wait
    end
  end
end
if worst_index > 0 then
  return {1, worst_index, string.format('%.0f', worst_wait), now_text, ''}
end

local last = redis.call('INCRBY', KEYS[2], cost)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
for i = 1, window_count do
  local key = KEYS[i + 2]
  -- Batches of 500 members keep each ZADD well inside Lua's limit on unpacked arguments.
  local batch = {}
  for n = 1, cost do
    batch[#batch + 1] = now_text
    batch[#batch + 1] = now_text .. '-' .. string.format('%.0f', last - cost + n)
    if #batch >= 1000 or n == cost then
      redis.call('ZADD', key, unpack(batch))
      batch = {}
    end
  end
  redis.call('PEXPIRE', key, ARGV[1 + 2 * i])
end
return now
""")

# Reads the windows without changing them.
#
# KEYS and ARGV as in ACQUIRE, without the cost (ARGV[1] is ignored).
# Returns {server time in microseconds, park TTL in ms (-2 when not parked), park reason,
# then per window: used, wait until one more call fits in microseconds, wait until empty}.
USAGE = LuaScript("""
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local result = {string.format('%.0f', now)}

local parked_ms = redis.call('PTTL', KEYS[1])
result[2] = parked_ms
result[3] = ''
if parked_ms ~= -2 then
  result[3] = redis.call('GET', KEYS[1]) or ''
end

for i = 1, #KEYS - 2 do
  local key = KEYS[i + 2]
  local length = tonumber(ARGV[1 + 2 * i]) * 1000
  local limit = tonumber(ARGV[2 + 2 * i])
  local cutoff = '(' .. string.format('%.0f', now - length)
  local used = redis.call('ZCOUNT', key, cutoff, '+inf')
  local next_wait = 0
  if used >= limit then
    local offset = used - limit
    local entry = redis.call('ZRANGEBYSCORE', key, cutoff, '+inf', 'WITHSCORES', 'LIMIT', offset, 1)
    next_wait = tonumber(entry[2]) + length - now
  end
  local empty_wait = 0
  if used > 0 then
    local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    empty_wait = tonumber(newest[2]) + length - now
  end
  result[#result + 1] = used
  result[#result + 1] = string.format('%.0f', next_wait)
  result[#result + 1] = string.format('%.0f', empty_wait)
end
return result
""")

# Parks a scope until an absolute time, keeping a later park that is already in place.
#
# KEYS[1] park key. ARGV[1] end of the park in Unix ms, ARGV[2] reason.
# Returns 1 when the park was set or extended, 0 when it changed nothing.
PARK = LuaScript("""
local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local until_ms = tonumber(ARGV[1])
if until_ms <= now_ms then
  return 0
end
local remaining = redis.call('PTTL', KEYS[1])
if remaining > 0 and now_ms + remaining >= until_ms then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', string.format('%.0f', until_ms - now_ms))
return 1
""")
