// Once-only delivery ids in Redis (`SET key NX EX ttl`), atomic across bot replicas. WeCom retries an
// unanswered callback three times within seconds; a day's memory also covers a replay of a captured
// request inside the timestamp window. When Redis cannot answer, the delivery passes (logged): a
// repeated reply is harmless and the audit gate still decides whether any customer data is shown.
import type { RedisClient } from '../store/redis-client.ts';
import type { Logger } from '../logger.ts';

export const DELIVERY_TTL_SECONDS = 86_400;

export interface OnceGuard {
  first(key: string): Promise<boolean>;
  forget(key: string): Promise<void>;
}

export function redisOnce(redis: RedisClient, namespace: string, logger: Logger): OnceGuard {
  const k = (key: string) => `${namespace}:${key}`;
  return {
    async first(key) {
      try {
        return (await redis.set(k(key), '1', 'EX', DELIVERY_TTL_SECONDS, 'NX')) === 'OK';
      } catch {
        logger.warn({}, 'wecom: once-store unavailable; delivery let through');
        return true;
      }
    },
    async forget(key) {
      await redis.del(k(key)).catch(() => undefined);
    },
  };
}
