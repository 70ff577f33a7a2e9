// RedisScript: by SHA-1 once Redis holds the script, whole only on NOSCRIPT, and never resent after it ran.
import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { Redis } from 'ioredis';
import { RedisScript } from '../bot/store/redis-script.ts';
import { dropPrefix, testRedis, uniqueName } from './helpers/services.ts';

const prefix = uniqueName(import.meta.url, 'prefix');
const redis = testRedis();
test.after.always(async () => { await dropPrefix(prefix); redis.disconnect(); });

/** The client, recording which of EVAL / EVALSHA each call sends. */
function spied(calls: string[]): Redis {
  return new Proxy(redis, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if ((name === 'eval' || name === 'evalsha') && typeof value === 'function') {
        return (...args: unknown[]) => { calls.push(name); return (value as (...a: unknown[]) => unknown).apply(target, args); };
      }
      return value;
    },
  });
}

test('a script Redis has not seen is sent whole once, then run by its SHA-1; the answer is the same either way', async (t) => {
  // A script of its own (a random comment): no other test file can have loaded it.
  const script = new RedisScript(`-- ${randomBytes(8).toString('hex')}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])`);
  const key = `${prefix}:counter`;
  const calls: string[] = [];
  const client = spied(calls);
  t.is(await script.run(client, [key], [2]), 2);
  t.deepEqual(calls, ['evalsha', 'eval'], 'NOSCRIPT, then the text');
  calls.length = 0;
  t.is(await script.run(client, [key], [3]), 5);
  t.is(await script.run(client, [key], [4]), 9);
  t.deepEqual(calls, ['evalsha', 'evalsha'], 'by SHA-1 from then on');
});

test('a script that fails as it runs is not sent again: its error reaches the caller', async (t) => {
  const script = new RedisScript(`-- ${randomBytes(8).toString('hex')}\nredis.call('SET', KEYS[1], 'x')\nreturn redis.call('INCR', KEYS[1])`);
  const key = `${prefix}:text`;
  const calls: string[] = [];
  const err = await t.throwsAsync(script.run(spied(calls), [key], []));
  t.regex(err!.message, /not an integer/);
  t.deepEqual(calls, ['evalsha', 'eval'], 'the text went once (NOSCRIPT), and its run failed');
  calls.length = 0;
  await t.throwsAsync(script.run(spied(calls), [key], []));
  t.deepEqual(calls, ['evalsha'], 'a failing run is not retried as EVAL');
});
