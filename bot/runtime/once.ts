// Once-only keys in Redis (`SET key token NX EX ttl`), atomic across bot replicas: the delivery ids a
// platform retries with (Lark's event_id, WeCom's MsgId, DingTalk's msgId and card click bodies) and Lark's
// request nonces; and DingTalk's robot signatures, each bound to the first body it came with.
// A SET that errs (the client's command timeout on a loaded machine) may still have been applied: Redis
// runs a connection's commands in order, so reading the key back afterwards says whose it is. Each claim
// writes its own random token; the key holding ours means this delivery won, anything else means another
// one did. Only when Redis cannot answer at all does `failOpen` decide: a delivery check lets the request
// through (logged; a repeated reply is harmless and the audit gate still decides whether any customer
// data is shown), a replay check (Lark's nonces) refuses it: a replay must never pass because Redis was slow.
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../store/redis-client.ts';
import type { Logger } from '../logger.ts';

export interface OnceGuard {
  /** true the first time `key` is seen within the TTL, false for a repeat; `failOpen` decides when the store cannot answer. */
  first(key: string): Promise<boolean>;
  /** Forgets a key so a redelivery is processed (used when processing failed before any reply). */
  forget(key: string): Promise<void>;
}

/** Claims tried before giving up on an answer from Redis. */
const ATTEMPTS = 3;

/**
 * What claiming a key found: 'first' (this call set it), 'same' (it holds this value: our own write whose
 * answer was lost, or the same thing delivered again), 'other' (another value holds it), 'unavailable'.
 */
export type Claim = 'first' | 'same' | 'other' | 'unavailable';
export type Claims = (key: string, value: string) => Promise<Claim>;

/** SET NX EX with the read-back above; for once-only ids, each claim's value is a fresh random token. */
export function redisClaims(redis: RedisClient, namespace: string, ttlSeconds: number): Claims {
  return async (key, value) => {
    for (let i = 0; i < ATTEMPTS; i++) {
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

export function redisOnce(redis: RedisClient, namespace: string, ttlSeconds: number, logger: Logger, failOpen = true): OnceGuard {
  const claim = redisClaims(redis, namespace, ttlSeconds);
  return {
    async first(key) {
      const claimed = await claim(key, randomUUID());
      if (claimed !== 'unavailable') return claimed !== 'other';
      logger.warn({ namespace: namespace.split(':').pop(), failOpen }, 'once-store unavailable');
      return failOpen;
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
