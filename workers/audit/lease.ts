// The chain-writer lease: at most one process appends to the audit chain at a time. A Redis key holds
// the holder's random id with a time-to-live; the holder renews it well before it expires, and a crashed
// holder is replaced once it lapses. Renew and release are compare-and-set (Lua), so a process whose
// lease already lapsed can never extend or delete its successor's.
// The lease is an optimisation against contention, not the correctness argument: the unique `seq` index
// is the fence. A stale holder that still writes hits E11000 on the next seq and re-reads the tail.
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../bot/store/redis-client.ts';
import { RedisScript } from '../../bot/store/redis-script.ts';

const RENEW = new RedisScript(`if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`);
const RELEASE = new RedisScript(`if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`);

export class ChainLease {
  readonly holder = randomUUID();

  constructor(private readonly redis: RedisClient, private readonly key: string, private readonly ttlMs: number) {}

  /** Takes the lease if it is free (or already ours, then renews it). */
  async tryAcquire(): Promise<boolean> {
    const set = await this.redis.set(this.key, this.holder, 'PX', this.ttlMs, 'NX');
    if (set === 'OK') return true;
    return this.renew();
  }

  /** Extends the lease if we still hold it; false means another process may be writing now. */
  async renew(): Promise<boolean> {
    return Number(await RENEW.run(this.redis, [this.key], [this.holder, String(this.ttlMs)])) === 1;
  }

  /** Hands the lease over at once (graceful shutdown) instead of making the next writer wait it out. */
  async release(): Promise<void> {
    await RELEASE.run(this.redis, [this.key], [this.holder]);
  }
}
