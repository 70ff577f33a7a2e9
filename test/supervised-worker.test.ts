// The worker supervisor (workers/supervised-worker.ts) on the real Redis: a worker that takes no jobs
// while one waits is replaced and the job is then done; a busy worker is left alone until it has held
// its job past the limit; an idle queue changes nothing. "A worker that takes no jobs" is one made
// without running (what a worker wedged after a failover looks like from outside); the supervisor's clock
// is moved instead of waited out.
import test from 'ava';
import { Queue, Worker } from 'bullmq';
import { createLogger } from '../bot/logger.ts';
import { superviseWorker } from '../workers/supervised-worker.ts';
import { dropPrefix, requireEnv, uniqueName } from './helpers/services.ts';

const prefix = uniqueName('supervised-worker', 'prefix');
const logger = createLogger({ level: 'silent' });
const url = () => requireEnv('REDIS_URL');

test.after.always(async () => { await dropPrefix(prefix); });

async function until(what: string, done: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + 30_000;
  while (!(await done())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function setup(name: string, process: (id: string) => Promise<void>, firstRuns: boolean) {
  const clock = { ahead: 0 };
  let made = 0;
  const supervised = superviseWorker({
    queue: name, redis: url(), prefix, logger, checkEveryMs: 3_600_000, stuckAfterMs: 60_000, busyLimitMs: 600_000,
    now: () => Date.now() + clock.ahead,
    make: (connection) => new Worker(name, async (job) => process(job.id!), { connection, prefix, autorun: made++ > 0 || firstRuns }),
  });
  const queue = new Queue(name, { connection: { url: url() }, prefix });
  return { supervised, queue, clock, made: () => made, close: async () => { await supervised.close(); await queue.close(); } };
}

test('a worker that takes no jobs while one waits is replaced, and the job is then done', async (t) => {
  const done: string[] = [];
  const s = setup('wedged', async (id) => { done.push(id); }, false);
  await s.queue.add('export', {}, { jobId: 'job-1' });
  t.false(await s.supervised.check(), 'a job waiting a moment is no sign of anything');
  s.clock.ahead = 61_000;
  t.true(await s.supervised.check(), 'waiting past the limit with nobody taking it: replaced');
  await until('the job done by the new worker', () => done.includes('job-1'));
  t.is(s.made(), 2);
  await s.close();
});

test('a busy worker is left alone until it has held its job past the limit', async (t) => {
  let release!: () => void;
  const held = new Promise<void>((r) => { release = r; });
  const s = setup('busy', async (id) => { if (id === 'long') await held; }, true);
  await s.queue.add('export', {}, { jobId: 'long' });
  await until('the long job taken', async () => (await s.queue.getActiveCount()) === 1);
  await s.queue.add('export', {}, { jobId: 'next' });
  s.clock.ahead = 120_000;
  t.false(await s.supervised.check(), 'busy within the limit: the waiting job is its next');
  s.clock.ahead = 700_000;
  t.true(await s.supervised.check(), 'held past the limit while others wait: replaced');
  release();
  await until('the next job done', async () => (await s.queue.getJobState('next')) === 'completed');
  await s.close();
});

test('nothing waiting: nothing changes', async (t) => {
  const s = setup('idle', async () => undefined, true);
  s.clock.ahead = 3_600_000;
  t.false(await s.supervised.check());
  t.is(s.made(), 1);
  await s.close();
});
