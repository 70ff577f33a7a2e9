// `custos audit archive --before DATE`: moves the audit events older than the retention window out of
// the live collection into a signed bundle, as a resumable sequence of steps:
//   1. plan: the range runs from the previous archive's end to the last signed checkpoint whose
//      records all occurred (and were stored) before DATE; every audit-stream sink must have delivered
//      the whole range already (else refused, naming the sink: it would never receive those events);
//   2. write the bundle (`<file>.partial`, flushed, renamed) and check it as `verify --archive` does;
//   3. insert the signed archive record (state `removing`): from now on verification starts after it;
//   4. record `audit.archive` (range, closing checkpoint, bundle SHA-256; no PII) and wait until the
//      audit queue accepted it: the removal is evidence-first like every other effect;
//   5. remove the range in chunks of single range deletes (FerretDB locks the whole database on big
//      multi-statement writes, README: Decisions); deleting a range twice is harmless;
//   6. mark the record `done`.
// A run that dies anywhere leaves the log verifiable (before 3 nothing was removed; from 3 on, verify
// starts at the record's closing checkpoint, whatever is still there below it is skipped) and the next
// run finishes an unfinished record first: it re-checks the bundle against the recorded hash, records
// the same event again (same event id: stored once) and removes what is left.
import path from 'node:path';
import type { Db } from 'mongodb';
import { GENESIS_HASH, stepEventId, type AuditCheckpoint } from '../core/audit-event.ts';
import type { AuditEventInput, AuditRecorder } from '../core/audit.ts';
import {
  ARCHIVE_FORMAT, LineDigest, checkpointLine, eventLine, headerLine, sealLine, sealSignature, type ArchiveSeal,
} from '../core/audit-archive.ts';
import { streamRecordOf } from '../core/audit-stream-record.ts';
import { CustosError, ErrorCode } from '../core/errors.ts';
import type { Clock } from '../core/ports.ts';
import { BundleWriter, checkBundleFile, fileSha256 } from './audit-archive-file.ts';
import { ArchiveRecords, archiveRecordSignature, type ArchiveRecord } from './audit-archive-store.ts';
import type { AuditModels } from './audit-model.ts';
import { removeStreamBlocksThrough } from './audit-stream-blocks.ts';
import { AUDIT_STREAM_CURSORS_COLLECTION } from './audit-stream-cursors.ts';

const DAY_MS = 86_400_000;
const REMOVE_CHUNK = 500;

export interface ArchiverDeps {
  models: AuditModels;
  signingKey: Buffer;
  recorder: AuditRecorder;
  clock: Clock;
  retentionDays: number;
  /** Directory the bundle is written to (`custos-audit-seq-<first>-<last>.jsonl.gz`). */
  dir: string;
  /** Seqs per delete statement. */
  chunk?: number;
  /** Test seam: runs before each chunk is removed (a crash is simulated by throwing). */
  beforeRemove?: (fromSeq: number, toSeq: number) => Promise<void>;
}

export type ArchiveOutcome =
  | { kind: 'archived'; record: ArchiveRecord; resumed: boolean }
  | { kind: 'nothing'; reason: string };

interface Plan { firstSeq: number; lastSeq: number; closing: AuditCheckpoint; from: AuditCheckpoint | null; prevHash: string }

export class AuditArchiver {
  private readonly records: ArchiveRecords;
  private readonly db: Db;

  constructor(private readonly deps: ArchiverDeps) {
    this.db = deps.models.events.db.db!;
    this.records = new ArchiveRecords(this.db);
  }

  /** The newest `--before` allowed now: the retention window back from the clock. */
  latestBefore(): Date {
    return new Date(this.deps.clock.now().getTime() - this.deps.retentionDays * DAY_MS);
  }

