// `custos audit archive` and `custos audit verify --archive`: on a chain with old and recent events and
// signed checkpoints, written like the worker writes them, with the real audit worker recording the
// audit.archive event. One history, archived in two steps (in-process with an injected crash, then by
// the CLI as an operator runs it), checked after every step: the live log verifies from the archive's
// closing checkpoint, each bundle verifies alone, every tampered copy is refused with its own reason.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import test from 'ava';
import { loadConfig, section } from '../bot/config.ts';
import { parseAnchors, anchorLine } from '../bot/core/audit-anchors.ts';
import { sealSignature, type ArchiveSeal } from '../bot/core/audit-archive.ts';
import { newEventId } from '../bot/core/audit-event.ts';
import { systemClock } from '../bot/core/ports.ts';
import { createLogger } from '../bot/logger.ts';
import { createAuditProducer, type AuditProducer } from '../bot/queue/audit-producer.ts';
import { checkBundleFile } from '../bot/store/audit-archive-file.ts';
import { ArchiveRecords } from '../bot/store/audit-archive-store.ts';
import { AuditArchiver } from '../bot/store/audit-archiver.ts';
import { verifyStoredChain } from '../bot/store/audit-chain-check.ts';
import { auditModels, type AuditModels } from '../bot/store/audit-model.ts';
import { allCheckpoints, readTail } from '../bot/store/audit-store.ts';
import { AUDIT_STREAM_BLOCKS_COLLECTION, writeStreamBlocks } from '../bot/store/audit-stream-blocks.ts';
import { AUDIT_STREAM_CURSORS_COLLECTION } from '../bot/store/audit-stream-cursors.ts';
import { checkpointSource, eventSource } from '../bot/store/audit-stream-source.ts';
import { startAuditWorker, type RunningAuditWorker } from '../workers/audit/worker.ts';
import { checkpointAnchorProblem } from '../bot/core/audit-anchors.ts';
import { buildAuditLog } from './helpers/audit-log-fixture.ts';
import { runCli } from './helpers/run-custos.ts';
import { dropPrefix, testDatabase, testEnv, uniqueName } from './helpers/services.ts';

const DAY = 86_400_000;
const db = await testDatabase(import.meta.url);
const prefix = uniqueName(import.meta.url, 'prefix');
const env = testEnv(db.name, prefix, { CUSTOS_AUDIT_BATCH: '20' });
const config = loadConfig(env, { require: ['mongo', 'redis', 'audit'] });
const key = section(config, 'audit').signingKey;
const now = Date.now();
const daysAgo = (d: number) => new Date(now - d * DAY);
let models: AuditModels;
let producer: AuditProducer;
let worker: RunningAuditWorker;
let dir: string;
let bundle1: string;

/** Seg A (30 events, ~4 years old), checkpoint #1; seg B (30, ~3.3 years), #2; seg C (20, this week), #3. */
async function seedHistory(): Promise<void> {
  const common = { actors: ['E-0001', 'E-0002', 'E-0003'], customers: 50, signingKey: key };
  const { writeCheckpoint } = await import('../workers/audit/checkpoints.ts');
  const segments = [
    { seed: 'segA', end: daysAgo(1400), spanDays: 60, events: 30 },
    { seed: 'segB', end: daysAgo(1150), spanDays: 40, events: 30 },
    { seed: 'segC', end: daysAgo(1), spanDays: 5, events: 20 },
  ];
  for (const s of segments) {
    const tail = await readTail(models);
    await buildAuditLog(models, { ...common, ...s }, tail);
    await writeCheckpoint(models, key, { now: () => s.end }, { onlyIfAdvanced: true });
  }
}

async function archiveEvents(firstSeq: number): Promise<Record<string, unknown>[]> {
  return models.events.collection.find({ action: 'audit.archive', 'archive.firstSeq': firstSeq }).toArray();
}

async function until(what: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 400; i++) { if (await what()) return true; await new Promise((r) => setTimeout(r, 50)); }
  return false;
}

