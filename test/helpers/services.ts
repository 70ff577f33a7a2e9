// Per-test-file isolation on the real services started by scripts/with-services.mjs: each file gets its
// own database and its own BullMQ / Redis key prefix, dropped again when the file is done.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import mongoose, { type Connection } from 'mongoose';
import { Redis, type RedisOptions } from 'ioredis';
import type { ExecutionContext } from 'ava';

export function requireEnv(name: 'REDIS_URL' | 'MONGODB_URI'): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests with \`npm test\`, which starts the services`);
  return v;
}

/** A name unique to this test file and run: `t_<file>_<random>` (MongoDB allows 63 chars). */
export function uniqueName(file: string, kind: 'db' | 'prefix' = 'db'): string {
  const base = path.basename(file).replace(/\.test\.[tj]s$/, '').replace(/[^A-Za-z0-9]/g, '_').slice(0, 30);
  return `${kind === 'db' ? 't' : 'q'}_${base}_${randomBytes(4).toString('hex')}`;
}

/** A fresh database for one test file. Call `drop()` in `test.after.always`. */
export async function testDatabase(file: string): Promise<{ conn: Connection; name: string; uri: string; drop: () => Promise<void> }> {
  const uri = requireEnv('MONGODB_URI');
  const name = uniqueName(file, 'db');
  const conn = await mongoose.createConnection(uri, { dbName: name, serverSelectionTimeoutMS: 10_000 }).asPromise();
  return {
    conn, name, uri,
    drop: async () => {
      await conn.dropDatabase().catch(() => undefined);
      await conn.close().catch(() => undefined);
    },
  };
}

/** An ioredis client for the test Redis; BullMQ workers need `maxRetriesPerRequest: null`. */
export function testRedis(opts: RedisOptions = {}): Redis {
  return new Redis(requireEnv('REDIS_URL'), { maxRetriesPerRequest: null, ...opts });
}

/** Deletes every Redis key under `prefix:` (BullMQ's and ours) — cleanup for one test file. */
export async function dropPrefix(prefix: string): Promise<void> {
  const r = testRedis();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

/** Random 32-byte keys in base64, for a configuration a test builds. */
export function randomKey(): string {
  return randomBytes(32).toString('base64');
}

/** Environment for `loadConfig` with everything a full run needs, on this file's database and prefix. */
export function testEnv(dbName: string, prefix: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    MONGODB_URI: requireEnv('MONGODB_URI'),
    MONGODB_DB: dbName,
    REDIS_URL: requireEnv('REDIS_URL'),
    CUSTOS_QUEUE_PREFIX: prefix,
    CUSTOS_DATA_KEYS: `k1:${randomKey()}`,
    CUSTOS_BLIND_INDEX_KEY: randomKey(),
    CUSTOS_AUDIT_HMAC_KEY: randomKey(),
    CUSTOS_AUDIT_SIGNING_KEY: randomKey(),
    // Its own erasure list: the default (.data/erasures.txt) is shared by every process started from the
    // checkout, and an id one test erases would be erased again at the next start of every other one.
    CUSTOS_ERASURE_LIST: path.join(os.tmpdir(), `custos-erasures-${dbName}-${randomBytes(4).toString('hex')}.txt`),
    ...extra,
  };
}

export type { ExecutionContext };

/** Every key under `prefix` and its value, whatever its type, as one text: what a canary scan searches. */
export async function redisDump(prefix: string): Promise<{ keys: number; text: string }> {
  const redis = testRedis();
  try {
    const out: string[] = [];
    let cursor = '0';
    let count = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        count++;
        out.push(key, await dumpKey(redis, key));
      }
    } while (cursor !== '0');
    return { keys: count, text: out.join('\n') };
  } finally {
    redis.disconnect();
  }
}

async function dumpKey(redis: Redis, key: string): Promise<string> {
  switch (await redis.type(key)) {
    case 'string': return String(await redis.get(key));
    case 'hash': return JSON.stringify(await redis.hgetall(key));
    case 'list': return JSON.stringify(await redis.lrange(key, 0, -1));
    case 'set': return JSON.stringify(await redis.smembers(key));
    case 'zset': return JSON.stringify(await redis.zrange(key, '0', '-1', 'WITHSCORES'));
    case 'stream': return JSON.stringify(await redis.xrange(key, '-', '+'));
    default: return '';
  }
}
