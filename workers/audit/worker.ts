// The audit worker: fetches audit jobs by hand (BullMQ OSS has no batches), stores them as one batch in
// the chain, and only then marks them completed. Only the holder of the chain-writer lease fetches; the
// other worker processes wait for it to lapse or be released.
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
import { Redis } from 'ioredis';
import type { AuditEventInput } from '../../bot/core/audit.ts';
import { parseAuditEvent } from '../../bot/core/audit-event.ts';
import { isCustosError } from '../../bot/core/errors.ts';
import type { Clock } from '../../bot/core/ports.ts';
import type { AuditPipelineSettings } from '../../bot/config.ts';
import type { Logger } from '../../bot/logger.ts';
import { AUDIT_QUEUE, type AuditJobData } from '../../bot/queue/audit-producer.ts';
import type { AuditModels } from '../../bot/store/audit-model.ts';
import { ChainWriter } from './chain-writer.ts';
import { writeCheckpoint } from './checkpoints.ts';
import { ChainLease } from './lease.ts';

export interface AuditWorkerOptions {
  redisUrl: string;
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

/** Non-blocking fetches sent together when filling a batch. */
const FETCH_PARALLELISM = 64;

export async function startAuditWorker(opts: AuditWorkerOptions): Promise<RunningAuditWorker> {
  const { settings, logger } = opts;
  const leaseRedis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  leaseRedis.on('error', () => undefined); // the worker's own connection reports outages
  const lease = new ChainLease(leaseRedis, `${opts.prefix}:${AUDIT_QUEUE}:chain-writer`, settings.leaseMs);
  const workerRedis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  workerRedis.on('error', () => undefined); // reported through the worker's 'error' event
  const worker = new Worker<AuditJobData>(AUDIT_QUEUE, null, {
    connection: workerRedis,
    prefix: opts.prefix,
    autorun: false,
    lockDuration: settings.lockMs,
    stalledInterval: settings.stalledMs,
    maxStalledCount: Number.MAX_SAFE_INTEGER,
    drainDelay: 1, // seconds a blocking fetch waits, so shutdown and lease checks stay prompt
    removeOnComplete: { count: 1000 },
  });
  worker.on('error', (err) => logger.warn({ err: { name: err.name, code: (err as { code?: unknown }).code } }, 'audit worker: queue error'));
  await worker.waitUntilReady();
  await worker.startStalledCheckTimer();

  const writer = new ChainWriter(opts.models, opts.signingKey, opts.clock, settings.lateSeconds * 1000);
  let stopping = false;
  let acknowledging: Promise<void> = Promise.resolve();
  let holding = false;
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

  async function fetchBatch(token: string): Promise<AuditJob[]> {
    const first = await worker.getNextJob(token, { block: true });
    if (!first) return [];
    const jobs: AuditJob[] = [first];
    // The rest without blocking, many requests in flight at once (pipelined on one connection: one
    // round trip per round instead of one per job). A round that comes back short means the queue is empty.
    while (jobs.length < settings.batchSize) {
      const want = Math.min(FETCH_PARALLELISM, settings.batchSize - jobs.length);
      const round = await Promise.all(Array.from({ length: want }, () => worker.getNextJob(token, { block: false })));
      const got = round.filter((j): j is AuditJob => j !== undefined);
      jobs.push(...got);
      if (got.length < want) break;
    }
    return jobs;
  }

  /** Keeps the jobs' locks alive while the batch is being stored (slow or unavailable database). */
  function keepLocks(jobs: AuditJob[], token: string): () => void {
    const timer = setInterval(() => {
      for (const job of jobs) job.extendLock(token, settings.lockMs).catch(() => undefined);
    }, Math.max(50, Math.floor(settings.lockMs / 3)));
    return () => clearInterval(timer);
  }

  async function storeBatch(jobs: AuditJob[], token: string): Promise<void> {
    const valid: { job: AuditJob; event: AuditEventInput }[] = [];
    for (const job of jobs) {
      try {
        valid.push({ job, event: parseAuditEvent(job.data.event) });
      } catch (err) {
        // Cannot happen with our producer (it validates); kept visible in "failed", never in the chain.
        const problems = isCustosError(err) ? err.details.problems : undefined;
        logger.error({ jobId: job.id, problems }, 'audit worker: invalid audit job rejected');
        await job.moveToFailed(new Error('invalid audit event'), token, false).catch(() => undefined);
      }
    }
    if (valid.length === 0) return;
    const stopKeeping = keepLocks(valid.map((v) => v.job), token);
    try {
      for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
        try {
          const result = await writer.write(valid.map((v) => v.event));
          sinceCheckpoint += result.stored;
          logger.debug({ stored: result.stored, duplicates: result.duplicates, lastSeq: result.lastSeq }, 'audit worker: batch stored');
          break;
        } catch (err) {
          logger.warn({ err: { name: (err as Error).name, code: (err as { code?: unknown }).code } }, 'audit worker: storing batch failed; retrying');
          // On shutdown, leave the jobs locked-but-unfinished: once their lock lapses, another worker takes them.
          if (stopping) return;
          await sleep(delay);
        }
      }
    } finally {
      stopKeeping();
    }
    // Stored durably: now, and only now, acknowledge. A lost lock just means another worker re-runs the
    // job and finds the eventId stored. The acknowledgements run while the next batch is fetched and
    // stored (at most one batch of them in flight), so Redis and MongoDB work overlap.
    await acknowledging;
    acknowledging = Promise.all(valid.map(({ job }) => job.moveToCompleted('stored', token, false).catch(() => undefined))).then(() => undefined);
  }

