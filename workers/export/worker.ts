// The export worker: BullMQ jobs from the bot (`exports` queue, ids only), one export at a time per
// worker (exports are I/O heavy; run more workers to go wider). Failed jobs retry with backoff; a retry
// after delivery is a no-op (the export id is claimed once, see job.ts). Supervised: a worker that stops
// taking jobs (seen after Redis failovers) is replaced (workers/supervised-worker.ts).
import { Worker } from 'bullmq';
import type { RedisTarget } from '../../bot/store/redis-client.ts';
import type { Logger } from '../../bot/logger.ts';
import { EXPORT_QUEUE } from '../../bot/queue/approval-queues.ts';
import { superviseWorker } from '../supervised-worker.ts';
import { performExport, type ExportJobDeps } from './job.ts';

export interface RunningExportWorker { close(): Promise<void> }

export function startExportWorker(opts: { redis: RedisTarget; prefix: string; deps: ExportJobDeps; logger: Logger }): RunningExportWorker {
  return superviseWorker({
    queue: EXPORT_QUEUE, redis: opts.redis, prefix: opts.prefix, logger: opts.logger,
    make: (connection) => {
      const worker = new Worker<{ requestId: string; exportId: string }>(EXPORT_QUEUE, async (job) => {
        const result = await performExport(opts.deps, job.data);
        opts.logger.info({ exportId: job.data.exportId, rows: result?.rows ?? 0 }, 'export delivered');
      }, { connection, prefix: opts.prefix, concurrency: 1 });
      worker.on('failed', (job, err) => opts.logger.warn({ exportId: job?.data.exportId, err: { type: err.name, message: err instanceof Error && err.name === 'Error' ? err.message : undefined } }, 'export failed'));
      worker.on('error', () => undefined);
      return worker;
    },
  });
}
