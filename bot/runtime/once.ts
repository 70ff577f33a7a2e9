// Once-only keys in Redis (`SET key token NX EX ttl`), atomic across bot replicas: the delivery ids a
// platform retries with (Lark's event_id, WeCom's MsgId, DingTalk's msgId and card click bodies) and Lark's
// request nonces; and DingTalk's robot signatures, each bound to the first body it came with.
// A SET that errs (the client's command timeout on a loaded machine) may still have been applied: Redis
// runs a connection's commands in order, so reading the key back afterwards says whose it is. Each claim
// writes its own random token; the key holding ours means this delivery won, anything else means another
// one did. Unanswered claims are asked again, a little later each time, within a budget shorter than the
// platforms' answer deadlines (WeCom and DingTalk wait 5 s): a Redis stalled for a second (an AOF fsync, a
// starved core) then still gives one answer per delivery.
// Only when Redis does not answer within the budget does `whenUnanswered` decide:
// - 'redeliver' (delivery ids): throws DeliveryCheckUnavailable; the receiver answers with an error and
//   the platform delivers again later, when the check can be made. Letting it through instead answered a
//   redelivered message or click twice (two replies, two sets of audit events) whenever Redis stalled —
//   seen under the test suite's load — and nothing is lost by waiting: without Redis no lookup is shown
//   anyway (the audit queue is Redis too).
// - 'refuse' (replay checks, Lark's nonces): the request is refused; a replay must never pass because
//   Redis was slow.
// - 'allow': lets it through (logged). For a check that a later one backs (Lark's messages are first
//   claimed in the pending-answer ledger, which answers each at most once).
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CustosError, ErrorCode } from '../core/errors.ts';
import type { RedisClient } from '../store/redis-client.ts';
import type { Logger } from '../logger.ts';

export interface OnceGuard {
  /** true the first time `key` is seen within the TTL, false for a repeat; see `whenUnanswered` when the store cannot answer. */
  first(key: string): Promise<boolean>;
  /** Forgets a key so a redelivery is processed (used when processing failed before any reply). */
  forget(key: string): Promise<void>;
}

export type WhenUnanswered = 'redeliver' | 'refuse' | 'allow';

/** Pauses before each claim (ms): with the bots' 500 ms command timeout, about 3.5 s in all. */
const RETRY_PAUSES_MS = [0, 100, 200, 400, 800];

/**
 * What claiming a key found: 'first' (this call set it), 'same' (it holds this value: our own write whose
 * answer was lost, or the same thing delivered again), 'other' (another value holds it), 'unavailable'.
 */
export type Claim = 'first' | 'same' | 'other' | 'unavailable';
export type Claims = (key: string, value: string) => Promise<Claim>;

/** SET NX EX with the read-back above; for once-only ids, each claim's value is a fresh random token. */
export function redisClaims(redis: RedisClient, namespace: string, ttlSeconds: number, pauses: readonly number[] = RETRY_PAUSES_MS): Claims {
  return async (key, value) => {
    for (const pause of pauses) {
      if (pause > 0) await sleep(pause);
      try {
        if ((await redis.set(`${namespace}:${key}`, value, 'EX', ttlSeconds, 'NX')) === 'OK') return 'first';
        // Held: by another delivery, or by this one through an attempt that timed out after Redis applied it.
        const holder = await redis.get(`${namespace}:${key}`);
        if (holder !== null) return holder === value ? 'same' : 'other';
      } catch {
        // unanswered (it may still have been applied): ask again, the next answer settles it
      }
    }
    return 'unavailable';
  };
}

export function redisOnce(redis: RedisClient, namespace: string, ttlSeconds: number, logger: Logger, whenUnanswered: WhenUnanswered, pauses: readonly number[] = RETRY_PAUSES_MS): OnceGuard {
  const claim = redisClaims(redis, namespace, ttlSeconds, pauses);
  return {
    async first(key) {
      const claimed = await claim(key, randomUUID());
      if (claimed !== 'unavailable') return claimed !== 'other';
      logger.warn({ namespace: namespace.split(':').pop(), whenUnanswered }, 'once-store unavailable');
      if (whenUnanswered === 'redeliver') {
        throw new CustosError(ErrorCode.DeliveryCheckUnavailable, 'delivery check unavailable: redis did not answer; the platform will deliver again');
      }
      return whenUnanswered === 'allow';
    },
    async forget(key) {
      await redis.del(`${namespace}:${key}`).catch(() => undefined);
    },
  };
}

/** An in-process guard (tests, single-process WS mode without Redis). */
export function memoryOnce(): OnceGuard {
  const seen = new Set<string>();
  return {
    first: async (key) => { if (seen.has(key)) return false; seen.add(key); return true; },
    forget: async (key) => { seen.delete(key); },
  };
}
