// The archive's crash safety as a model test: generated histories of archive runs, each one crashing
// (an injected failure) before a generated removal chunk or not at all, with live events appended
// between runs. After EVERY run: the live log verifies, nothing outside the range was removed, the
// archive record is either absent (nothing removed) or names the range; the first run that is not
// interrupted finishes the archive, after which the range is gone and exactly one audit.archive
// event names it. The recorder is the real chain writer (no queue: each history starts a fresh chain).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { newEventId, parseAuditEvent } from '../bot/core/audit-event.ts';
import type { AuditEventInput, AuditRecorder } from '../bot/core/audit.ts';
import { systemClock } from '../bot/core/ports.ts';
import { checkBundleFile } from '../bot/store/audit-archive-file.ts';
import { ArchiveRecords, AUDIT_ARCHIVES_COLLECTION } from '../bot/store/audit-archive-store.ts';
import { AuditArchiver } from '../bot/store/audit-archiver.ts';
import { verifyStoredChain } from '../bot/store/audit-chain-check.ts';
import { auditModels, type AuditModels } from '../bot/store/audit-model.ts';
import { readTail } from '../bot/store/audit-store.ts';
import { ChainWriter } from '../workers/audit/chain-writer.ts';
import { writeCheckpoint } from '../workers/audit/checkpoints.ts';
import { buildAuditLog } from './helpers/audit-log-fixture.ts';
import { randomKey, testDatabase } from './helpers/services.ts';

const DAY = 86_400_000;
const OLD = 30; // events in the archivable range (checkpoint #1 at seq 30)
const db = await testDatabase(import.meta.url);
const key = Buffer.from(randomKey(), 'base64');
let models: AuditModels;
let dir: string;

test.before(async () => {
  models = await auditModels(db.conn);
  dir = await mkdtemp(path.join(tmpdir(), 'custos-archive-model-'));
});
test.after.always(() => db.drop());

async function freshChain(): Promise<ChainWriter> {
  for (const c of ['audit_events', 'audit_checkpoints', AUDIT_ARCHIVES_COLLECTION, 'audit_meta']) await db.conn.db!.collection(c).deleteMany({});
  const common = { actors: ['E-0001', 'E-0002'], customers: 20, signingKey: key };
  await buildAuditLog(models, { ...common, seed: 'old', end: new Date(Date.now() - 1300 * DAY), spanDays: 30, events: OLD });
  await writeCheckpoint(models, key, systemClock, { onlyIfAdvanced: true });
  await buildAuditLog(models, { ...common, seed: 'new', end: new Date(Date.now() - DAY), spanDays: 1, events: 10 }, await readTail(models));
  return new ChainWriter(models, key, systemClock, 60_000);
}

const heartbeat = (): AuditEventInput => ({
  v: 1, eventId: newEventId(new Date()), occurredAt: new Date().toISOString(), actor: { employeeId: null, platform: 'system' },
  channelKind: 'none', action: 'heartbeat', customerIds: [], fields: [], decision: 'allowed', ruleIds: [],
});

const run = fc.record({ crashAtChunk: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }), appendAfter: fc.integer({ min: 0, max: 3 }) });

test('archive runs interrupted at generated points: the log verifies after every run, and the first whole run finishes', async (t) => {
  await fc.assert(fc.asyncProperty(fc.array(run, { minLength: 1, maxLength: 4 }), async (runs) => {
    const writer = await freshChain();
    const recorder: AuditRecorder = { record: async (e) => { await writer.write([parseAuditEvent(e)]); } };
    const records = new ArchiveRecords(db.conn.db!);
    let finished = false;
    for (const r of [...runs, { crashAtChunk: undefined, appendAfter: 0 }]) {
      let chunk = 0;
      const archiver = new AuditArchiver({
        models, signingKey: key, recorder, clock: systemClock, retentionDays: 1095, dir, chunk: 10,
        beforeRemove: async () => { if (chunk++ === r.crashAtChunk) throw new Error('injected crash'); },
      });
      const outcome = await archiver.archive(new Date(Date.now() - 1200 * DAY)).then((o) => o, (err: Error) => err);
      if (outcome instanceof Error && outcome.message !== 'injected crash') throw outcome;
      if (!(outcome instanceof Error) && outcome.kind === 'archived') finished = true;
      if (r.appendAfter > 0) await writer.write(Array.from({ length: r.appendAfter }, heartbeat));
      // Invariants after every run.
      const v = await verifyStoredChain(models, key);
      if (!v.ok) throw new Error(`chain broken after a run: ${JSON.stringify(v.problem)}`);
      const rec = await records.latest();
      const oldLeft = await models.events.countDocuments({ seq: { $lte: OLD } });
      if (!rec && oldLeft !== OLD) throw new Error(`events removed without an archive record: ${OLD - oldLeft}`);
      if (rec && (rec.firstSeq !== 1 || rec.lastSeq !== OLD)) throw new Error(`unexpected range ${rec.firstSeq}-${rec.lastSeq}`);
      if (rec?.state === 'done' && oldLeft !== 0) throw new Error('done but events remain');
      if (await models.events.countDocuments({ seq: { $gt: OLD } }) < 10) throw new Error('events outside the range were removed');
      if (finished) break;
    }
    const rec = await records.latest();
    if (rec?.state !== 'done') throw new Error('the first uninterrupted run did not finish the archive');
    const evs = await models.events.collection.find({ action: 'audit.archive' }).toArray();
    if (evs.length !== 1) throw new Error(`${evs.length} audit.archive events`);
    const bundle = await checkBundleFile(rec.file, key);
    if (!bundle.ok) throw new Error(`bundle: ${bundle.problem}`);
  }), { numRuns: 6 });
  t.pass();
});
