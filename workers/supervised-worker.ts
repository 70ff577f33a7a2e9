// A BullMQ worker replaced when it stops taking jobs. Through the cluster drill's failovers (a primary
// killed outright, CLUSTER FAILOVER) a worker sometimes stopped fetching for good while its process lived:
// an approved export's job waited with no file for minutes, and the same workers' close() never returned
// on SIGTERM (BullMQ's maintainers' advice for a worker that does not recover: close it, make a new one).
// The check: this worker holds no job, yet the queue's oldest waiting job has waited longer than
// `stuckAfterMs` — a worker that fetched would have taken it; or it has held a job for longer than
// `busyLimitMs` while others wait (its completion never reported). Then the worker is closed (bounded, forced)
// with its connection, and a new one is made on a fresh connection. Jobs the old one held are returned
// by BullMQ's stalled check once their locks lapse. A worker busy within the limit is never replaced (an
// export may run for minutes), and a check that cannot read the queue (Redis down) changes nothing.
import { Queue, type Worker } from 'bullmq';
import type { Logger } from '../bot/logger.ts';
import { settleWithin } from '../bot/core/settle.ts';
import { createRedis, type RedisClient, type RedisTarget } from '../bot/store/redis-client.ts';

export interface SupervisedWorkerOptions {
  queue: string;
  redis: RedisTarget;
  prefix: string;
  logger: Logger;
  /** Makes the worker on `connection` (its own; the supervisor closes it with the worker). */
  make(connection: RedisClient): Worker;
  checkEveryMs?: number;
  stuckAfterMs?: number;
  /** A job held longer than this is taken as a worker that stopped (default 30 minutes). */
  busyLimitMs?: number;
  now?: () => number;
}

export interface SupervisedWorker {
  /** The worker in service now. */
  readonly current: Worker;
  /** Looks once (the timer's step, for tests): true when the worker was replaced. */
  check(): Promise<boolean>;
  close(): Promise<void>;
}

/** How long a close may take before the supervisor moves on (ms). */
const CLOSE_WAIT_MS = 10_000;

export function superviseWorker(opts: SupervisedWorkerOptions): SupervisedWorker {
  const now = opts.now ?? Date.now;
  const stuckAfterMs = opts.stuckAfterMs ?? 60_000;
  const busyLimitMs = opts.busyLimitMs ?? 30 * 60_000;
  const observer = createRedis(opts.redis, { maxRetriesPerRequest: 1 });
  observer.on('error', () => undefined);
  const queue = new Queue(opts.queue, { connection: observer, prefix: opts.prefix });
  queue.on('error', () => undefined);
  let running = start();
  let closing = false;

  function start(): { worker: Worker; connection: RedisClient; held: Map<string, number> } {
    const connection = createRedis(opts.redis, { maxRetriesPerRequest: null });
    connection.on('error', () => undefined);
    // The jobs this worker holds, by id, with when it took each.
    const state = { worker: opts.make(connection), connection, held: new Map<string, number>() };
    state.worker.on('active', (job) => { state.held.set(job.id ?? '', now()); });
    const released = (job: { id?: string } | undefined) => { state.held.delete(job?.id ?? ''); };
    state.worker.on('completed', released);
    state.worker.on('failed', released);
    return state;
  }

  /** Holds a job, and none of them for longer than the limit. */
  function busy(): boolean {
    const since = Math.min(...running.held.values());
    return Number.isFinite(since) && now() - since <= busyLimitMs;
  }

  async function stop(state: typeof running, force: boolean): Promise<void> {
    if ((await settleWithin(state.worker.close(force), CLOSE_WAIT_MS)) === 'late') {
      opts.logger.warn({ queue: opts.queue }, 'supervised worker: close did not finish; moving on');
    }
    state.connection.disconnect();
  }

  /** The oldest waiting job's age (ms), or 0 when none waits. */
  async function oldestWaitMs(): Promise<number> {
    const waiting = await queue.getJobs(['wait', 'prioritized'], 0, 50, true);
    const oldest = Math.min(...waiting.map((j) => j.timestamp));
    return Number.isFinite(oldest) ? now() - oldest : 0;
  }

  async function check(): Promise<boolean> {
    if (closing || busy()) return false;
    const waited = await oldestWaitMs().catch(() => 0);
    if (waited <= stuckAfterMs || closing || busy()) return false;
    opts.logger.warn({ queue: opts.queue, waitedMs: waited }, 'supervised worker: jobs wait while the worker takes none; replacing it');
    const stuck = running;
    running = start();
    await stop(stuck, true);
    return true;
  }

  const timer = setInterval(() => { void check().catch(() => undefined); }, opts.checkEveryMs ?? 30_000);
  timer.unref();

  return {
    get current() { return running.worker; },
    check,
    async close() {
      closing = true;
      clearInterval(timer);
      await stop(running, false);
      await queue.close().catch(() => undefined);
      observer.disconnect();
    },
  };
}
