// A Lua script run by its SHA-1 (EVALSHA). EVAL sends the script's text with every call and Redis hashes
// it every time; the answer ledger's scripts are ~1 KB each and three of them run per slash command, the
// rate limiter's and a detector's on every lookup. By SHA-1 the text crosses the wire only when the
// server does not hold the script yet (NOSCRIPT: its first use there, a restart, a failover to a node
// that never ran it, SCRIPT FLUSH). NOSCRIPT means the script did not run, so sending it whole then
// cannot run it twice. On a Cluster both commands go to the node of the first key, as EVAL did.
import { createHash } from 'node:crypto';
import type { RedisClient } from './redis-client.ts';

export class RedisScript {
  private readonly sha: string;

  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}
