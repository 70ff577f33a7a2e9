// Once-only keys in Redis (`SET key token NX EX ttl`), atomic across bot replicas: the delivery ids a
// platform retries with (Lark's event_id, WeCom's MsgId, DingTalk's msgId and eventId) and Lark's request
// nonces.
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

export function redisOnce(redis: RedisClient, namespace: string, ttlSeconds: number, logger: Logger, failOpen = true): OnceGuard {
  const k = (key: string) => `${namespace}:${key}`;
  return {
    async first(key) {
      const token = randomUUID();
      for (let i = 0; i < ATTEMPTS; i++) {
        try {
          if ((await redis.set(k(key), token, 'EX', ttlSeconds, 'NX')) === 'OK') return true;
          // Held: by another delivery, or by this one through an attempt that timed out after Redis applied it.
          const holder = await redis.get(k(key));
          if (holder !== null) return holder === token;
        } catch {
          // unanswered (it may still have been applied): ask again, the next answer settles it
        }
      }
      logger.warn({ namespace: namespace.split(':').pop(), failOpen }, 'once-store unavailable');
      return failOpen;
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
