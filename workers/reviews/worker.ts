// The access-review worker: two BullMQ job schedulers on one queue. `access-review-cycle` opens a
// review cycle on the configured cron pattern (CUSTOS_REVIEW_SCHEDULE, CUSTOS_REVIEW_TZ);
// `access-review-sweep` runs every CUSTOS_REVIEW_SWEEP_MINUTES for follow-ups, escalations and closing.
// Both are idempotent in MongoDB (the core claims every step once), so redelivered or overlapping jobs,
// several worker replicas and restarts are harmless. Upserting a scheduler is idempotent too, so every
// boot re-applies the configured schedule (a changed pattern replaces the old one).
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { ReviewSettings } from '../../bot/config.ts';
import type { AccessReviewService } from '../../bot/core/reviews/service.ts';
import type { Logger } from '../../bot/logger.ts';

export const REVIEW_QUEUE = 'access-review';
export const CYCLE_SCHEDULER = 'access-review-cycle';
export const SWEEP_SCHEDULER = 'access-review-sweep';
export type ReviewJobName = 'cycle' | 'sweep';

export interface RunningReviewWorker { close(): Promise<void> }

export async function startReviewWorker(opts: { redisUrl: string; prefix: string; settings: ReviewSettings; reviews: AccessReviewService; logger: Logger }): Promise<RunningReviewWorker> {
  const connection = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  connection.on('error', () => undefined);
  // NameType is `string`: scheduler ids are not job names (libraries.md §3.4, typing gotcha).
  const queue = new Queue<Record<string, never>, unknown, string>(REVIEW_QUEUE, { connection, prefix: opts.prefix });
  const retention = { removeOnComplete: { age: 7 * 24 * 3600, count: 100 }, removeOnFail: { age: 30 * 24 * 3600 } };
  await queue.upsertJobScheduler(CYCLE_SCHEDULER, { pattern: opts.settings.schedule.pattern, tz: opts.settings.schedule.tz }, { name: 'cycle', data: {}, opts: retention });
  await queue.upsertJobScheduler(SWEEP_SCHEDULER, { every: opts.settings.sweepMinutes * 60_000 }, { name: 'sweep', data: {}, opts: retention });
  const workerConnection = connection.duplicate({ maxRetriesPerRequest: null });
  workerConnection.on('error', () => undefined);
  const worker = new Worker(REVIEW_QUEUE, async (job) => {
    if (job.name === 'cycle') {
      const opened = await opts.reviews.openCycle();
      opts.logger.info(opened, 'access review cycle opened');
      return opened;
    }
    const counts = await opts.reviews.sweep();
    if (counts.followedUp + counts.escalated + counts.closed > 0) opts.logger.info(counts, 'access review sweep');
    return counts;
  }, { connection: workerConnection, prefix: opts.prefix, concurrency: 1 });
  worker.on('error', (err) => opts.logger.warn({ err: { name: err.name } }, 'access review worker error'));
  return {
    async close() {
      await worker.close();
      await queue.close();
      workerConnection.disconnect();
      connection.disconnect();
    },
  };
}