  /** Finishes an unfinished archive first, then archives what lies before `before` (if anything). */
  async archive(before: Date): Promise<ArchiveOutcome> {
    const limit = this.latestBefore();
    if (before.getTime() > limit.getTime()) {
      throw new CustosError(ErrorCode.AuditArchiveRefused, `--before ${before.toISOString()} is inside the retention window: events are kept CUSTOS_AUDIT_RETENTION_DAYS=${this.deps.retentionDays} days, so the latest --before allowed now is ${limit.toISOString()}; nothing was archived`, { retentionDays: this.deps.retentionDays });
    }
    const unfinished = await this.records.unfinished();
    if (unfinished) return { kind: 'archived', record: await this.finish(unfinished), resumed: true };
    const plan = await this.plan(before);
    if ('reason' in plan) return { kind: 'nothing', reason: plan.reason };
    await this.refuseUndelivered(plan.lastSeq);
    const file = path.join(this.deps.dir, `custos-audit-seq-${plan.firstSeq}-${plan.lastSeq}.jsonl.gz`);
    const events = await this.writeBundle(file, plan, before);
    const check = await checkBundleFile(file, this.deps.signingKey);
    if (!check.ok) throw new CustosError(ErrorCode.AuditArchiveInvalid, `the written bundle ${file} does not verify (${check.problem}); nothing was removed`, { file });
    const unsigned = {
      _id: `seq-${plan.firstSeq}-${plan.lastSeq}`, firstSeq: plan.firstSeq, lastSeq: plan.lastSeq, lastHash: plan.closing.lastHash,
      checkpoint: plan.closing.n, events, bundleSha256: await fileSha256(file), file, before, createdAt: this.deps.clock.now(),
      eventId: '',
    };
    unsigned.eventId = stepEventId(`audit.archive:${unsigned._id}:${unsigned.bundleSha256}`);
    const record: ArchiveRecord = { ...unsigned, sig: archiveRecordSignature(this.deps.signingKey, unsigned), state: 'removing' };
    if (!(await this.records.insert(record))) {
      // A rival run got there first: finish its record (the same range), not ours.
      return { kind: 'archived', record: await this.finish((await this.records.get(record._id))!), resumed: true };
    }
    return { kind: 'archived', record: await this.finish(record), resumed: false };
  }

  /** Steps 4-6 for a record: re-check its bundle, record the event, remove, mark done. */
  private async finish(record: ArchiveRecord): Promise<ArchiveRecord> {
    const sha = await fileSha256(record.file).catch(() => null);
    if (sha !== record.bundleSha256) {
      throw new CustosError(ErrorCode.AuditArchiveRefused, `the archive of seq ${record.firstSeq}-${record.lastSeq} was started but its bundle ${record.file} is ${sha ? 'changed' : 'missing'} (expected SHA-256 ${record.bundleSha256}); restore the bundle and run again: nothing more was removed`, { archive: record._id });
    }
    const check = await checkBundleFile(record.file, this.deps.signingKey);
    if (!check.ok) throw new CustosError(ErrorCode.AuditArchiveInvalid, `the bundle ${record.file} does not verify (${check.problem}); nothing more was removed`, { archive: record._id });
    await this.deps.recorder.record(this.event(record));
    const chunk = this.deps.chunk ?? REMOVE_CHUNK;
    for (let from = record.firstSeq; from <= record.lastSeq; from += chunk) {
      const to = Math.min(record.lastSeq, from + chunk - 1);
      await this.deps.beforeRemove?.(from, to);
      await this.deps.models.events.collection.deleteMany({ seq: { $gte: from, $lte: to } });
    }
    await removeStreamBlocksThrough(this.deps.models.events.db.db!, record.lastSeq); // the stream's copies go too
    const removedAt = this.deps.clock.now();
    await this.records.markDone(record._id, removedAt);
    return { ...record, state: 'done', removedAt };
  }

  private event(r: ArchiveRecord): AuditEventInput {
    return {
      v: 1, eventId: r.eventId, occurredAt: this.deps.clock.now().toISOString(),
      actor: { employeeId: null, platform: 'cli' }, channelKind: 'none', action: 'audit.archive',
      customerIds: [], fields: [], decision: 'allowed', ruleIds: [],
      archive: { firstSeq: r.firstSeq, lastSeq: r.lastSeq, checkpoint: r.checkpoint, events: r.events, bundleSha256: r.bundleSha256 },
    };
  }

