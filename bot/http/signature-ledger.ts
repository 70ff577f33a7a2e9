// For a platform whose request signature does not cover the body (DingTalk's robot callbacks sign only
// the timestamp): each signature is bound to the first body it arrives with, for as long as it could
// still be accepted, so the same signature with any other body is refused — a captured request cannot be
// altered — and with the same body it is a redelivery. Redis (SET NX); fails closed.
import type { RedisClient } from '../store/redis-client.ts';

export interface SignatureLedger { bind(sign: string, bodyHash: string): Promise<'first' | 'same' | 'other' | 'unavailable'> }

export function signatureLedger(redis: RedisClient, namespace: string, ttlSeconds: number): SignatureLedger {
  return {
    async bind(sign, bodyHash) {
      try {
        const key = `${namespace}:${sign}`;
        if ((await redis.set(key, bodyHash, 'EX', ttlSeconds, 'NX')) === 'OK') return 'first';
        return (await redis.get(key)) === bodyHash ? 'same' : 'other';
      } catch {
        return 'unavailable';
      }
    },
  };
}
