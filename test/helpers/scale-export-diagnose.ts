// What the scale drills print when an approved export's file does not come: the request and export
// records in MongoDB, the export job's BullMQ state, the export and sweep queues' counts, and the sweep
// scheduler's next job with its state. That tells "never queued", "queued, no worker took it" (a worker
// wedged after the failover), "failed", and "the sweep's schedule lost" apart.
import { Queue } from 'bullmq';
import type { Connection } from 'mongoose';
import { loadConfig, section } from '../../bot/config.ts';
import { EXPORT_QUEUE, SWEEP_QUEUE } from '../../bot/queue/approval-queues.ts';
import { createRedis } from '../../bot/store/redis-client.ts';

export async function diagnoseExport(env: NodeJS.ProcessEnv, db: Connection, requestId: string): Promise<string> {
  const redis = section(loadConfig(env, { require: ['redis'] }), 'redis');
  const connection = createRedis(redis, { maxRetriesPerRequest: 1 });
  connection.on('error', () => undefined);
  const queue = (name: string) => new Queue(name, { connection, prefix: redis.queuePrefix });
  const [exports, sweeps] = [queue(EXPORT_QUEUE), queue(SWEEP_QUEUE)];
  try {
    const request = await db.collection('access_requests').findOne({ requestId }, { projection: { status: 1, exportId: 1, decidedAt: 1 } });
    const exportId = typeof request?.exportId === 'string' ? request.exportId : undefined;
    const record = exportId ? await db.collection('exports').findOne({ exportId }, { projection: { status: 1, createdAt: 1 } }) : null;
    const job = exportId ? await exports.getJob(exportId) : undefined;
    const scheduler = await sweeps.getJobScheduler('approval-sweep');
    const next = scheduler?.next !== undefined ? await sweeps.getJob(`repeat:approval-sweep:${scheduler.next}`) : undefined;
    return JSON.stringify({
      request, record,
      job: job ? { state: await job.getState(), attempts: job.attemptsMade, failedReason: job.failedReason, processedOn: job.processedOn } : null,
      exportQueue: await exports.getJobCounts(),
      sweep: { next: scheduler?.next ?? null, nextJob: next ? await next.getState() : null, counts: await sweeps.getJobCounts() },
      workers: { exports: (await exports.getWorkers()).length, sweeps: (await sweeps.getWorkers()).length },
    });
  } catch (err) {
    return `diagnosis failed: ${(err as Error).name}`;
  } finally {
    await exports.close().catch(() => undefined);
    await sweeps.close().catch(() => undefined);
    connection.disconnect();
  }
}