  /** The range to archive, or why there is none. */
  private async plan(before: Date): Promise<Plan | { reason: string }> {
    const prev = await this.records.latest();
    const afterSeq = prev?.lastSeq ?? 0;
    const events = this.deps.models.events.collection;
    // The first record that is too young (by when it occurred or was stored: a late event counts by
    // the later); everything up to the one before it may go.
    const young = await events.find({ seq: { $gt: afterSeq }, $or: [{ occurredAt: { $gte: before } }, { storedAt: { $gte: before } }] }, { projection: { seq: 1 } })
      .sort({ seq: 1 }).limit(1).next();
    const tail = await events.find({}, { projection: { seq: 1 } }).sort({ seq: -1 }).limit(1).next();
    const upTo = young ? Number(young.seq) - 1 : Number(tail?.seq ?? afterSeq);
    if (upTo <= afterSeq) return { reason: `no events before ${before.toISOString()} remain in the live log${prev ? ` (seq 1-${prev.lastSeq} are archived)` : ''}` };
    const cps = this.deps.models.checkpoints.collection;
    const closing = await cps.find({ lastSeq: { $gt: afterSeq, $lte: upTo } }).sort({ n: -1 }).limit(1).next() as AuditCheckpoint | null;
    if (!closing) return { reason: `no signed checkpoint ends between seq ${afterSeq + 1} and seq ${upTo} (the last event before ${before.toISOString()}): an archive must end at a signed checkpoint` };
    const from = prev ? await cps.findOne({ n: prev.checkpoint }) as AuditCheckpoint | null : null;
    if (prev && !from) throw new CustosError(ErrorCode.AuditArchiveRefused, `checkpoint #${prev.checkpoint}, where the previous archive ended, is missing from the database: run custos audit verify`);
    return { firstSeq: afterSeq + 1, lastSeq: closing.lastSeq, closing, from, prevHash: prev?.lastHash ?? GENESIS_HASH };
  }

  /** Every event sink of the audit stream must be past the range: it could never be sent afterwards. */
  private async refuseUndelivered(lastSeq: number): Promise<void> {
    const cursors = await this.db.collection<{ _id: string; seq: number }>(AUDIT_STREAM_CURSORS_COLLECTION).find({}).toArray();
    for (const c of cursors) {
      if (c._id.endsWith(':checkpoints') || c.seq >= lastSeq) continue; // checkpoints are never archived away
      throw new CustosError(ErrorCode.AuditArchiveRefused, `the audit stream's sink "${c._id}" has delivered up to seq ${c.seq} only; archiving up to seq ${lastSeq} would remove events it has not received. Let it catch up (custos_audit_stream_lag{sink="${c._id}"}), or delete its cursor from ${AUDIT_STREAM_CURSORS_COLLECTION} if that sink was retired; nothing was archived`, { sink: c._id });
    }
  }

  /** Writes header, records, checkpoints (the closing one last) and the seal; returns the event count. */
  private async writeBundle(file: string, plan: Plan, before: Date): Promise<number> {
    const out = await BundleWriter.create(file);
    const digest = new LineDigest();
    const put = async (line: string) => { digest.add(line); await out.line(line); };
    await put(headerLine({
      kind: ARCHIVE_FORMAT, v: 1, firstSeq: plan.firstSeq, lastSeq: plan.lastSeq, prevHash: plan.prevHash,
      from: plan.from ? JSON.parse(checkpointLine(plan.from)).checkpoint as Record<string, unknown> : null,
      before: before.toISOString(), createdAt: this.deps.clock.now().toISOString(),
    }));
    let events = 0;
    const cursor = this.deps.models.events.collection.find({ seq: { $gte: plan.firstSeq, $lte: plan.lastSeq } }).sort({ seq: 1 }).batchSize(2000);
    for await (const doc of cursor) { await put(eventLine(streamRecordOf(doc))); events++; }
    const cps = this.deps.models.checkpoints.collection.find({ n: { $gt: plan.from?.n ?? 0, $lte: plan.closing.n } }).sort({ n: 1 });
    for await (const cp of cps) await put(checkpointLine(cp as unknown as AuditCheckpoint));
    const seal: Omit<ArchiveSeal, 'sig'> = {
      kind: 'seal', firstSeq: plan.firstSeq, lastSeq: plan.lastSeq, lastHash: plan.closing.lastHash, checkpoint: plan.closing.n, events, digest: digest.hex(),
    };
    await out.line(sealLine({ ...seal, sig: sealSignature(this.deps.signingKey, seal) }));
    await out.close();
    return events;
  }
}
