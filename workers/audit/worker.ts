// The audit worker: fetches audit jobs by hand (BullMQ OSS has no batches), stores their events (a job
// holds a producer's group of them) as one batch in the chain, and only then marks them completed. Only
// the holder of the chain-writer lease fetches; the other worker processes wait for it to lapse or be released.
//
// Crash safety: a job is completed only after its record is durably stored. If the process dies in
// between, BullMQ's stalled check puts the job back, the next writer finds its eventId already stored
// and completes it without a second chain entry. Jobs never fail for infrastructure reasons (a database
// outage is retried with back-off while their locks are kept alive); `maxStalledCount` is unbounded so
// repeated crashes can never drop an acknowledged event into "failed".
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker, type Job } from 'bullmq';
import { createRedis, type RedisTarget } from '../../bot/store/redis-client.ts';
import type { AuditEventInput } from '../../bot/core/audit.ts';
import { parseAuditEvent } from '../../bot/core/audit-event.ts';
import { isCustosError } from '../../bot/core/errors.ts';
import { settleWithin } from '../../bot/core/settle.ts';
import type { Clock } from '../../bot/core/ports.ts';
import type { AuditPipelineSettings } from '../../bot/config.ts';
import type { Logger } from '../../bot/logger.ts';
import { AUDIT_QUEUE, eventsOfJob, type AuditJobData } from '../../bot/queue/audit-producer.ts';
import type { AuditModels } from '../../bot/store/audit-model.ts';
import { ChainWriter } from './chain-writer.ts';
import { writeCheckpoint } from './checkpoints.ts';
import { ChainLease } from './lease.ts';

export interface AuditWorkerOptions {
  redis: RedisTarget;
  prefix: string;
  models: AuditModels;
  signingKey: Buffer;
  clock: Clock;
  settings: AuditPipelineSettings;
  logger: Logger;
}

export interface RunningAuditWorker {
  /** Stops fetching, finishes the batch in hand, writes a final checkpoint, releases the lease. */
  close(timeoutMs?: number): Promise<void>;
}

type AuditJob = Job<AuditJobData>;

interface Batch { jobs: AuditJob[]; token: string; release: () => void; fetchMs: number }

/**
 * Non-blocking fetches sent together when filling a batch: as many as the wait list holds (LLEN, one
 * cheap command), at most FETCH_PARALLELISM. A fetch that finds nothing still runs BullMQ's whole
 * moveToActive script, in the worker and in Redis: guessing (4, then doubling) left about one empty
 * fetch per lookup in bench/lookup (2,090 of 6,493 for 2,200 lookups), a fixed 64 about 19.
 */
const FETCH_PARALLELISM = 64;
/** How often a lingering batch looks for more events. */
const LINGER_STEP_MS = 10;
/** A batch of this many events or more means load: the next one lingers. */
const LINGER_AFTER = 4;

/** The events the jobs hold (a producer's group is one job: bot/queue/audit-producer.ts). */
function eventCount(jobs: readonly Job<AuditJobData>[]): number {
  let n = 0;
  for (const job of jobs) n += eventsOfJob(job.data).length;
  return n;
}

