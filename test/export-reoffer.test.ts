// The export sweep (workers/export/reoffer.ts) on real Redis and the MongoDB-wire server: an approved
// export whose job went missing (its enqueue failed, or a Redis primary died before replicating it) is
// added again, one whose attempts all failed for an outage is retried, and so is one left `running` by a
// worker that died or an audit outage; a refused, queued-and-running, delivered,
// too fresh or too old export, and an approval that is not an export, are left alone. Found by the
// cluster drill: an export approved during a primary kill never delivered its file.
import test from 'ava';
import { Queue, Worker } from 'bullmq';
import type { AccessRequest } from '../bot/core/approvals/types.ts';
import { EXPORT_QUEUE } from '../bot/queue/approval-queues.ts';
import { ExportStore } from '../bot/store/export-store.ts';
import { MongoRequestStore } from '../bot/store/request-store.ts';
import { ExportRefused } from '../workers/export/job.ts';
import { reofferStalledExports } from '../workers/export/reoffer.ts';
import { dropPrefix, testDatabase, testRedis, uniqueName } from './helpers/services.ts';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const MINUTE = 60_000;

function approved(n: number, kind: AccessRequest['kind'], decidedAgoMs: number): { request: AccessRequest; decidedAt: Date; exportId?: string } {
  const at = new Date(NOW - decidedAgoMs - MINUTE);
  const requestId = `R-EXPORT${String(n).padStart(4, '0')}`;
  return {
    request: {
      requestId, kind, requesterId: 'E-1001', customerIds: ['C-000101'], groups: ['contact'], fields: ['name'], purpose: 'drill', durationMinutes: 1440,
      parts: [], ruleIds: [], status: 'pending', createdAt: at, remindAt: at, escalateAt: at, expiresAt: new Date(at.getTime() + 86_400_000), cards: [],
    },
    decidedAt: new Date(NOW - decidedAgoMs),
    ...(kind === 'export' ? { exportId: `X-EXPORT${String(n).padStart(4, '0')}` } : {}),
  };
}

test('approved exports that never started, or were left running with no live job, are offered again; refused, working, delivered, fresh and old ones are not', async (t) => {
  const db = await testDatabase(import.meta.url);
  const prefix = uniqueName(import.meta.url, 'prefix');
  const connection = testRedis({ maxRetriesPerRequest: null });
  const queue = new Queue(EXPORT_QUEUE, { connection, prefix });
  t.teardown(async () => { await queue.close(); connection.disconnect(); await dropPrefix(prefix); await db.drop(); });
  const requests = new MongoRequestStore(db.conn);
  await requests.ensureIndexes();
  const exports = new ExportStore(db.conn);
  await exports.ensureIndexes();

  const cases = {
    lost: approved(1, 'export', 5 * MINUTE), // approved, no job, no record
    outage: approved(2, 'export', 5 * MINUTE), // every attempt failed while Redis failed over
    refused: approved(3, 'export', 5 * MINUTE), // the worker refused it (final)
    delivered: approved(4, 'export', 5 * MINUTE),
    fresh: approved(5, 'export', 10_000), // the approval path's own enqueue may still be on its way
    old: approved(6, 'export', 3 * 24 * 60 * MINUTE), // past the longest export window
    access: approved(7, 'access', 5 * MINUTE),
    stranded: approved(8, 'export', 5 * MINUTE), // record running, its job failed (worker killed, audit refused)
    orphan: approved(9, 'export', 5 * MINUTE), // record running, its job gone with a Redis primary
    working: approved(10, 'export', 5 * MINUTE), // record running, its job still queued: left to it
  };
  for (const c of Object.values(cases)) {
    await requests.create(c.request);
    await requests.update(c.request.requestId, { status: 'approved', decidedBy: ['E-2001'], decidedAt: c.decidedAt, ...(c.exportId ? { exportId: c.exportId } : {}) });
  }
  await exports.claim({ exportId: cases.delivered.exportId!, requestId: cases.delivered.request.requestId, employeeId: 'E-1001', tagId: 't', canaryId: '', status: 'completed', createdAt: new Date(NOW) });
  for (const c of [cases.stranded, cases.orphan, cases.working]) {
    await exports.claim({ exportId: c.exportId!, requestId: c.request.requestId, employeeId: 'E-1001', tagId: 't', canaryId: '', status: 'running', createdAt: new Date(NOW) });
  }

  // Jobs that failed: for an outage (twice), refused (as workers/export/job.ts throws).
  for (const c of [cases.outage, cases.refused, cases.stranded]) await queue.add('export', { requestId: c.request.requestId, exportId: c.exportId }, { jobId: c.exportId, attempts: 1 });
  const workerConnection = testRedis({ maxRetriesPerRequest: null });
  const worker = new Worker(EXPORT_QUEUE, async (job) => {
    throw job.id === cases.refused.exportId ? new ExportRefused('requester_inactive') : new Error('Connection is closed.');
  }, { connection: workerConnection, prefix });
  await until(async () => (await queue.getFailedCount()) === 3);
  await worker.close();
  workerConnection.disconnect();
  await queue.add('export', { requestId: cases.working.request.requestId, exportId: cases.working.exportId }, { jobId: cases.working.exportId });

  const deps = { requests, exports, queue, clock: { now: () => new Date(NOW) }, windowMinutes: 1440 };
  t.deepEqual(await reofferStalledExports(deps), { added: 2, retried: 2 });
  t.is(await (await queue.getJob(cases.lost.exportId!))!.getState(), 'waiting', 'the lost export is queued again, under its export id');
  t.is(await (await queue.getJob(cases.outage.exportId!))!.getState(), 'waiting', 'the export that failed for an outage is retried');
  t.is(await (await queue.getJob(cases.refused.exportId!))!.getState(), 'failed', 'a refusal is final');
  t.is(await (await queue.getJob(cases.stranded.exportId!))!.getState(), 'waiting', 'a running export whose job failed is retried');
  t.is(await (await queue.getJob(cases.orphan.exportId!))!.getState(), 'waiting', 'a running export whose job is gone is queued again');
  t.is(await queue.getWaitingCount(), 5, 'the working export keeps its one job: nothing added beside it');
  for (const c of [cases.delivered, cases.fresh, cases.old]) t.is(await queue.getJob(c.exportId!), undefined, `${c.exportId} is left alone`);
  t.deepEqual(await reofferStalledExports(deps), { added: 0, retried: 0 }, 'a second sweep finds them queued: nothing twice');
});

async function until(cond: () => Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 50));
}
