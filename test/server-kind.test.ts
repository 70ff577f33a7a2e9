// Which server answers (bot/store/server-kind.ts) and what follows for the audit log's indexes: the
// unique ones (eventId, seq) everywhere; the query ones (by actor, customer, action, grant) only where
// the server plans with them. The reason is held here too: on FerretDB 1.x, with those indexes present,
// every audit query shape is still a full scan — if a FerretDB ever answers one from an index, this test
// fails and the indexes should be created there again.
import test from 'ava';
import mongoose from 'mongoose';
import { auditModels } from '../bot/store/audit-model.ts';
import { serverKind, usesSecondaryIndexes } from '../bot/store/server-kind.ts';
import { requireEnv, uniqueName } from './helpers/services.ts';

const conn = await mongoose.createConnection(requireEnv('MONGODB_URI'), { dbName: uniqueName(import.meta.url, 'db') }).asPromise();
const backend = process.env.CUSTOS_MONGO_BACKEND ?? '';
test.after.always(async () => { await conn.dropDatabase().catch(() => undefined); await conn.close(); });

/** The audit queries' filters, each sorted newest first (bot/store/audit-query-store.ts, access reviews). */
const QUERY_SHAPES: Record<string, unknown>[] = [
  { actorId: 'E-0003' }, { 'actor.employeeId': 'E-0003' }, { customerIds: 'C-000007' }, { action: 'reveal' }, { grantId: 'G-1' },
];
const QUERY_INDEX_NAMES = ['actorId_1_seq_-1', 'actor.employeeId_1_seq_-1', 'customerIds_1_seq_-1', 'action_1_seq_-1', 'grantId_1_seq_-1',
  'actor.employeeId_1_occurredAt_-1', 'customerIds_1_occurredAt_-1', 'action_1_occurredAt_-1'];

async function indexNames(collection: string): Promise<string[]> {
  return (await conn.db!.collection(collection).indexes()).map((i) => i.name!).sort();
}

test.serial('the server is named by what the harness started', async (t) => {
  const kind = await serverKind(conn);
  if (backend.startsWith('ferretdb')) t.is(kind, 'ferretdb1');
  else if (backend === 'mongod') t.is(kind, 'mongodb');
  else t.pass(`backend ${backend || 'unnamed'}: ${kind}`);
});

test.serial('the audit log gets its unique indexes everywhere and its query indexes only where they serve queries', async (t) => {
  const models = await auditModels(conn);
  const names = await indexNames(models.events.collection.collectionName);
  t.true(names.includes('eventId_1') && names.includes('seq_1'), names.join(', '));
  const query = names.filter((n) => QUERY_INDEX_NAMES.includes(n));
  if (await usesSecondaryIndexes(conn)) t.deepEqual(query.sort(), [...QUERY_INDEX_NAMES].sort());
  else t.deepEqual(query, []);
});

test.serial('on FerretDB 1.x the query indexes an earlier version created are removed at start', async (t) => {
  if (await usesSecondaryIndexes(conn)) return t.pass('this server uses them: they stay');
  const models = await auditModels(conn);
  const events = models.events.collection;
  await events.createIndex({ actorId: 1, seq: -1 });
  await events.createIndex({ action: 1, occurredAt: -1 });
  t.true((await indexNames(events.collectionName)).includes('actorId_1_seq_-1'));
  await auditModels(conn);
  const after = await indexNames(events.collectionName);
  t.deepEqual(after.filter((n) => QUERY_INDEX_NAMES.includes(n)), [], after.join(', '));
  t.true(after.includes('eventId_1') && after.includes('seq_1'));
});

test.serial('on FerretDB 1.x no audit query is answered from a query index, even with every one of them present', async (t) => {
  if (await usesSecondaryIndexes(conn)) return t.pass('not FerretDB 1.x');
  const scratch = conn.db!.collection('scratch_audit_shapes');
  for (const field of ['actorId', 'actor.employeeId', 'customerIds', 'action', 'grantId']) await scratch.createIndex({ [field]: 1, seq: -1 });
  await scratch.insertMany(Array.from({ length: 400 }, (_, i) => ({
    seq: i + 1, actorId: `E-000${i % 7}`, actor: { employeeId: `E-000${i % 7}` }, customerIds: [`C-00000${i % 9}`], action: i % 3 ? 'lookup' : 'reveal', grantId: `G-${i % 5}`,
  })));
  for (const filter of QUERY_SHAPES) {
    const plan = await scratch.find(filter).sort({ seq: -1 }).limit(20).explain() as Record<string, unknown>;
    const text = JSON.stringify(plan.queryPlanner);
    t.false(plan.sortPushdown as boolean, `${JSON.stringify(filter)}: sort pushed down`);
    // PostgreSQL: "Seq Scan" (never "Index Scan"/"Bitmap Index Scan"); SQLite: "SCAN table" (never "USING INDEX").
    t.regex(text, /Seq Scan|SCAN /, `${JSON.stringify(filter)}: ${text}`);
    t.notRegex(text, /Index Scan|USING INDEX|USING COVERING INDEX/, `${JSON.stringify(filter)}: ${text}`);
  }
});
