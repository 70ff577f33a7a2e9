// The sync worker: per pulled source, two BullMQ job schedulers on one queue — `run:<source>` every
// CUSTOS_SYNC_INTERVAL (changes since the stored cursor) and `reconcile:<source>` every
// CUSTOS_SYNC_RECONCILE_INTERVAL. Both are safe to repeat or overlap: the cursor moves by compare-and-swap
// only after a page is stored, and every write is an idempotent upsert or deletion. Push-only sources
// have nothing to pull and get no schedule. A failing run is logged by source and error code only.
// Two jobs at once: a reconciliation re-reads every record and takes minutes on a large source; with one
// job at a time the incremental runs (and their deletions) waited behind it, and a worker killed mid-
// reconciliation restarted it from the beginning ahead of them (test/sync-worker-crash.test.ts).
import type { Job } from 'bullmq';
import type { RedisTarget } from '../../bot/store/redis-client.ts';
import { isCustosError } from '../../bot/core/errors.ts';
import type { Logger } from '../../bot/logger.ts';
import type { SyncRunner } from '../../bot/sync/runner.ts';
import type { SyncLagWatch } from '../../bot/sync/lag-watch.ts';
import { startScheduledWorker, type RunningScheduledWorker } from '../scheduled.ts';

export const SYNC_QUEUE = 'crm-sync';

export interface SyncWorkerOptions {
  redis: RedisTarget;
  prefix: string;
  /** The runners of the sources to pull (push-only sources excluded). */
  runners: Map<string, SyncRunner>;
  intervalMs: number;
  reconcileMs: number;
  logger: Logger;
  /** Checked after every run, good or failed (bot/sync/lag-watch.ts). */
  lagWatch?: Pick<SyncLagWatch, 'check'> | null;
}

const retention = { removeOnComplete: { age: 24 * 3600, count: 50 }, removeOnFail: { age: 7 * 24 * 3600, count: 200 } };

export function startSyncWorker(opts: SyncWorkerOptions): Promise<RunningScheduledWorker> {
  const schedules = [...opts.runners.keys()].flatMap((source) => [
    { id: `sync-run:${source}`, repeat: { every: opts.intervalMs }, jobName: `run:${source}`, jobOpts: retention },
    { id: `sync-reconcile:${source}`, repeat: { every: opts.reconcileMs }, jobName: `reconcile:${source}`, jobOpts: retention },
  ]);
  return startScheduledWorker({
    redis: opts.redis, prefix: opts.prefix, queue: SYNC_QUEUE, logger: opts.logger, errorMessage: 'sync worker error', schedules, concurrency: 2,
    async handle(job: Job) {
      const [kind, source] = job.name.split(':') as [string, string];
      const runner = opts.runners.get(source);
      if (!runner) return { skipped: source };
      try {
        const r = kind === 'reconcile' ? await runner.reconcile() : await runner.run();
        const counts = { source, upserted: r.upserted, deleted: r.deleted, rejected: r.rejected, pages: r.pages };
        if (r.upserted + r.deleted + r.rejected > 0) opts.logger.info(counts, `sync ${kind}`);
        return counts;
      } catch (err) {
        opts.logger.warn({ source, code: isCustosError(err) ? err.code : 'error' }, `sync ${kind} failed; the cursor stays where it was`);
        throw err;
      } finally {
        await opts.lagWatch?.check(source).catch(() => undefined);
      }
    },
  });
}
