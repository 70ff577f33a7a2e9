// `custos audit verify` against a chain written by the real worker, then against each tamper mode: it
// must name the first bad seq and exit non-zero. As a user runs it (a real child process) for the intact
// chain, an edited record and the archived checkpoint set in the environment; through the same `main` in
// this process (runCliHere: same parsing, same code, same output and exit code) for the other tamper
// modes, which spares sixteen process starts.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { AuditEventInput } from '../bot/core/audit.ts';
import { chainHash, newEventId, recordMac } from '../bot/core/audit-event.ts';
import { loadConfig, section } from '../bot/config.ts';
import { createLogger } from '../bot/logger.ts';
import { createAuditProducer } from '../bot/queue/audit-producer.ts';
import { auditModels, type AuditModels } from '../bot/store/audit-model.ts';
import { startAuditWorker } from '../workers/audit/worker.ts';
import { buildAuditLog } from './helpers/audit-log-fixture.ts';
import { dropPrefix, testDatabase, testEnv, uniqueName } from './helpers/services.ts';
import { custosArgs, runCliHere } from './helpers/run-custos.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const db = await testDatabase(import.meta.url);
const prefix = uniqueName(import.meta.url, 'prefix');
// Small batches and a checkpoint every few events, so the chain has checkpoints mid-way to archive up to.
const env = testEnv(db.name, prefix, { CUSTOS_AUDIT_BATCH: '7', CUSTOS_AUDIT_CHECKPOINT_EVERY: '10' });
const config = loadConfig(env, { require: ['mongo', 'redis', 'audit'] });
const N = 40;
let models: AuditModels;
let pristine: { events: Record<string, unknown>[]; checkpoints: Record<string, unknown>[] };

/** `custos audit verify` in this process (see the top of the file). */
async function runVerify(...extra: string[]): Promise<{ code: number; stdout: string }> {
  const { code, stdout } = await runCliHere(['audit', 'verify', ...extra], { ...process.env, ...env });
  return { code, stdout };
}

/** `custos audit verify` as a real child process. */
function runVerifyProcess(...extra: string[]): Promise<{ code: number; stdout: string }> {
  return runVerifyProcessWith({}, ...extra);
}

function runVerifyProcessWith(moreEnv: Record<string, string>, ...extra: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, custosArgs(['audit', 'verify', ...extra]), { cwd: root, env: { ...process.env, ...env, ...moreEnv } }, (err, stdout) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout });
    });
  });
}

/** Puts the untouched chain back before each tamper mode. */
async function restore(): Promise<void> {
  await models.events.collection.deleteMany({});
  await models.checkpoints.collection.deleteMany({});
  await models.events.collection.insertMany(pristine.events.map((d) => ({ ...d })));
  await models.checkpoints.collection.insertMany(pristine.checkpoints.map((d) => ({ ...d })));
}