const archiver = (extra: Partial<ConstructorParameters<typeof AuditArchiver>[0]> = {}) => new AuditArchiver({
  models, signingKey: key, recorder: producer, clock: systemClock, retentionDays: 1095, dir, chunk: 10, ...extra,
});

test.before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'custos-archive-'));
  models = await auditModels(db.conn);
  await seedHistory();
  producer = createAuditProducer({ redis: section(config, 'redis'), prefix, timeoutMs: 2000 });
  await producer.ready(60_000);
  worker = await startAuditWorker({
    redis: section(config, 'redis'), prefix, models, signingKey: key, clock: systemClock,
    settings: config.auditPipeline, logger: createLogger({ level: 'silent' }),
  });
});
test.after.always(async () => {
  await worker?.close();
  await producer?.close();
  await db.drop();
  await dropPrefix(prefix);
});

test('a retention window under three years is refused when the configuration is parsed', (t) => {
  const err = t.throws(() => loadConfig({ ...env, CUSTOS_AUDIT_RETENTION_DAYS: '365' }, { require: ['mongo'] }));
  t.regex(err!.message, /CUSTOS_AUDIT_RETENTION_DAYS must be at least 1095 \(3 years\)/);
});

test.serial('--before inside the retention window is refused, naming the latest date allowed; nothing removed', async (t) => {
  const err = await t.throwsAsync(archiver().archive(daysAgo(1000)));
  t.regex(err!.message, /inside the retention window: events are kept CUSTOS_AUDIT_RETENTION_DAYS=1095 days, so the latest --before allowed now is \d{4}-/);
  t.is(await models.events.countDocuments({}), 80);
});

test.serial('a stream sink that has not delivered the range blocks the archive, named', async (t) => {
  const cursors = db.conn.db!.collection(AUDIT_STREAM_CURSORS_COLLECTION);
  await cursors.insertMany([{ _id: 'splunk' as never, seq: 12, hash: 'x' }, { _id: 'splunk:checkpoints' as never, seq: 0, hash: 'x' }]);
  const err = await t.throwsAsync(archiver().archive(daysAgo(1200)));
  t.regex(err!.message, /sink "splunk" has delivered up to seq 12 only; archiving up to seq 30 would remove events it has not received/);
  t.is(await models.events.countDocuments({}), 80);
  await cursors.updateOne({ _id: 'splunk' as never }, { $set: { seq: 80 } });
});