  async function maybeCheckpoint(atShutdown: boolean): Promise<void> {
    const due = sinceCheckpoint >= settings.checkpointEvery
      || opts.clock.now().getTime() - lastCheckpointAt >= settings.checkpointSeconds * 1000;
    if (!atShutdown && !due) return;
    // Timed checkpoints are written even without new events (a heartbeat: silence ≠ outage); the one at
    // shutdown only when the chain moved on since the latest checkpoint.
    const cp = await writeCheckpoint(opts.models, opts.signingKey, opts.clock, atShutdown);
    sinceCheckpoint = 0;
    lastCheckpointAt = opts.clock.now().getTime();
    if (cp) logger.info({ n: cp.n, lastSeq: cp.lastSeq }, 'audit worker: checkpoint written');
  }

  async function loop(): Promise<void> {
    while (!stopping) {
      try {
        if (!(await acquire())) { await sleep(Math.max(50, Math.floor(settings.leaseMs / 4))); continue; }
        const token = randomUUID();
        const t0 = performance.now();
        const jobs = await fetchBatch(token);
        const t1 = performance.now();
        if (jobs.length > 0) await storeBatch(jobs, token);
        if (jobs.length > 0) logger.debug({ jobs: jobs.length, fetchMs: Math.round(t1 - t0), storeMs: Math.round(performance.now() - t1) }, 'audit worker: batch timings');
        if (holding) await maybeCheckpoint(false);
      } catch (err) {
        logger.warn({ err: { name: (err as Error).name, code: (err as { code?: unknown }).code } }, 'audit worker: loop error; retrying');
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
      const finished = await Promise.race([running.then(() => true), sleep(timeoutMs).then(() => false)]);
      if (!finished) logger.warn('audit worker: batch still in flight at shutdown; its jobs will be recovered by another worker');
      clearInterval(renewTimer);
      if (finished && holding) {
        await maybeCheckpoint(true).catch((err: Error) => logger.warn({ err: { name: err.name } }, 'audit worker: final checkpoint failed'));
        await lease.release().catch(() => undefined);
      }
      await Promise.race([worker.close(!finished), sleep(timeoutMs)]);
      leaseRedis.disconnect();
      workerRedis.disconnect();
      logger.info('audit worker stopped');
    },
  };
}
