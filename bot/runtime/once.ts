// Once-only keys in Redis (`SET key NX EX ttl`), atomic across bot replicas: the delivery ids a platform
// retries with (Lark's event_id, WeCom's MsgId, DingTalk's msgId and eventId) and Lark's request nonces.
// When Redis cannot answer, a delivery check lets the request through (fail open, logged): a repeated
// reply is harmless and the audit gate still decides whether any customer data is shown. A replay check
// (Lark's nonces) fails closed instead: a replay must never pass because Redis was slow.
import type { RedisClient } from '../store/redis-client.ts';
import type { Logger } from '../logger.ts';

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
        logger.warn({ namespace: namespace.split(':').pop(), failOpen }, 'once-store unavailable');
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
