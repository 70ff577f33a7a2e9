// One BullMQ queue driven by job schedulers, and its worker: what the approval sweeper and the
// access-review worker share. Upserting a scheduler is idempotent, so every boot re-applies the
// configured schedule (a changed one replaces the old). Concurrency 1: the handlers claim every step
// in MongoDB anyway, and one job at a time keeps a replica from racing itself. Connection errors are
// left to BullMQ's reconnects; a failing job is logged by its error's name only (no data in logs).
import { Queue, Worker, type Job, type JobSchedulerTemplateOptions, type RepeatOptions } from 'bullmq';
import { createRedis, type RedisTarget } from '../bot/store/redis-client.ts';
import type { Logger } from '../bot/logger.ts';
import { settleWithin } from '../bot/core/settle.ts';
import { superviseWorker } from './supervised-worker.ts';

export interface Schedule {
  /** The scheduler id (stable across boots: it is what the upsert replaces). */
  id: string;
  repeat: Omit<RepeatOptions, 'key'>;
  /** The name of the jobs it creates, which the handler may branch on. */
  jobName: string;
  jobOpts?: JobSchedulerTemplateOptions;
}

export interface ScheduledWorkerOptions {
  redis: RedisTarget;
  prefix: string;
  queue: string;
  schedules: Schedule[];
  handle(job: Job): Promise<unknown>;
  logger: Logger;
  /** The log message when the worker reports an error. */
  errorMessage: string;
  /** Jobs at once (default 1); only for handlers whose jobs are safe to overlap. */
  concurrency?: number;
  /** How often the schedules are checked for a lost next job (default REPAIR_EVERY_MS). */
  repairEveryMs?: number;
}

export interface RunningScheduledWorker {
  close(): Promise<void>;
  /** Puts back a schedule whose next job (or whole scheduler) is gone; run on a timer (see `repairSchedules`). */
  repair(): Promise<number>;
}

export async function startScheduledWorker(opts: ScheduledWorkerOptions): Promise<RunningScheduledWorker> {
  const connection = createRedis(opts.redis, { maxRetriesPerRequest: null });
  connection.on('error', () => undefined);
  // NameType is `string`: scheduler ids are not job names (libraries.md §3.4, typing gotcha).
  const queue = new Queue<Record<string, never>, unknown, string>(opts.queue, { connection, prefix: opts.prefix });
  for (const s of opts.schedules) await upsert(queue, s);
  const repair = () => repairSchedules(queue, opts.schedules, opts.logger);
  const repairTimer = setInterval(() => { repair().catch(() => undefined); }, opts.repairEveryMs ?? REPAIR_EVERY_MS);
  repairTimer.unref();
  // Supervised: a worker that stops taking jobs (seen after Redis failovers) is replaced.
  const supervised = superviseWorker({
    queue: opts.queue, redis: opts.redis, prefix: opts.prefix, logger: opts.logger,
    make: (workerConnection) => {
      const worker = new Worker(opts.queue, (job) => opts.handle(job), { connection: workerConnection, prefix: opts.prefix, concurrency: opts.concurrency ?? 1 });
      worker.on('error', (err) => opts.logger.warn({ err: { type: err.name } }, opts.errorMessage));
      return worker;
    },
  });
  return {
    repair,
    async close() {
      clearInterval(repairTimer);
      // Bounded: in the cluster drill's rolling deploy (after a primary kill and a CLUSTER FAILOVER) the
      // access-review worker's close never returned, and the worker never exited on SIGTERM. Its jobs are
      // sweeps whose every step is claimed in MongoDB: one cut short is taken up again once its lock lapses.
      for (const [part, closing] of [['worker', () => supervised.close()], ['queue', () => queue.close()]] as const) {
        // A rejection counts as settled: the part is closing regardless.
        if ((await settleWithin(closing(), CLOSE_WAIT_MS)) === 'late') opts.logger.warn({ queue: opts.queue, part }, 'scheduled worker: close did not finish; moving on');
      }
      connection.disconnect();
    },
  };
}

/** How long a close may take before shutdown moves on (ms). */
const CLOSE_WAIT_MS = 10_000;

/** How often each schedule's next job is looked for (one or two reads per schedule). */
const REPAIR_EVERY_MS = 60_000;

type ScheduleQueue = Queue<Record<string, never>, unknown, string>;

function upsert(queue: ScheduleQueue, s: Schedule): Promise<unknown> {
  return queue.upsertJobScheduler(s.id, s.repeat, { name: s.jobName, data: {}, ...(s.jobOpts ? { opts: s.jobOpts } : {}) });
}

/**
 * A scheduler makes its next job when the current one starts, so the chain lives in Redis alone: a
 * primary killed before it replicated that job (or the scheduler itself) ends the schedule for good —
 * no sweep, no re-offered export, until the next boot's upsert. Found by the cluster drill's export through a
 * primary kill. Each schedule whose next job is missing is upserted again; one whose next job exists is
 * left alone (an upsert would move a due cron job to its next occurrence). Returns how many were put back.
 */
export async function repairSchedules(queue: ScheduleQueue, schedules: readonly Schedule[], logger: Logger): Promise<number> {
  let repaired = 0;
  for (const s of schedules) {
    const scheduler = await queue.getJobScheduler(s.id);
    const next = scheduler?.next;
    if (next !== undefined && (await queue.getJob(`repeat:${s.id}:${next}`))) continue;
    await upsert(queue, s);
    repaired++;
    logger.warn({ queue: queue.name, scheduler: s.id, lost: scheduler ? 'next job' : 'scheduler' }, 'scheduled worker: a lost schedule put back');
  }
  return repaired;
}