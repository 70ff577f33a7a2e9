// The sweeper's delayed wake-ups on real Redis: the delay is measured on the injected clock, the same
// clock the due time comes from, so a wake-up fires when it is due even when the injected clock is far
// from real time (a test clock, a replay, a skewed host).
import test from 'ava';
import { Queue } from 'bullmq';
import { approvalQueues, SWEEP_QUEUE } from '../bot/queue/approval-queues.ts';
import type { Clock } from '../bot/core/ports.ts';
import { dropPrefix, requireEnv, testRedis, uniqueName } from './helpers/services.ts';

const MINUTE = 60_000;

/** An injected clock standing still at `at`, far from real time. */
const stoppedAt = (at: number): Clock => ({ now: () => new Date(at) });

/** The sweep queue's jobs that wait for their time, and those ready to run now. */
async function wakeJobs(prefix: string, state: 'delayed' | 'waiting' = 'delayed'): Promise<{ id: string; delay: number }[]> {
  const connection = testRedis();
  const queue = new Queue(SWEEP_QUEUE, { connection, prefix });
  try {
    const jobs = state === 'delayed' ? await queue.getDelayed() : await queue.getWaiting();
    return jobs.map((j) => ({ id: String(j.id), delay: j.opts.delay ?? 0 }));
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

for (const [label, start] of [['years behind', Date.parse('2020-01-06T02:30:00Z')], ['years ahead', Date.parse('2031-03-03T02:30:00Z')]] as const) {
  test(`a wake-up 10 minutes ahead on an injected clock ${label} of real time waits exactly 10 minutes`, async (t) => {
    const prefix = uniqueName(import.meta.url, 'prefix');
    t.teardown(() => dropPrefix(prefix));
    const clock = stoppedAt(start);
    const queues = approvalQueues(requireEnv('REDIS_URL'), prefix, clock);
    t.teardown(() => queues.close());
    const due = new Date(clock.now().getTime() + 10 * MINUTE);
    await queues.wakeUps.at(due);
    await queues.wakeUps.at(new Date(due.getTime() - 1000)); // the same minute: one job
    const jobs = await wakeJobs(prefix);
    t.is(jobs.length, 1, 'one delayed job per minute');
    t.is(jobs[0]!.id, `wake-${Math.ceil(due.getTime() / MINUTE)}`);
    t.is(jobs[0]!.delay, 10 * MINUTE, 'the due minute minus the injected now');
  });
}

test('a wake-up already due on the injected clock runs at once, even if real time is long before it', async (t) => {
  const prefix = uniqueName(import.meta.url, 'prefix');
  t.teardown(() => dropPrefix(prefix));
  const clock = stoppedAt(Date.parse('2031-03-03T02:30:00Z'));
  const queues = approvalQueues(requireEnv('REDIS_URL'), prefix, clock);
  t.teardown(() => queues.close());
  await queues.wakeUps.at(new Date(clock.now().getTime() - 5 * MINUTE));
  t.deepEqual(await wakeJobs(prefix), [], 'not delayed');
  t.is((await wakeJobs(prefix, 'waiting')).length, 1, 'ready to run now');
});