test.serial('a crash between writing the bundle and finishing the removal: the log still verifies, a re-run finishes', async (t) => {
  // The stream's block copies of records 1-40 (the fixture stores events only): archived with the events.
  const stored = await models.events.collection.find({ seq: { $lte: 40 } }).sort({ seq: 1 }).toArray();
  for (const part of [stored.slice(0, 10), stored.slice(10)]) t.is(await writeStreamBlocks(db.conn.db!, part as never), null);
  const blocks = db.conn.db!.collection(AUDIT_STREAM_BLOCKS_COLLECTION);
  let recordedFirst = false;
  const crashing = archiver({
    beforeRemove: async (from) => {
      // Before the first record goes, audit.archive was accepted: the worker stores it.
      if (from === 1) recordedFirst = await until(async () => (await archiveEvents(1)).length === 1);
      if (from > 10) throw new Error('injected crash');
    },
  });
  await t.throwsAsync(crashing.archive(daysAgo(1200)), { message: 'injected crash' });
  t.true(recordedFirst, 'audit.archive is in the chain before anything is removed');
  const records = new ArchiveRecords(db.conn.db!);
  const pending = await records.unfinished();
  t.like(pending, { firstSeq: 1, lastSeq: 30, checkpoint: 1, state: 'removing' });
  t.is(await models.events.countDocuments({ seq: { $lte: 30 } }), 20, 'the first chunk was removed, the rest not yet');
  const mid = await verifyStoredChain(models, key);
  t.true(mid.ok, mid.problem?.problem);
  t.like(mid, { from: { n: 1, lastSeq: 30 }, archive: { state: 'removing' } });

  const again = await archiver().archive(daysAgo(1200));
  t.like(again, { kind: 'archived', resumed: true, record: { firstSeq: 1, lastSeq: 30, state: 'done' } });
  t.is(await models.events.countDocuments({ seq: { $lte: 30 } }), 0);
  // (Blocks the audit worker wrote since, e.g. for audit.archive itself, start after 80.)
  t.deepEqual((await blocks.find({}).toArray()).map((b) => b._id as unknown as number).filter((id) => id <= 80), [], 'no stream block holds an archived record (1-10 and 11-40 both start inside the range)');
  const after = await verifyStoredChain(models, key);
  t.true(after.ok, after.problem?.problem);
  t.like(after, { from: { n: 1, lastSeq: 30 }, archive: { firstSeq: 1, lastSeq: 30, state: 'done' } });
  // The same event id both times: one audit.archive record, naming the range and the bundle's hash.
  // A marker recorded after the re-run's event: once it is stored, the queue ahead of it was drained.
  const marker = newEventId(new Date());
  await producer.record({ v: 1, eventId: marker, occurredAt: new Date().toISOString(), actor: { employeeId: null, platform: 'cli' }, channelKind: 'none', action: 'heartbeat', customerIds: [], fields: [], decision: 'allowed', ruleIds: [] });
  t.true(await until(async () => (await models.events.countDocuments({ eventId: marker })) === 1));
  const evs = await archiveEvents(1);
  t.is(evs.length, 1);
  t.deepEqual(evs[0]!.archive, { firstSeq: 1, lastSeq: 30, checkpoint: 1, events: 30, bundleSha256: pending!.bundleSha256 });
  t.deepEqual(evs[0]!.customerIds, []);
  bundle1 = pending!.file;
});

test.serial('custos audit verify --archive BUNDLE: the bundle alone is intact', async (t) => {
  const r = await runCli(['audit', 'verify', '--archive', bundle1], env);
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /^archive intact: 30 events, seq 1-30, closing checkpoint #1 \(hash [0-9a-f]{64}\), seal signed/);
});

test.serial('custos audit verify continues from the archived checkpoint; the first live event must link to its hash', async (t) => {
  const r = await runCli(['audit', 'verify'], env);
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /^\d+ events, chain intact\nverified from archived checkpoint #1 \(seq 1-30 archived by custos audit archive, bundle SHA-256 [0-9a-f]{64}\)/);
  // The first live record re-linked elsewhere: caught at its seq.
  const first = await models.events.collection.findOne({ seq: 31 });
  await models.events.collection.updateOne({ seq: 31 }, { $set: { prevHash: 'f'.repeat(64) } });
  const broken = await runCli(['audit', 'verify'], env);
  await models.events.collection.updateOne({ seq: 31 }, { $set: { prevHash: first!.prevHash } });
  t.is(broken.code, 1);
  t.regex(broken.stdout, /BROKEN at seq 31: prevHash does not match/);
  // A forged archive record (claiming more was archived) does not verify without the key.
  const records = db.conn.db!.collection('audit_archives');
  await records.updateOne({ _id: 'seq-1-30' as never }, { $set: { lastSeq: 60 } });
  const forged = await verifyStoredChain(models, key);
  await records.updateOne({ _id: 'seq-1-30' as never }, { $set: { lastSeq: 30 } });
  t.false(forged.ok);
  t.regex(forged.problem!.problem, /archive record for seq 1-60 has an invalid signature/);
});

async function tamperedCopy(name: string, edit: (lines: string[]) => string[]): Promise<string> {
  const lines = gunzipSync(await readFile(bundle1)).toString('utf8').split('\n').filter((l) => l !== '');
  const file = path.join(dir, `${name}.jsonl.gz`);
  await writeFile(file, gzipSync(`${edit(lines).join('\n')}\n`));
  return file;
}

