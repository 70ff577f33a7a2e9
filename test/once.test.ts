// The once-only guard (bot/runtime/once.ts) on the real Redis, with the faults a loaded machine brings:
// a SET that times out after Redis applied it, one that fails before, a Redis that never answers.
// Property: however the concurrent deliveries of one id fail and retry, at most one is told it is first,
// and exactly one when Redis answers each of them at least once.
import test from 'ava';
import fc from 'fast-check';
import { redisOnce } from '../bot/runtime/once.ts';
import type { RedisClient } from '../bot/store/redis-client.ts';
import { dropPrefix, testRedis, uniqueName } from './helpers/services.ts';

const redis = testRedis();
const prefix = uniqueName('once', 'prefix');
const quiet = { warn: () => undefined } as never;

test.after.always(async () => {
  await dropPrefix(prefix);
  redis.disconnect();
});

/** How one command fares: answered, lost after Redis applied it (a client timeout), or lost before. */
type Fate = 'ok' | 'appliedThenLost' | 'lost';

/** A client whose commands meet the given fates in turn (then `ok`), on the real Redis. */
function faulty(fates: Fate[]): RedisClient {
  const next = () => fates.shift() ?? 'ok';
  const run = async <T>(cmd: () => Promise<T>): Promise<T> => {
    const fate = next();
    if (fate === 'lost') throw new Error('Command timed out');
    const r = await cmd();
    if (fate === 'appliedThenLost') throw new Error('Command timed out');
    return r;
  };
  return {
    set: (...args: unknown[]) => run(() => (redis.set as (...a: unknown[]) => Promise<unknown>)(...args)),
    get: (key: string) => run(() => redis.get(key)),
    del: (key: string) => redis.del(key),
  } as unknown as RedisClient;
}

test('a SET applied but unanswered is still this delivery\'s: it alone goes on, the copies are dropped', async (t) => {
  const ns = `${prefix}:a`;
  const first = await redisOnce(faulty(['appliedThenLost']), ns, 60, quiet).first('msg-1');
  const again = await Promise.all([1, 2, 3].map(() => redisOnce(faulty([]), ns, 60, quiet).first('msg-1')));
  t.true(first);
  t.deepEqual(again, [false, false, false]);
});

test('four deliveries at once whose SETs all time out after Redis applied them (a loaded machine): one goes on, three are dropped', async (t) => {
  const ns = `${prefix}:c`;
  const results = await Promise.all([1, 2, 3, 4].map(() => redisOnce(faulty(['appliedThenLost']), ns, 60, quiet).first('click-1')));
  t.is(results.filter(Boolean).length, 1);
});

test('a Redis that never answers: a delivery check lets it through, a replay check refuses it', async (t) => {
  const never = (): RedisClient => faulty(Array<Fate>(10).fill('lost'));
  t.true(await redisOnce(never(), `${prefix}:b`, 60, quiet).first('x'));
  t.false(await redisOnce(never(), `${prefix}:b`, 60, quiet, false).first('x'));
});

test('property: concurrent deliveries of one id, any faults: at most one first; exactly one unless a claim never got an answer', async (t) => {
  let run = 0;
  const fate = fc.constantFrom<Fate>('ok', 'appliedThenLost', 'lost');
  await fc.assert(fc.asyncProperty(fc.array(fc.array(fate, { maxLength: 6 }), { minLength: 1, maxLength: 5 }), async (plans) => {
    const ns = `${prefix}:p${run++}`;
    let unanswered = 0;
    const logger = { warn: () => { unanswered++; } } as never;
    const results = await Promise.all(plans.map((p) => redisOnce(faulty([...p]), ns, 60, logger, false).first('id')));
    const winners = results.filter(Boolean).length;
    return winners <= 1 && (unanswered > 0 || winners === 1);
  }), { numRuns: 150 });
  t.pass();
});
