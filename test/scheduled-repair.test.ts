// A BullMQ job scheduler's chain (each job makes the next when it starts) lives in Redis alone: the
// cluster drill's primary kill can lose the next job, or the scheduler, before they replicate, and the
// approval sweep (which also re-offers stalled exports) then never ran again. workers/scheduled.ts puts
// a lost schedule back on a timer; these tests lose the keys as a failover does (gone, not removed
// through BullMQ) on the real Redis and check what comes back, and that a present schedule is left alone.
import test from 'ava';
import { Queue } from 'bullmq';
import { createLogger } from '../bot/logger.ts';
import { startScheduledWorker, type Schedule } from '../workers/scheduled.ts';
import { dropPrefix, requireEnv, testRedis, uniqueName } from './helpers/services.ts';

const redis = testRedis();
const prefix = uniqueName('scheduled-repair', 'prefix');
const logger = createLogger({ level: 'silent' });
const HOUR = 3_600_000;
const schedules: Schedule[] = [
  { id: 'every-hour', repeat: { every: HOUR }, jobName: 'sweep' },
  { id: 'nightly', repeat: { pattern: '0 3 * * *', tz: 'Asia/Shanghai' }, jobName: 'cycle' },
];

test.after.always(async () => {
  await dropPrefix(prefix);
  redis.disconnect();
});

async function started(queueName: string) {
  const worker = await startScheduledWorker({
    redis: requireEnv('REDIS_URL'), prefix, queue: queueName, schedules, logger, errorMessage: 'test', repairEveryMs: HOUR,
    handle: async () => undefined,
  });
  const queue = new Queue(queueName, { connection: { url: requireEnv('REDIS_URL') }, prefix });
  const nextJob = async (id: string) => {
    const next = (await queue.getJobScheduler(id))?.next;
    return next === undefined ? null : ((await queue.getJob(`repeat:${id}:${next}`))?.id ?? null);
  };
  // An `every` scheduler's first job is due at once: wait until the worker has run it, so the chain's
  // next job is the hour-ahead one before the test looks at it.
  while (((await queue.getJobScheduler('every-hour'))?.next ?? 0) < Date.now() + HOUR / 2) await new Promise((r) => setTimeout(r, 20));
  return { worker, queue, nextJob, close: async () => { await worker.close(); await queue.close(); } };
}

/** What a failover that lost a job does: its hash and its place in the delayed set are gone. */
async function loseJob(queueName: string, jobId: string): Promise<void> {
  await redis.del(`${prefix}:${queueName}:${jobId}`);
  await redis.zrem(`${prefix}:${queueName}:delayed`, jobId);
}

test('schedules whose next jobs exist are left as they are', async (t) => {
  const s = await started('intact');
  const before = [await s.nextJob('every-hour'), await s.nextJob('nightly')];
  t.true(before.every((id) => id !== null));
  t.is(await s.worker.repair(), 0);
  t.deepEqual([await s.nextJob('every-hour'), await s.nextJob('nightly')], before);
  await s.close();
});

test('a lost next job is made again; the other schedule is untouched', async (t) => {
  const s = await started('lost-job');
  const nightly = await s.nextJob('nightly');
  await loseJob('lost-job', (await s.nextJob('every-hour'))!);
  t.is(await s.nextJob('every-hour'), null);
  t.is(await s.worker.repair(), 1);
  const again = await s.nextJob('every-hour');
  t.truthy(again);
  t.is((await s.queue.getJob(again!))?.name, 'sweep');
  t.is(await s.nextJob('nightly'), nightly);
  await s.close();
});

test('a lost scheduler (its key and its job gone) is put back with its pattern', async (t) => {
  const s = await started('lost-scheduler');
  await loseJob('lost-scheduler', (await s.nextJob('nightly'))!);
  await redis.zrem(`${prefix}:lost-scheduler:repeat`, 'nightly');
  await redis.del(`${prefix}:lost-scheduler:repeat:nightly`);
  t.is(await s.queue.getJobScheduler('nightly'), undefined);
  t.is(await s.worker.repair(), 1);
  const scheduler = await s.queue.getJobScheduler('nightly');
  t.is(scheduler?.pattern, '0 3 * * *');
  t.truthy(await s.nextJob('nightly'));
  await s.close();
});
