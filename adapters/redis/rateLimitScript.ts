/**
 * The Redis rate-limit script: two token buckets (requests, tokens) per key in
 * one hash {r, t, ts}, read, refilled, checked and written in one atomic
 * script. It is a line-by-line port of adapters/inprocess/tokenBucket.ts
 * (refill, take, correct, fullAfterMs); the shared contract suite runs both.
 *
 * Why a token bucket and not a sliding window: a sliding-window log keeps
 * one sorted-set member per request and cannot cheaply weigh entries by
 * token count; a sliding-window counter approximates. The bucket needs three
 * numbers per key whatever the traffic, is exact, spreads the allowance
 * smoothly (no double burst at a window boundary) and lets a usage correction
 * be one addition.
 *
 * The key expires when both buckets would be full again: a full bucket and a
 * missing key mean the same, so idle users cost no memory.
 *
 * KEYS[1]  the bucket hash
 * ARGV[1]  now in ms, or '' to use the Redis server's clock (TIME): every
 *          gateway instance then shares one clock. Tests pass their own.
 * ARGV[2]  windowMs   ARGV[3] request capacity   ARGV[4] token capacity
 * ARGV[5]  'consume' (ARGV[6] request cost, ARGV[7] token cost) or
 *          'correct' (ARGV[6] tokens to take; negative returns them)
 * Reply:   consume allowed  {1, remainingRequests, remainingTokens}
 *          consume refused  {0, 'requests'|'tokens', retryAfterMs, retryable 0|1}
 *          correct          {1}
 */
export const rateLimitScript = `
local now
if ARGV[1] == '' then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local window = tonumber(ARGV[2])
local rcap = tonumber(ARGV[3])
local tcap = tonumber(ARGV[4])
local mode = ARGV[5]

local saved = redis.call('HMGET', KEYS[1], 'r', 't', 'ts')
local r, t, ts = rcap, tcap, now
if saved[1] and saved[2] and saved[3] then
  local updated = tonumber(saved[3])
  local elapsed = math.max(0, now - updated)
  r = math.min(rcap, tonumber(saved[1]) + (elapsed * rcap) / window)
  t = math.min(tcap, tonumber(saved[2]) + (elapsed * tcap) / window)
  ts = math.max(now, updated)
end

local function wait(shortfall, cap)
  if shortfall <= 0 then return 0 end
  return math.ceil((shortfall * window) / cap)
end

local function save()
  local fullAfter = math.max(wait(rcap - r, rcap), wait(tcap - t, tcap))
  redis.call('HSET', KEYS[1], 'r', string.format('%.17g', r), 't', string.format('%.17g', t), 'ts', string.format('%.17g', ts))
  redis.call('PEXPIRE', KEYS[1], math.max(1, fullAfter))
end

if mode == 'correct' then
  local delta = tonumber(ARGV[6])
  t = math.max(-tcap, math.min(tcap, t - delta))
  save()
  return {1}
end

local rcost = tonumber(ARGV[6])
local tcost = tonumber(ARGV[7])
if rcost > rcap then return {0, 'requests', window, 0} end
if tcost > tcap then return {0, 'tokens', window, 0} end
local rwait = wait(rcost - r, rcap)
local twait = wait(tcost - t, tcap)
if rwait > 0 or twait > 0 then
  if twait > rwait then return {0, 'tokens', twait, 1} end
  return {0, 'requests', rwait, 1}
end
r = r - rcost
t = t - tcost
save()
return {1, math.floor(r), math.floor(t)}
`;
