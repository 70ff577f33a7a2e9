// One BullMQ queue driven by job schedulers, and its worker: what the approval sweeper and the
// access-review worker share. Upserting a scheduler is idempotent, so every boot re-applies the
// configured schedule (a changed one replaces the old). Concurrency 1: the handlers claim every step
// in MongoDB anyway, and one job at a time keeps a replica from racing itself. Connection errors are
// left to BullMQ's reconnects; a failing job is logged by its error's name only (no data in logs).
import { Queue, Worker, type Job, type JobSchedulerTemplateOptions, type RepeatOptions } from 'bullmq';
import { createRedis, type RedisTarget } from '../bot/store/redis-client.ts';
import type { Logger } from '../bot/logger.ts';
import { settleWithin } from '../bot/core/settle.ts';

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
}

export interface RunningScheduledWorker { close(): Promise<void> }

export async function startScheduledWorker(opts: ScheduledWorkerOptions): Promise<RunningScheduledWorker> {
  const connection = createRedis(opts.redis, { maxRetriesPerRequest: null });
  connection.on('error', () => undefined);
  // NameType is `string`: scheduler ids are not job names (libraries.md §3.4, typing gotcha).
  const queue = new Queue<Record<string, never>, unknown, string>(opts.queue, { connection, prefix: opts.prefix });
  for (const s of opts.schedules) {
    await queue.upsertJobScheduler(s.id, s.repeat, { name: s.jobName, data: {}, ...(s.jobOpts ? { opts: s.jobOpts } : {}) });
  }
  const workerConnection = createRedis(opts.redis, { maxRetriesPerRequest: null });
  workerConnection.on('error', () => undefined);
  const worker = new Worker(opts.queue, (job) => opts.handle(job), { connection: workerConnection, prefix: opts.prefix, concurrency: opts.concurrency ?? 1 });
  worker.on('error', (err) => opts.logger.warn({ err: { name: err.name } }, opts.errorMessage));
  return {
    async close() {
      // Bounded: in the cluster drill's rolling deploy (after a primary kill and a CLUSTER FAILOVER) the
      // access-review worker's close never returned, and the worker never exited on SIGTERM. Its jobs are
      // sweeps whose every step is claimed in MongoDB: one cut short is taken up again once its lock lapses.
      for (const [part, closing] of [['worker', () => worker.close()], ['queue', () => queue.close()]] as const) {
        // A rejection counts as settled: the part is closing regardless.
        if ((await settleWithin(closing(), CLOSE_WAIT_MS)) === 'late') opts.logger.warn({ queue: opts.queue, part }, 'scheduled worker: close did not finish; moving on');
      }
      workerConnection.disconnect();
      connection.disconnect();
    },
  };
}

/** How long a close may take before shutdown moves on (ms). */
const CLOSE_WAIT_MS = 10_000;
