// Redis-backed once-only checks for Lark pushes, atomic across bot replicas (`SET key NX EX ttl`):
//  - nonces: a signed request replayed inside the timestamp window is refused (401);
//  - event ids: Lark re-pushes an event it thinks failed at about 15 s, 5 min, 1 h and 6 h (≈ 7.1 h),
//    so the first delivery of each `event_id` is kept for 24 h and later copies are answered and dropped.
// When Redis cannot answer, event dedupe lets the request through (fail open, logged): a repeated reply
// is harmless and the audit gate still decides whether any customer data is shown. The nonce check
// fails closed instead (`unavailable`): a replay must never pass because Redis was slow.
import type { RedisClient } from '../store/redis-client.ts';
import type { Logger } from '../logger.ts';

export const NONCE_TTL_SECONDS = 600; // twice the ±300 s timestamp window
export const EVENT_TTL_SECONDS = 86_400; // Lark's retries end after about 7.1 h

export interface OnceGuard {
  /** true the first time `key` is seen within the TTL, false for a repeat; `failOpen` decides when the store cannot answer. */
  first(key: string): Promise<boolean>;
  /** Forgets a key so a redelivery is processed (used when processing failed before any reply). */
  forget(key: string): Promise<void>;
}

export function redisOnce(redis: RedisClient, namespace: string, ttlSeconds: number, logger: Logger, failOpen = true): OnceGuard {
  const k = (key: string) => `${namespace}:${key}`;
  return {
    async first(key) {
      try {
        return (await redis.set(k(key), '1', 'EX', ttlSeconds, 'NX')) === 'OK';
      } catch {
        logger.warn({ namespace: namespace.split(':').pop(), failOpen }, 'lark: once-store unavailable');
        return failOpen;
      }
    },
    async forget(key) {
      await redis.del(k(key)).catch(() => undefined);
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