test.serial('tampered bundles are refused, each with its own reason', async (t) => {
  const raw = await readFile(bundle1);
  const flipped = Buffer.from(raw);
  flipped[Math.floor(raw.length / 2)]! ^= 0x01;
  const byteFile = path.join(dir, 'flipped.jsonl.gz');
  await writeFile(byteFile, flipped);
  const cases: [string, string, RegExp][] = [
    ['one byte of the file', byteFile, /not a readable gzip stream .*damaged or altered/],
    ['one byte of an event', await tamperedCopy('edited', (l) => l.map((x, i) => (i === 5 ? x.replace(/"C-0000(\d)/, (_m, d: string) => `"C-0000${(Number(d) + 1) % 10}`) : x))), /^seq 5: its content does not match its hash: the record was edited/],
    ['two events swapped', await tamperedCopy('reordered', (l) => [l[0]!, l[1]!, l[3]!, l[2]!, ...l.slice(4)]), /^seq 2 comes after seq 3: the events were reordered/],
    ['an event dropped', await tamperedCopy('dropped', (l) => [...l.slice(0, 8), ...l.slice(9)]), /^seq 8 is missing \(the next event is seq 9\): an event was dropped/],
    ['the seal re-signed with another key', await tamperedCopy('resigned', (l) => {
      const seal = JSON.parse(l.at(-1)!) as ArchiveSeal;
      return [...l.slice(0, -1), JSON.stringify({ ...seal, sig: sealSignature(Buffer.alloc(32, 7), seal) })];
    }), /seal's signature does not verify under CUSTOS_AUDIT_SIGNING_KEY: the bundle was re-signed with another key/],
    ['the seal cut off', await tamperedCopy('truncated', (l) => l.slice(0, -1)), /no seal as its last line: it was truncated/],
  ];
  for (const [what, file, expected] of cases) {
    const r = await checkBundleFile(file, key);
    t.false(r.ok, what);
    t.regex(r.problem ?? '', expected, what);
  }
  // As an operator sees it: exit 1 and the reason.
  const cli = await runCli(['audit', 'verify', '--archive', path.join(dir, 'dropped.jsonl.gz')], env);
  t.is(cli.code, 1);
  t.regex(cli.stdout, /^archive BROKEN: seq 8 is missing/);
});

test.serial('the second archive by the CLI continues from the first; anchors and the stream still work', async (t) => {
  const anchors = parseAnchors((await allCheckpoints(models)).map(anchorLine).join('\n'), key);
  const r = await runCli(['audit', 'archive', '--before', daysAgo(1100).toISOString(), '--dir', dir], env);
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /^archived seq 31-60 \(30 events\) to .*custos-audit-seq-31-60\.jsonl\.gz\nclosing checkpoint #2, bundle SHA-256 [0-9a-f]{64}; recorded as audit.archive/);
  t.is(await models.events.countDocuments({ seq: { $lte: 60 } }), 0);
  const alone = await checkBundleFile(path.join(dir, 'custos-audit-seq-31-60.jsonl.gz'), key);
  t.true(alone.ok, alone.problem);
  t.is(alone.header?.from?.n, 1);
  const live = await verifyStoredChain(models, key, undefined, anchors);
  t.true(live.ok, live.problem?.problem);
  t.like(live, { from: { n: 2, lastSeq: 60 } });
  t.is(checkpointAnchorProblem(await allCheckpoints(models), anchors), null);
  // A sink added now starts after the archive instead of stopping at a "gap"; checkpoints all remain.
  const first = await eventSource(models).readAfter(0, 5);
  t.is(first[0]?.seq, 61);
  const cps = await checkpointSource(models).readAfter(0, 10);
  t.deepEqual(cps.slice(0, 3).map((c) => c.seq), [1, 2, 3]);
  // Nothing old enough is left.
  const none = await runCli(['audit', 'archive', '--before', daysAgo(1100).toISOString(), '--dir', dir], env);
  t.is(none.code, 0, none.stderr);
  t.regex(none.stdout, /^nothing to archive: no signed checkpoint ends between seq 61 and seq|^nothing to archive: no events before/);
});
