// Approved exports that never started are offered to the export worker again. The approval path
// enqueues the job after the decision is stored; that enqueue can fail (Redis failing over), or the job
// can vanish with a Redis primary killed before it replicated, or every attempt can fail during an
// outage, or its worker can die mid-run. Found by the scale drills: the export was approved and its file
// never came. The sweep runs
// with the approval sweeper; it re-adds a missing job and retries one that failed for a reason other
// than a refusal (a refusal is final: the request is no longer exportable). Running it twice is harmless:
// the job id is the export id, and a job whose export completed returns at once (job.ts).
import type { Queue } from 'bullmq';
import type { RequestStore } from '../../bot/core/approvals/types.ts';
import type { Clock } from '../../bot/core/ports.ts';
import { EXPORT_JOB_OPTIONS } from '../../bot/queue/approval-queues.ts';
import type { ExportStore } from '../../bot/store/export-store.ts';
import { ExportRefused } from './job.ts';

/** How long an approved export may go without starting before it is offered again. */
export const EXPORT_STALL_MS = 60_000;

export interface ExportReofferDeps {
  requests: Pick<RequestStore, 'approvedExports'>;
  exports: Pick<ExportStore, 'byId'>;
  queue: Pick<Queue, 'getJob' | 'add'>;
  clock: Clock;
  /** Exports are looked for back to this many minutes (the longest an export may be approved for). */
  windowMinutes: number;
}

export async function reofferStalledExports(deps: ExportReofferDeps): Promise<{ added: number; retried: number }> {
  const now = deps.clock.now().getTime();
  const candidates = await deps.requests.approvedExports(new Date(now - deps.windowMinutes * 60_000), new Date(now - EXPORT_STALL_MS));
  const counts = { added: 0, retried: 0 };
  for (const request of candidates) {
    const exportId = request.exportId!;
    const record = await deps.exports.byId(exportId);
    if (record?.status === 'completed') continue; // delivered
    // A record still `running` is the job's to finish while the job lives; a job that is gone (its Redis
    // primary died) or failed (its worker killed, or every attempt refused by an audit outage) leaves
    // nobody to finish it: a re-run takes the same record over (job.ts).
    const job = await deps.queue.getJob(exportId);
    if (!job) {
      await deps.queue.add('export', { requestId: request.requestId, exportId }, { jobId: exportId, ...EXPORT_JOB_OPTIONS });
      counts.added++;
    } else if ((await job.getState()) === 'failed' && !job.failedReason?.startsWith(REFUSED)) {
      await job.retry('failed');
      counts.retried++;
    }
  }
  return counts;
}

const REFUSED = new ExportRefused('').message;