export async function startAuditWorker(opts: AuditWorkerOptions): Promise<RunningAuditWorker> {
  const { settings, logger } = opts;
  const leaseRedis = createRedis(opts.redis, { maxRetriesPerRequest: null });
  leaseRedis.on('error', () => undefined); // the worker's own connection reports outages
  const lease = new ChainLease(leaseRedis, `${opts.prefix}:${AUDIT_QUEUE}:chain-writer`, settings.leaseMs);
  const workerRedis = createRedis(opts.redis, { maxRetriesPerRequest: null });
  workerRedis.on('error', () => undefined); // reported through the worker's 'error' event
  const worker = new Worker<AuditJobData>(AUDIT_QUEUE, null, {
    connection: workerRedis,
    prefix: opts.prefix,
    autorun: false,
    lockDuration: settings.lockMs,
    stalledInterval: settings.stalledMs,
    maxStalledCount: Number.MAX_SAFE_INTEGER,
    drainDelay: 1, // seconds a blocking fetch waits, so shutdown and lease checks stay prompt
  });
  worker.on('error', (err) => logger.warn({ err: { type: err.name, code: (err as { code?: unknown }).code } }, 'audit worker: queue error'));
  await worker.waitUntilReady();
  await worker.startStalledCheckTimer();

  const writer = new ChainWriter(opts.models, opts.signingKey, opts.clock, settings.lateSeconds * 1000);
  let stopping = false;
  let acknowledging: Promise<void> = Promise.resolve();
  let holding = false;
  let lastBatchSize = 0;
  let sinceCheckpoint = 0;
  let lastCheckpointAt = opts.clock.now().getTime();

  const renewTimer = setInterval(() => {
    if (!holding) return;
    lease.renew().then((ok) => {
      if (!ok) { holding = false; logger.warn('audit worker: chain-writer lease lost; pausing writes'); }
    }, () => undefined);
  }, Math.max(50, Math.floor(settings.leaseMs / 3)));

  async function acquire(): Promise<boolean> {
    if (holding) return true;
    holding = await lease.tryAcquire().catch(() => false);
    if (holding) writer.forgetTail();
    if (holding) logger.info({ holder: lease.holder }, 'audit worker: chain-writer lease acquired');
    return holding;
  }

  /**
   * Takes up to `batchSize` jobs: the first with a blocking wait, the rest (after `storing`, the batch
   * before) without blocking and many requests in flight at once (pipelined on one connection: one
   * round trip per round, not per job).
   * Their locks are kept alive from the moment they are taken until the batch is stored.
   */
  async function fetchBatch(storing?: Promise<void>): Promise<Batch> {
    const token = randomUUID();
    const started = performance.now();
    const first = await worker.getNextJob(token, { block: true });
    if (!first) return { jobs: [], token, release: () => undefined, fetchMs: 0 };
    const jobs: AuditJob[] = [first];
    const locks = keepLocks(jobs, token); // jobs taken below join it (the same array)
    // The rest is taken once the batch before is stored: this batch cannot be stored earlier (batches go
    // one after another), and what arrives meanwhile joins it. Taken at once, a batch held the one or
    // two events waiting then, and every few events cost two inserts (records and stream block).
    if (storing) await storing.catch(() => undefined);
    try {
      await takeWaiting(jobs, token);
      // Under load (the batch before held LINGER_AFTER events or more) the batch waits up to lingerMs for more:
      // each batch costs two inserts and their transactions whatever its size. A few events at a time (a
      // quiet bot: one lookup's two events; the tests) are stored at once, so an audit query right after
      // a lookup finds it. Each step looks at the wait list's length and fetches what arrived.
      const until = performance.now() + (lastBatchSize >= LINGER_AFTER ? settings.lingerMs : 0);
      while (eventCount(jobs) < settings.batchSize && performance.now() < until) {
        await sleep(Math.min(LINGER_STEP_MS, until - performance.now()));
        // An empty wait list takes no script, so a Redis that now refuses them (an ACL, a demoted
        // primary) shows first in the locks' renewal: the jobs held are stored now, not after the linger.
        if (locks.refused()) throw new Error('lock renewal refused');
        await takeWaiting(jobs, token);
      }
    } catch (err) {
      // Jobs are held (their locks kept alive): store them rather than fail the batch and leave them locked.
      logger.warn({ err: { type: (err as Error).name, code: (err as { code?: unknown }).code } }, 'audit worker: taking more jobs failed; storing the batch in hand');
    }
    lastBatchSize = eventCount(jobs);
    return { jobs, token, release: locks.release, fetchMs: Math.round(performance.now() - started) };
  }

  /**
   * Takes what is waiting, up to the batch size: rounds of fetches without blocking, as many as the wait
   * list holds, until it is empty or a round comes back short. The length is only a hint (only the lease
   * holder fetches, so it can only grow meanwhile): a job it misses is the next batch's first.
   */
  async function takeWaiting(jobs: AuditJob[], token: string): Promise<void> {
    while (eventCount(jobs) < settings.batchSize) {
      const waiting = await waitingCount();
      // A job holds at least one event: never more fetches than the batch has room for events.
      const want = Math.min(waiting, FETCH_PARALLELISM, settings.batchSize - eventCount(jobs));
      if (want <= 0) return;
      const round = await Promise.all(Array.from({ length: want }, () => worker.getNextJob(token, { block: false })));
      const got = round.filter((j): j is AuditJob => j !== undefined);
      jobs.push(...got);
      if (got.length < want) return; // the queue is empty for now
    }
  }

  /** The audit jobs waiting to be fetched (no priorities or delays: they all wait in the one list). */
  async function waitingCount(): Promise<number> {
    return workerRedis.llen(worker.keys.wait!);
  }

  /** Keeps the jobs' locks alive while they wait and are stored (slow or unavailable database). */
  function keepLocks(jobs: AuditJob[], token: string): { release: () => void; refused: () => boolean } {
    let refused = false;
    const timer = setInterval(() => {
      for (const job of jobs) job.extendLock(token, settings.lockMs).catch(() => { refused = true; });
    }, Math.max(50, Math.floor(settings.lockMs / 3)));
    return { release: () => clearInterval(timer), refused: () => refused };
  }

  async function storeBatch({ jobs, token, release }: Batch): Promise<void> {
    try {
      await storeJobs(jobs, token);
    } finally {
      release();
    }
  }

  async function storeJobs(jobs: AuditJob[], token: string): Promise<void> {
    const events: AuditEventInput[] = [];
    const valid: AuditJob[] = [];
    const invalid: AuditJob[] = [];
    for (const job of jobs) {
      const parsed = eventsOfJob(job.data).map((e) => validEvent(job, e));
      for (const e of parsed) if (e) events.push(e);
      (parsed.includes(null) ? invalid : valid).push(job);
    }
    // Cannot happen with our producer (it validates): the job's valid events are stored with the rest, the
    // job is kept visible in "failed" (retrying it stores nothing twice: event ids are unique).
    const failInvalid = () => Promise.all(invalid.map((job) => job.moveToFailed(new Error('invalid audit event'), token, false).catch(() => undefined)));
    if (events.length === 0) { await failInvalid(); return; }
    for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
      try {
        const started = performance.now();
        const result = await writer.write(events);
        sinceCheckpoint += result.stored;
        if (writer.blockFailure) logger.warn({ err: { type: (writer.blockFailure as Error).name } }, 'audit worker: stream block not stored; the stream reads those records from the events');
        logger.debug({ stored: result.stored, duplicates: result.duplicates, lastSeq: result.lastSeq, writeMs: Math.round(performance.now() - started) }, 'audit worker: batch stored');
        break;
      } catch (err) {
        logger.warn({ err: { type: (err as Error).name, code: (err as { code?: unknown }).code } }, 'audit worker: storing batch failed; retrying');
        // On shutdown, leave the jobs locked-but-unfinished: once their lock lapses, another worker takes them.
        if (stopping) return;
        await sleep(delay);
      }
    }
    // Stored durably: now, and only now, acknowledge. A lost lock just means another worker re-runs the
    // job and finds the eventId stored. The acknowledgements run while the next batch is fetched and
    // stored (at most one batch of them in flight), so Redis and MongoDB work overlap.
    const waitStarted = performance.now();
    await acknowledging;
    const ackWaitMs = Math.round(performance.now() - waitStarted);
    if (ackWaitMs > 0) logger.debug({ ackWaitMs }, 'audit worker: waited for the previous batch\'s acknowledgements');
    await failInvalid();
    acknowledging = Promise.all(valid.map((job) => job.moveToCompleted('stored', token, false).catch(() => undefined))).then(() => undefined);
  }

  /** The event, or null (logged by its slots' problems, never its values) when it does not validate. */
  function validEvent(job: AuditJob, event: unknown): AuditEventInput | null {
    try {
      return parseAuditEvent(event);
    } catch (err) {
      const problems = isCustosError(err) ? err.details.problems : undefined;
      logger.error({ jobId: job.id, problems }, 'audit worker: invalid audit event rejected');
      return null;
    }
  }

  async function maybeCheckpoint(atShutdown: boolean): Promise<void> {
    const due = sinceCheckpoint >= settings.checkpointEvery
      || opts.clock.now().getTime() - lastCheckpointAt >= settings.checkpointSeconds * 1000;
    if (!atShutdown && !due) return;
    // Timed checkpoints are written even without new events (a heartbeat: silence ≠ outage); the one at
    // shutdown only when the chain moved on since the latest checkpoint.
    const cp = await writeCheckpoint(opts.models, opts.signingKey, opts.clock, { onlyIfAdvanced: atShutdown, knownTail: writer.knownTail() });
    sinceCheckpoint = 0;
    lastCheckpointAt = opts.clock.now().getTime();
    if (cp) logger.info({ n: cp.n, lastSeq: cp.lastSeq }, 'audit worker: checkpoint written');
  }

  /**
   * While one batch is being stored, the next one's first job is already being waited for, and the rest
   * are taken as soon as the store ends (Redis and MongoDB work overlap; a batch grows with the load). Batches are still stored strictly one after another, so the chain order is the fetch order.
   * A batch in hand is always stored, even after the lease was lost or a stop was requested: its jobs
   * are locked by us, and the unique seq keeps a stale writer from forking the chain.
   */
  async function loop(): Promise<void> {
    let next: Promise<Batch> | null = null;
    while (!stopping || next) {
      try {
        let batch: Batch;
        if (next) {
          const pending: Promise<Batch> = next;
          next = null;
          batch = await pending;
        } else {
          if (!(await acquire())) { await sleep(Math.max(50, Math.floor(settings.leaseMs / 4))); continue; }
          batch = await fetchBatch();
        }
        if (batch.jobs.length > 0) {
          const started = performance.now();
          const storing = storeBatch(batch);
          if (!stopping && holding) {
            next = fetchBatch(storing);
            // Awaited next round; until then a rejection (Redis gone while storing) must not count as unhandled.
            next.catch(() => undefined);
          }
          await storing;
          logger.debug({ jobs: batch.jobs.length, fetchMs: batch.fetchMs, storeMs: Math.round(performance.now() - started) }, 'audit worker: batch timings');
        }
        if (holding) await maybeCheckpoint(false);
      } catch (err) {
        logger.warn({ err: { type: (err as Error).name, code: (err as { code?: unknown }).code } }, 'audit worker: loop error; retrying');
        await sleep(500);
      }
    }
    await acknowledging;
  }

  const running = loop();
  logger.info({ queue: AUDIT_QUEUE }, 'audit worker started');

  return {
    async close(timeoutMs = 10_000) {
      stopping = true;
      // settleWithin clears its timer: a bare sleep in the race would hold the process open for timeoutMs.
      const finished = (await settleWithin(running, timeoutMs)) !== 'late';
      if (!finished) logger.warn('audit worker: batch still in flight at shutdown; its jobs will be recovered by another worker');
      clearInterval(renewTimer);
      if (finished && holding) {
        await maybeCheckpoint(true).catch((err: Error) => logger.warn({ err: { type: err.name } }, 'audit worker: final checkpoint failed'));
        await lease.release().catch(() => undefined);
      }
      await settleWithin(worker.close(!finished), timeoutMs);
      leaseRedis.disconnect();
      workerRedis.disconnect();
      logger.info('audit worker stopped');
    },
  };
}
