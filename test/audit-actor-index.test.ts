// The top-level `actorId` that makes "by actor" audit queries index-friendly, on a log that also holds
// records from before it existed: the chain writer notes where records with `actorId` start before it
// writes the first one, and the query store still finds every record of an actor, old and new, page by
// page in both directions. Also "several actions" (one find per action, merged) against the same rows.
// Real FerretDB / MongoDB; the expected answers are computed from the fixture rows in plain JavaScript.
import test from 'ava';
import type { AuditEventInput } from '../bot/core/audit.ts';
import { newEventId } from '../bot/core/audit-event.ts';
import type { AuditCursor, AuditFilter } from '../bot/core/audit-query-service.ts';
import { actorIdSince, AUDIT_META_COLLECTION } from '../bot/store/audit-actor-index.ts';
import { auditModels, type AuditModels } from '../bot/store/audit-model.ts';
import { MongoAuditLogReader } from '../bot/store/audit-query-store.ts';
import { ChainWriter } from '../workers/audit/chain-writer.ts';
import { buildAuditLog, type FixtureRow } from './helpers/audit-log-fixture.ts';
import { randomKey, testDatabase } from './helpers/services.ts';

const db = await testDatabase(import.meta.url);
const signingKey = Buffer.from(randomKey(), 'base64');
const ACTORS = ['E-0001', 'E-0002', 'E-0003'];
const OLD = 120; // records written before `actorId` (seq 1-120)
const PAGE = 7;
let models: AuditModels;
let rows: FixtureRow[] = [];

function event(employeeId: string): AuditEventInput {
  return {
    v: 1, eventId: newEventId(new Date()), occurredAt: new Date().toISOString(), actor: { employeeId, platform: 'slack' },
    channelKind: 'dm', action: 'lookup', customerIds: ['C-000001'], fields: [], decision: 'allowed', ruleIds: ['r1'],
  };
}

test.before(async () => {
  models = await auditModels(db.conn);
  rows = await buildAuditLog(models, { events: OLD, end: new Date(Date.now() - 3_600_000), spanDays: 3, actors: ACTORS, customers: 30, signingKey, legacy: true, seed: 'old' });
});
test.after.always(async () => { await db.drop(); });

/** Every seq the reader returns for `filter`, walking Older to the end, then Newer back to the top. */
async function walk(reader: MongoAuditLogReader, filter: AuditFilter): Promise<{ down: number[]; up: number[] }> {
  const down: number[] = [];
  let cursor: AuditCursor = null;
  for (;;) {
    const page = await reader.page(filter, cursor, PAGE);
    down.push(...page.map((r) => r.seq));
    if (page.length < PAGE) break;
    cursor = { older: page.at(-1)!.seq };
  }
  const up: number[] = [];
  cursor = { newer: down.at(-1)! };
  for (;;) {
    const page = await reader.page(filter, cursor, PAGE);
    up.unshift(...page.map((r) => r.seq));
    if (page.length < PAGE) break;
    cursor = { newer: page[0]!.seq };
  }
  return { down, up: [...up, down.at(-1)!] };
}

const newestFirst = (pred: (r: FixtureRow) => boolean) => rows.filter(pred).map((r) => r.seq).sort((a, b) => b - a);

test.serial('on a log without the marker, "by actor" still finds every record (by the dotted path)', async (t) => {
  t.is(await actorIdSince(db.conn), null);
  const { down, up } = await walk(new MongoAuditLogReader(models), { actorId: 'E-0002' });
  const want = newestFirst((r) => r.actorId === 'E-0002');
  t.true(want.length > 2 * PAGE);
  t.deepEqual(down, want);
  t.deepEqual(up, want);
});

test.serial('the chain writer marks where actorId starts before its first record, and stores it on each record', async (t) => {
  const writer = new ChainWriter(models, signingKey, { now: () => new Date() }, 60_000);
  const events = [event('E-0002'), event('E-0001'), event('E-0002')];
  const res = await writer.write(events);
  t.is(res.stored, 3);
  t.is(await actorIdSince(db.conn), OLD + 1);
  const stored = await models.events.collection.find({ seq: { $gt: OLD } }).sort({ seq: 1 }).toArray();
  t.deepEqual(stored.map((d) => d.actorId), ['E-0002', 'E-0001', 'E-0002']);
  rows.push(...stored.map((d) => ({ ...(d as unknown as FixtureRow), actorId: String(d.actorId) })));

  // A later writer (new lease term) finds a tail with actorId: the marker stays where it was.
  const next = new ChainWriter(models, signingKey, { now: () => new Date() }, 60_000);
  await next.write([event('E-0003')]);
  t.is(await actorIdSince(db.conn), OLD + 1);
  t.is(await db.conn.collection(AUDIT_META_COLLECTION).countDocuments({}), 1);
  const last = await models.events.collection.findOne({ seq: OLD + 4 });
  rows.push({ ...(last as unknown as FixtureRow), actorId: String(last!.actorId) });
});

test.serial('across the marker, "by actor" returns old and new records alike, paging both ways', async (t) => {
  const tail = await models.events.collection.findOne({ seq: OLD + 4 });
  rows.push(...await buildAuditLog(models, { events: 60, end: new Date(), spanDays: 0.01, actors: ACTORS, customers: 30, signingKey, seed: 'new' }, { seq: OLD + 4, hash: String(tail!.hash) }));
  t.is(await actorIdSince(db.conn), OLD + 1, 'the fixture, like the writer, leaves an existing marker alone');
  const reader = new MongoAuditLogReader(models);
  for (const actorId of ACTORS) {
    const want = newestFirst((r) => r.actorId === actorId);
    t.true(want.some((s) => s <= OLD) && want.some((s) => s > OLD), `${actorId} has records on both sides`);
    const { down, up } = await walk(reader, { actorId });
    t.deepEqual(down, want, `${actorId}: Older pages`);
    t.deepEqual(up, want, `${actorId}: Newer pages`);
  }
});

test.serial('several actions: one find per action, merged by seq, page for page what the union holds', async (t) => {
  const actions = ['export.start', 'export.complete', 'export.download', 'lookup.refused'] as const;
  const want = newestFirst((r) => (actions as readonly string[]).includes(r.action));
  t.true(want.length > PAGE);
  const { down, up } = await walk(new MongoAuditLogReader(models), { actions: [...actions] });
  t.deepEqual(down, want);
  t.deepEqual(up, want);
});
