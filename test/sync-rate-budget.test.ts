// The sync rate budget (bot/sync/rate-budget.ts) on a fake clock whose sleep advances it: pacing never
// exceeds the configured share of the source's rate, a 429 pauses every caller for Retry-After, the
// reported quota share stops a run with a coded error, and persistent 429s give up instead of spinning.
import test from 'ava';
import fc from 'fast-check';
import { ErrorCode, isCustosError } from '../bot/core/errors.ts';
import { RateBudget, SourceRateLimited } from '../bot/sync/rate-budget.ts';

function fakeTime(start = 1_700_000_000_000) {
  let now = start;
  return { clock: { now: () => new Date(now) }, sleep: async (ms: number) => { now += ms; }, elapsed: () => now - start };
}

test('requests are paced to the share of the source rate, for any rate, share and count', async (t) => {
  await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 100 }), fc.double({ min: 0.05, max: 1, noNaN: true }), fc.integer({ min: 2, max: 60 }), async (perSecond, share, n) => {
    const time = fakeTime();
    const budget = new RateBudget({ source: 's', perSecond, share, clock: time.clock, sleep: time.sleep });
    const starts: number[] = [];
    for (let i = 0; i < n; i++) { await budget.acquire(); starts.push(time.elapsed()); }
    const allowed = perSecond * share;
    // In any one-second window at most ceil(allowed) requests start.
    for (let i = 0; i < starts.length; i++) {
      const inWindow = starts.filter((s) => s >= starts[i]! && s < starts[i]! + 1000).length;
      if (inWindow > Math.ceil(allowed)) return false;
    }
    return true;
  }), { numRuns: 60 });
  t.pass();
});

test('a 429 with Retry-After pauses the next request for at least that long, then succeeds', async (t) => {
  const time = fakeTime();
  const budget = new RateBudget({ source: 's', perSecond: 1000, share: 1, clock: time.clock, sleep: time.sleep, random: () => 0.5 });
  let calls = 0;
  const result = await budget.call(async () => { calls++; if (calls === 1) throw new SourceRateLimited(2000); return 'ok'; });
  t.is(result, 'ok');
  t.is(calls, 2);
  t.true(time.elapsed() >= 2000 && time.elapsed() <= 2400, `waited ${time.elapsed()} ms`);
});

test('persistent 429s give up with a coded error after maxRetries', async (t) => {
  const time = fakeTime();
  const budget = new RateBudget({ source: 'crm', perSecond: 10, share: 1, clock: time.clock, sleep: time.sleep, maxRetries: 3, random: () => 1 });
  let calls = 0;
  const err = await t.throwsAsync(budget.call(async () => { calls++; throw new SourceRateLimited(undefined); }));
  t.true(isCustosError(err) && err.code === ErrorCode.SyncBudgetExhausted);
  t.is(calls, 4);
  t.regex(err!.message, /crm.*429.*3 retries/);
});

test('reported usage at the configured share stops the run before the next request', async (t) => {
  const time = fakeTime();
  const budget = new RateBudget({ source: 'salesforce', perSecond: 10, share: 0.5, clock: time.clock, sleep: time.sleep });
  budget.observe({ used: 7499, limit: 15000 });
  await t.notThrowsAsync(budget.acquire());
  budget.observe({ used: 7500, limit: 15000 });
  const err = await t.throwsAsync(budget.acquire());
  t.true(isCustosError(err) && err.code === ErrorCode.SyncBudgetExhausted);
  t.regex(err!.message, /50% of its API quota used.*CUSTOS_SYNC_QUOTA_SHARE/);
  let called = false;
  await t.throwsAsync(budget.call(async () => { called = true; }));
  t.false(called, 'no request once the share is reached');
});

test('other errors pass through untouched, without retry', async (t) => {
  const time = fakeTime();
  const budget = new RateBudget({ source: 's', perSecond: 10, share: 1, clock: time.clock, sleep: time.sleep });
  let calls = 0;
  await t.throwsAsync(budget.call(async () => { calls++; throw new Error('boom'); }), { message: 'boom' });
  t.is(calls, 1);
});
