// The access-review worker: two BullMQ job schedulers on one queue. `access-review-cycle` opens a
// review cycle on the configured cron pattern (CUSTOS_REVIEW_SCHEDULE, CUSTOS_REVIEW_TZ);
// `access-review-sweep` runs every CUSTOS_REVIEW_SWEEP_MINUTES for follow-ups, escalations and closing.
// Both are idempotent in MongoDB (the core claims every step once), so redelivered or overlapping jobs,
// several worker replicas and restarts are harmless. The queue, schedulers and worker are set up by
// workers/scheduled.ts, like the approval sweeper's.
import type { RedisTarget } from '../../bot/store/redis-client.ts';
import type { ReviewSettings } from '../../bot/config.ts';
import type { AccessReviewService } from '../../bot/core/reviews/service.ts';
import type { Logger } from '../../bot/logger.ts';
import { startScheduledWorker, type RunningScheduledWorker } from '../scheduled.ts';

export const REVIEW_QUEUE = 'access-review';
export const CYCLE_SCHEDULER = 'access-review-cycle';
export const SWEEP_SCHEDULER = 'access-review-sweep';
export type ReviewJobName = 'cycle' | 'sweep';

export type RunningReviewWorker = RunningScheduledWorker;

export function startReviewWorker(opts: { redis: RedisTarget; prefix: string; settings: ReviewSettings; reviews: AccessReviewService; logger: Logger }): Promise<RunningReviewWorker> {
  const retention = { removeOnComplete: { age: 7 * 24 * 3600, count: 100 }, removeOnFail: { age: 30 * 24 * 3600 } };
  return startScheduledWorker({
    redis: opts.redis, prefix: opts.prefix, queue: REVIEW_QUEUE, logger: opts.logger, errorMessage: 'access review worker error',
    schedules: [
      { id: CYCLE_SCHEDULER, repeat: { pattern: opts.settings.schedule.pattern, tz: opts.settings.schedule.tz }, jobName: 'cycle', jobOpts: retention },
      { id: SWEEP_SCHEDULER, repeat: { every: opts.settings.sweepMinutes * 60_000 }, jobName: 'sweep', jobOpts: retention },
    ],
    async handle(job) {
      if (job.name === 'cycle') {
        const opened = await opts.reviews.openCycle();
        opts.logger.info(opened, 'access review cycle opened');
        return opened;
      }
      const counts = await opts.reviews.sweep();
      if (counts.followedUp + counts.escalated + counts.closed > 0) opts.logger.info(counts, 'access review sweep');
      return counts;
    },
  });
}
