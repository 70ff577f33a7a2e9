// The once-only guard (bot/runtime/once.ts) on the real Redis, with the faults a loaded machine brings:
// a SET that times out after Redis applied it, one that fails before, a Redis that never answers.
// Property: however the concurrent deliveries of one id fail and retry, at most one is told it is first,
// and exactly one when Redis answers each of them at least once; a delivery check that gets no answer asks
// the platform to deliver again (it throws) rather than letting a possible copy through.
import test from 'ava';
import fc from 'fast-check';
import { isCustosError, ErrorCode } from '../bot/core/errors.ts';
import { redisOnce, type WhenUnanswered } from '../bot/runtime/once.ts';
import type { RedisClient } from '../bot/store/redis-client.ts';
import { dropPrefix, testRedis, uniqueName } from './helpers/services.ts';

const redis = testRedis();
const prefix = uniqueName('once', 'prefix');
const quiet = { warn: () => undefined } as never;
/** No pauses between claims: the faults are injected, not waited out. */
const NOW = [0, 0, 0];
const guard = (client: RedisClient, ns: string, when: WhenUnanswered = 'redeliver', logger = quiet) => redisOnce(client, ns, 60, logger, when, NOW);

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
  const first = await guard(faulty(['appliedThenLost']), ns).first('msg-1');
  const again = await Promise.all([1, 2, 3].map(() => guard(faulty([]), ns).first('msg-1')));
  t.true(first);
  t.deepEqual(again, [false, false, false]);
});

test('four deliveries at once whose SETs all time out after Redis applied them (a loaded machine): one goes on, three are dropped', async (t) => {
  const ns = `${prefix}:c`;
  const results = await Promise.all([1, 2, 3, 4].map(() => guard(faulty(['appliedThenLost']), ns).first('click-1')));
  t.is(results.filter(Boolean).length, 1);
});

test('a Redis that never answers: a delivery check asks for the delivery again, a replay check refuses it, an allowing one lets it through', async (t) => {
  const never = (): RedisClient => faulty(Array<Fate>(10).fill('lost'));
  const err = await t.throwsAsync(guard(never(), `${prefix}:b`).first('x'));
  t.true(isCustosError(err, ErrorCode.DeliveryCheckUnavailable));
  t.false(await guard(never(), `${prefix}:b`, 'refuse').first('x'));
  t.true(await guard(never(), `${prefix}:b`, 'allow').first('x'));
});

test('a Redis that answers after a few lost claims: the claim is still settled (the budget outlasts a short stall)', async (t) => {
  t.true(await guard(faulty(['lost', 'lost']), `${prefix}:d`).first('late'));
  t.false(await guard(faulty(['lost', 'appliedThenLost']), `${prefix}:d`).first('late'));
});

test('property: concurrent deliveries of one id, any faults: at most one first; exactly one unless a claim never got an answer', async (t) => {
  let run = 0;
  const fate = fc.constantFrom<Fate>('ok', 'appliedThenLost', 'lost');
  await fc.assert(fc.asyncProperty(fc.array(fc.array(fate, { maxLength: 6 }), { minLength: 1, maxLength: 5 }), async (plans) => {
    const ns = `${prefix}:p${run++}`;
    let unanswered = 0;
    const logger = { warn: () => { unanswered++; } } as never;
    const results = await Promise.all(plans.map((p) => guard(faulty([...p]), ns, 'redeliver', logger).first('id').catch(() => 'redeliver' as const)));
    const winners = results.filter((r) => r === true).length;
    const redelivered = results.filter((r) => r === 'redeliver').length;
    return winners <= 1 && redelivered === unanswered && (unanswered > 0 || winners === 1);
  }), { numRuns: 150 });
  t.pass();
});
