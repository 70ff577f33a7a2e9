// The approval sweeper: reminders, escalation, request expiry and grant-expiry notices, all driven by
// the injected clock. A BullMQ job scheduler runs a sweep every `everyMs`, and the bot adds a delayed
// "wake" job for each due time (bot/queue/approval-queues.ts) so notices are not a period late. Every
// sweep is idempotent (each notice is claimed once in MongoDB), so overlapping sweeps and restarts
// cannot double-notify; all state is in MongoDB, so nothing is lost across a restart.
import type { RedisTarget } from '../../bot/store/redis-client.ts';
import type { ApprovalService } from '../../bot/core/approvals/service.ts';
import type { Logger } from '../../bot/logger.ts';
import { SWEEP_QUEUE } from '../../bot/queue/approval-queues.ts';
import { startScheduledWorker, type RunningScheduledWorker } from '../scheduled.ts';

export type RunningSweeper = RunningScheduledWorker;

export function startSweeper(opts: {
  redis: RedisTarget; prefix: string; approvals: ApprovalService; logger: Logger; everyMs?: number;
  /** Approved exports that never started, offered again (workers/export/reoffer.ts). */
  reofferExports?: () => Promise<{ added: number; retried: number }>;
}): Promise<RunningSweeper> {
  return startScheduledWorker({
    redis: opts.redis, prefix: opts.prefix, queue: SWEEP_QUEUE, logger: opts.logger, errorMessage: 'approval sweeper error',
    // The bot's wake-ups (bot/queue/approval-queues.ts) land on the same queue and run the same sweep.
    schedules: [{ id: 'approval-sweep', repeat: { every: opts.everyMs ?? 60_000 }, jobName: 'sweep' }],
    async handle() {
      const counts = await opts.approvals.sweep();
      if (counts.reminded + counts.escalated + counts.expired + counts.grantsExpired > 0) opts.logger.info(counts, 'approval sweep');
      const reoffered = (await opts.reofferExports?.()) ?? { added: 0, retried: 0 };
      if (reoffered.added + reoffered.retried > 0) opts.logger.warn(reoffered, 'approved exports that never started offered again');
      return { ...counts, exportsReoffered: reoffered.added + reoffered.retried };
    },
  });
}