test.before(async () => {
  models = await auditModels(db.conn);
  const producer = createAuditProducer({ redis: section(config, 'redis'), prefix, timeoutMs: 2000 });
  await producer.ready(60_000);
  for (let i = 0; i < N; i++) {
    const e: AuditEventInput = {
      v: 1, eventId: newEventId(new Date()), occurredAt: new Date().toISOString(),
      actor: { employeeId: `E-${String(i % 5).padStart(4, '0')}`, platform: 'lark' }, channelKind: 'private',
      action: i % 3 ? 'lookup' : 'reveal', customerIds: [`C-${String(i).padStart(6, '0')}`],
      fields: [{ name: 'phone', outcome: 'mask:mobile' }], decision: 'allowed', ruleIds: ['r1'],
    };
    await producer.record(e);
  }
  await producer.close();
  const worker = await startAuditWorker({
    redis: section(config, 'redis'), prefix, models, signingKey: section(config, 'audit').signingKey,
    clock: { now: () => new Date() }, settings: config.auditPipeline, logger: createLogger({ level: 'silent' }),
  });
  const until = Date.now() + 60_000;
  while ((await models.events.countDocuments({})) < N && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  await worker.close(); // writes the shutdown checkpoint
  pristine = {
    events: await models.events.collection.find({}).sort({ seq: 1 }).toArray(),
    checkpoints: await models.checkpoints.collection.find({}).sort({ n: 1 }).toArray(),
  };
});
test.after.always(async () => { await db.drop(); await dropPrefix(prefix); });

test.serial('an untouched chain: "N events, chain intact", exit 0', async (t) => {
  t.is(pristine.events.length, N);
  const { code, stdout } = await runVerifyProcess();
  t.is(code, 0, stdout);
  t.regex(stdout, new RegExp(`^${N} events, chain intact`));
  t.regex(stdout, /latest checkpoint #\d+ covers seq 40/);
});

test.serial('edited record → first bad seq named, exit 1', async (t) => {
  await restore();
  await models.events.collection.updateOne({ seq: 10 }, { $set: { decision: 'denied' } });
  const { code, stdout } = await runVerifyProcess();
  t.is(code, 1);
  t.regex(stdout, /BROKEN at seq 10: .*edited/);
});

test.serial('deleted record → first bad seq named, exit 1', async (t) => {
  await restore();
  await models.events.collection.deleteOne({ seq: 10 });
  const { code, stdout } = await runVerify();
  t.is(code, 1);
  t.regex(stdout, /BROKEN at seq 10: seq 10 is missing .*deleted/);
});

test.serial('inserted record (renumbered, correctly hashed, no key) → first bad seq named, exit 1', async (t) => {
  await restore();
  for (let seq = N; seq >= 11; seq--) await models.events.collection.updateOne({ seq }, { $set: { seq: seq + 1 } });
  const { _id, hash: _h, mac: _m, ...template } = pristine.events[9]!;
  const forged: Record<string, unknown> = { ...template, seq: 11, eventId: newEventId(new Date()), prevHash: pristine.events[9]!.hash, action: 'heartbeat' };
  forged.hash = chainHash(forged);
  forged.mac = 'f'.repeat(64);
  await models.events.collection.insertOne(forged);
  const { code, stdout } = await runVerify();
  t.is(code, 1);
  t.regex(stdout, /BROKEN at seq 11: .*(forged or inserted)/);
});

test.serial('reordered records → first bad seq named, exit 1', async (t) => {
  await restore();
  await models.events.collection.updateOne({ seq: 10 }, { $set: { seq: -1 } });
  await models.events.collection.updateOne({ seq: 11 }, { $set: { seq: 10 } });
  await models.events.collection.updateOne({ seq: -1 }, { $set: { seq: 11 } });
  const { code, stdout } = await runVerify();
  t.is(code, 1);
  t.regex(stdout, /BROKEN at seq 10: prevHash does not match .*reordered/);
});

test.serial('truncated chain (last 10 deleted) → caught by the signed checkpoint, exit 1', async (t) => {
  await restore();
  await models.events.collection.deleteMany({ seq: { $gt: N - 10 } });
  const { code, stdout } = await runVerify();
  t.is(code, 1);
  t.regex(stdout, new RegExp(`BROKEN at seq ${N - 9}: the chain ends at seq ${N - 10} .*truncated`));
});

test.serial('a forged checkpoint is refused too', async (t) => {
  await restore();
  await models.checkpoints.collection.updateOne({ n: 1 }, { $set: { lastSeq: 1, count: 1, lastHash: pristine.events[0]!.hash } });
  const { code, stdout } = await runVerify();
  t.is(code, 1);
  t.regex(stdout, /checkpoint #1 has an invalid signature/);
});

/** Archives as the README says: the records up to a mid-chain checkpoint and the checkpoints before it go. */
async function archiveUpTo(): Promise<{ n: number; lastSeq: number }> {
  await restore();
  const mid = pristine.checkpoints.map((c) => ({ n: Number(c.n), lastSeq: Number(c.lastSeq) })).filter((c) => c.lastSeq > 0 && c.lastSeq < N - 5).at(-1);
  if (!mid) throw new Error('the worker wrote no checkpoint mid-chain');
  await models.events.collection.deleteMany({ seq: { $lte: mid.lastSeq } });
  await models.checkpoints.collection.deleteMany({ n: { $lt: mid.n } });
  return mid;
}

test.serial('archived head: plain verify refuses and names the checkpoint to start from; --from-checkpoint verifies the rest', async (t) => {
  const mid = await archiveUpTo();
  const plain = await runVerify();
  t.is(plain.code, 1, 'a missing head is never silently accepted');
  t.regex(plain.stdout, new RegExp(`BROKEN at seq 1: .*deleted; if seq 1-${mid.lastSeq} were archived, verify with --from-checkpoint ${mid.n}`));
  const { code, stdout } = await runVerify('--from-checkpoint', String(mid.n));
  t.is(code, 0, stdout);
  t.regex(stdout, new RegExp(`^${N - mid.lastSeq} events, chain intact\nverified from archived checkpoint #${mid.n} \\(seq 1-${mid.lastSeq} archived\\)`));
  // Recorded in the configuration once, every verification (the CLI, `/audit verify`) starts there.
  const configured = await runVerifyProcessWith({ CUSTOS_AUDIT_ARCHIVED_CHECKPOINT: String(mid.n) });
  t.is(configured.code, 0, configured.stdout);
  t.regex(configured.stdout, new RegExp(`verified from archived checkpoint #${mid.n}`));
});

test.serial('from a checkpoint, tampering after it is still caught: an edit, a truncation, a forged starting checkpoint', async (t) => {
  const mid = await archiveUpTo();
  await models.events.collection.updateOne({ seq: mid.lastSeq + 2 }, { $set: { decision: 'denied' } });
  const edited = await runVerify('--from-checkpoint', String(mid.n));
  t.is(edited.code, 1);
  t.regex(edited.stdout, new RegExp(`BROKEN at seq ${mid.lastSeq + 2}: .*edited`));

  await archiveUpTo();
  await models.events.collection.deleteMany({ seq: { $gt: N - 3 } });
  const truncated = await runVerify('--from-checkpoint', String(mid.n));
  t.is(truncated.code, 1);
  t.regex(truncated.stdout, /truncated/);

  // Moving the starting checkpoint (to hide the deletion of more records) breaks its signature.
  await archiveUpTo();
  await models.events.collection.deleteMany({ seq: { $lte: mid.lastSeq + 3 } });
  await models.checkpoints.collection.updateOne({ n: mid.n }, { $set: { lastSeq: mid.lastSeq + 3, count: mid.lastSeq + 3, lastHash: pristine.events[mid.lastSeq + 2]!.hash } });
  const forged = await runVerify('--from-checkpoint', String(mid.n));
  t.is(forged.code, 1);
  t.regex(forged.stdout, new RegExp(`checkpoint #${mid.n} has an invalid signature`));

  const missing = await runVerify('--from-checkpoint', '999');
  t.is(missing.code, 1);
  t.regex(missing.stdout, /checkpoint #999 does not exist/);
});

test.serial('the worker stores actorId (for "by actor" queries) and editing it is caught like any edit', async (t) => {
  t.true(pristine.events.every((d) => d.actorId === (d.actor as { employeeId: string }).employeeId), 'every record has actorId = actor.employeeId');
  await restore();
  await models.events.collection.updateOne({ seq: 12 }, { $set: { actorId: 'E-0999' } });
  const { code, stdout } = await runVerify();
  t.is(code, 1);
  t.regex(stdout, /BROKEN at seq 12: .*edited/);
});

test.serial('an actorId that disagrees with actor.employeeId is refused even when hashed and MACed', async (t) => {
  await restore();
  // Only a holder of the signing key could do this: the check guards against a writer bug (or that key
  // holder) making "by actor" queries misreport a record that otherwise verifies.
  const { _id, hash: _h, mac: _m, ...body } = pristine.events[N - 1]!;
  const wrong: Record<string, unknown> = { ...body, actorId: 'E-0999' };
  wrong.hash = chainHash(wrong);
  wrong.mac = recordMac(section(config, 'audit').signingKey, String(wrong.hash));
  await models.events.collection.replaceOne({ seq: N }, wrong);
  const { code, stdout } = await runVerify();
  t.is(code, 1);
  t.regex(stdout, new RegExp(`BROKEN at seq ${N}: its actorId differs from actor.employeeId`));
});

test.serial('a chain whose older records predate actorId still verifies; tampering on either side is caught', async (t) => {
  await models.events.collection.deleteMany({});
  await models.checkpoints.collection.deleteMany({});
  const opts = { end: new Date(), spanDays: 1, actors: ['E-0001', 'E-0002'], customers: 20, signingKey: section(config, 'audit').signingKey };
  await buildAuditLog(models, { ...opts, events: 20, legacy: true, seed: 'old' });
  const tail = await models.events.collection.findOne({ seq: 20 });
  await buildAuditLog(models, { ...opts, events: 20, seed: 'new' }, { seq: 20, hash: String(tail!.hash) });
  t.is(await models.events.countDocuments({ actorId: { $exists: true } }), 20);
  const intact = await runVerify();
  t.is(intact.code, 0, intact.stdout);
  t.regex(intact.stdout, /^40 events, chain intact/);

  await models.events.collection.updateOne({ seq: 5 }, { $set: { actorId: 'E-0001' } }); // adding one to an old record
  const added = await runVerify();
  t.is(added.code, 1);
  t.regex(added.stdout, /BROKEN at seq 5: .*edited/);
  await models.events.collection.updateOne({ seq: 5 }, { $unset: { actorId: '' } });
  await models.events.collection.updateOne({ seq: 25 }, { $unset: { actorId: '' } }); // removing one from a new record
  const removed = await runVerify();
  t.is(removed.code, 1);
  t.regex(removed.stdout, /BROKEN at seq 25: .*edited/);
});
