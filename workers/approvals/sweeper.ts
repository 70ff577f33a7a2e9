// The approval sweeper: reminders, escalation, request expiry and grant-expiry notices, all driven by
// the injected clock. A BullMQ job scheduler runs a sweep every `everyMs`, and the bot adds a delayed
// "wake" job for each due time (bot/queue/approval-queues.ts) so notices are not a period late. Every
// sweep is idempotent (each notice is claimed once in MongoDB), so overlapping sweeps and restarts
// cannot double-notify; all state is in MongoDB, so nothing is lost across a restart.
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { ApprovalService } from '../../bot/core/approvals/service.ts';
import type { Logger } from '../../bot/logger.ts';
import { SWEEP_QUEUE } from '../../bot/queue/approval-queues.ts';
import { Queue } from 'bullmq';

export interface RunningSweeper { close(): Promise<void> }

export async function startSweeper(opts: { redisUrl: string; prefix: string; approvals: ApprovalService; logger: Logger; everyMs?: number }): Promise<RunningSweeper> {
  const connection = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  connection.on('error', () => undefined);
  const queue = new Queue(SWEEP_QUEUE, { connection, prefix: opts.prefix });
  await queue.upsertJobScheduler('approval-sweep', { every: opts.everyMs ?? 60_000 }, { name: 'sweep', data: {} });
  const workerConnection = connection.duplicate({ maxRetriesPerRequest: null });
  workerConnection.on('error', () => undefined);
  const worker = new Worker(SWEEP_QUEUE, async () => {
    const counts = await opts.approvals.sweep();
    if (counts.reminded + counts.escalated + counts.expired + counts.grantsExpired > 0) opts.logger.info(counts, 'approval sweep');
    return counts;
  }, { connection: workerConnection, prefix: opts.prefix, concurrency: 1 });
  worker.on('error', (err) => opts.logger.warn({ err: { name: err.name } }, 'approval sweeper error'));
  return {
    async close() {
      await worker.close();
      await queue.close();
      workerConnection.disconnect();
      connection.disconnect();
    },
  };
}
