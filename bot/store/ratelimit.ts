// Per-user counters for rate limiting and anomaly detection in Redis, each one atomic Lua script:
//  - GCRA (generic cell rate algorithm): one key per user holding the "theoretical arrival time"; a
//    request is allowed when it would not push that time more than `burst` intervals past now.
//    Replicas share the limit; no read-modify-write race.
//  - sliding windows as sorted sets (member → last time seen): distinct members in the window (distinct
//    customers; unique event ids for plain counts); the members one event adds (a pick's candidates) in one call.
//  - a "trip once" mark per detector and user holding the end of its window (caller's clock), so a burst
//    yields one alert per detector, not one per event, and one detector's trip never hides another's.
// Time comes from the caller's clock (tests move it), never from Redis TIME.
// Every key of one user carries the user in a hash tag (`{employeeId}`): `reset` deletes them in one
// command, which a Redis Cluster only allows when they share a slot (CROSSSLOT otherwise).
import type { RedisClient } from './redis-client.ts';
import { RedisScript } from './redis-script.ts';
import { FREEZE_CLAIM, type SecurityCounters } from '../core/security/guard.ts';
import { DETECTORS } from '../core/security/settings.ts';

const GCRA = new RedisScript(`
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
-- A stored time more than the whole burst ahead can only come from a clock that went backwards (a
-- replica's skew, an NTP step): start afresh instead of locking the user out until the clock catches up.
if tat - now > interval * burst then tat = now end
local newTat = tat + interval
if newTat - now > interval * burst then
  return {0, math.ceil(newTat - now - interval * burst)}
end
redis.call('SET', KEYS[1], tostring(newTat), 'PX', math.ceil(newTat - now) + 1000)
return {1, 0}`);

const WINDOW = new RedisScript(`
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
for i = 3, #ARGV do redis.call('ZADD', KEYS[1], now, ARGV[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('PEXPIRE', KEYS[1], window + 1000)
return redis.call('ZCARD', KEYS[1])`);

const TRIP = new RedisScript(`
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local quietUntil = tonumber(redis.call('GET', KEYS[1]) or '0')
if quietUntil > now then return 0 end
redis.call('SET', KEYS[1], tostring(now + window), 'PX', window + 1000)
return 1`);

export class RedisSecurityCounters implements SecurityCounters {
  constructor(private readonly redis: RedisClient, private readonly prefix: string) {}

  /** The last part is the employee id, the hash tag. */
  private key(...parts: string[]): string {
    const employeeId = parts.pop()!;
    return `${this.prefix}:security:${parts.join(':')}:{${employeeId}}`;
  }

  async take(employeeId: string, nowMs: number, perMinute: number, burst: number): Promise<{ allowed: boolean; retryAfterMs: number }> {
    const interval = 60_000 / perMinute;
    const [ok, wait] = (await GCRA.run(this.redis, [this.key('gcra', employeeId)], [nowMs, interval, burst])) as [number, number];
    return { allowed: ok === 1, retryAfterMs: wait };
  }

  async note(detector: string, employeeId: string, members: readonly string[], nowMs: number, windowMs: number): Promise<number> {
    return Number(await WINDOW.run(this.redis, [this.key('win', detector, employeeId)], [nowMs, windowMs, ...members]));
  }

  async tripOnce(detector: string, employeeId: string, nowMs: number, windowMs: number): Promise<boolean> {
    return Number(await TRIP.run(this.redis, [this.key('tripped', detector, employeeId)], [nowMs, windowMs])) === 1;
  }

  /** After an unfreeze: the user starts afresh, every detector's window and trip mark cleared. */
  async reset(employeeId: string): Promise<void> {
    const perDetector = DETECTORS.flatMap((d) => [this.key('win', d, employeeId), this.key('tripped', d, employeeId)]);
    perDetector.push(this.key('tripped', FREEZE_CLAIM, employeeId));
    // `tripped:alert` is the shared mark of earlier versions; dropped so an upgrade leaves nothing behind.
    await this.redis.del(this.key('gcra', employeeId), ...perDetector, this.key('tripped', 'alert', employeeId));
  }
}
