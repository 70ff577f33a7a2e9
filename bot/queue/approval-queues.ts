// BullMQ producers of the approval flow: approved exports (job = ids only, no customer data) and
// wake-ups for the approval sweeper (a delayed job per due time; the sweeper also runs periodically,
// so a lost wake-up only delays a reminder until the next period). The delay is measured on the injected
// clock, the same clock the due times come from: mixing it with the real clock would fire a wake-up at
// once (or never) whenever the two disagree.
import { Queue } from 'bullmq';
import { createRedis, type RedisTarget } from '../store/redis-client.ts';
import type { ExportQueue, WakeUps } from '../core/approvals/service.ts';
import type { Clock } from '../core/ports.ts';

export const EXPORT_QUEUE = 'exports';
export const SWEEP_QUEUE = 'approval-sweep';
/** One job per export id (so offering it again is a no-op while BullMQ keeps it), three attempts. */
export const EXPORT_JOB_OPTIONS = { attempts: 3, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: 1000, removeOnFail: 1000 } as const;

export interface ApprovalQueues {
  exports: ExportQueue;
  /** The export queue itself, for the worker's sweep that offers stalled exports again (workers/export/reoffer.ts). */
  exportJobs: Queue;
  wakeUps: WakeUps;
  close(): Promise<void>;
}

export function approvalQueues(redis: RedisTarget, prefix: string, clock: Clock): ApprovalQueues {
  const connection = createRedis(redis, { maxRetriesPerRequest: null });
  connection.on('error', () => undefined); // surfaced by the failing enqueue itself
  const exportQueue = new Queue(EXPORT_QUEUE, { connection, prefix });
  const sweepQueue = new Queue(SWEEP_QUEUE, { connection, prefix });
  return {
    exportJobs: exportQueue,
    exports: {
      async enqueue(job) {
        await exportQueue.add('export', job, { jobId: job.exportId, ...EXPORT_JOB_OPTIONS });
      },
    },
    wakeUps: {
      async at(when) {
        // One job per minute is enough: the sweep handles everything due at once.
        const minute = Math.ceil(when.getTime() / 60_000);
        await sweepQueue.add('wake', {}, { jobId: `wake-${minute}`, delay: Math.max(0, minute * 60_000 - clock.now().getTime()), removeOnComplete: 100, removeOnFail: 100 });
      },
    },
    async close() { await Promise.all([exportQueue.close(), sweepQueue.close()]); connection.disconnect(); },
  };
}
