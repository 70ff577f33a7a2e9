// Proves, on whichever server the tests run against (FerretDB 1.24 or MongoDB), exactly the database
// features bot/store relies on. If one of these fails on a new server version, the store is wrong there.
import test from 'ava';
import type { Collection, Document } from 'mongodb';
import { UPDATE_CHUNK } from '../bot/store/customer-store.ts';
import { testDatabase } from './helpers/services.ts';

let db: Awaited<ReturnType<typeof testDatabase>>;
test.before(async () => { db = await testDatabase(import.meta.url); });
test.after.always(async () => { await db?.drop(); });

async function fresh(name: string): Promise<Collection<Document>> {
  const c = db.conn.collection(name);
  await db.conn.createCollection(name).catch(() => undefined);
  return c as unknown as Collection<Document>;
}

const codeOf = (err: unknown) => (err as { code?: number }).code;

test('a unique index rejects a duplicate with E11000 on insertOne', async (t) => {
  const c = await fresh('unique_probe');
  await c.createIndex({ key: 1 }, { unique: true });
  await c.insertOne({ key: 'a' });
  const err = await t.throwsAsync(() => c.insertOne({ key: 'a' }));
  t.is(codeOf(err), 11000);
  await c.insertOne({ key: 'b' });
  t.is(await c.countDocuments({}), 2);
});

test('insertMany unordered with duplicates inserts the rest and reports each duplicate by index', async (t) => {
  const c = await fresh('insert_many_probe');
  await c.createIndex({ key: 1 }, { unique: true });
  await c.insertOne({ key: 2 });
  const err = await t.throwsAsync(() => c.insertMany([{ key: 1 }, { key: 2 }, { key: 3 }, { key: 3 }, { key: 4 }], { ordered: false }));
  const writeErrors = (err as unknown as { writeErrors: { code: number; index: number }[] }).writeErrors;
  t.deepEqual(writeErrors.map((e) => [e.code, e.index]).sort(), [[11000, 1], [11000, 3]]);
  t.deepEqual((await c.find({}, { projection: { _id: 0, key: 1 } }).sort({ key: 1 }).toArray()).map((d) => d.key), [1, 2, 3, 4]);
});

test('conditional findOneAndUpdate is a compare-and-swap and returns the document after the update', async (t) => {
  const c = await fresh('cas_probe');
  await c.insertOne({ id: 'r1', status: 'pending' });
  const won = await c.findOneAndUpdate({ id: 'r1', status: 'pending' }, { $set: { status: 'approved' } }, { returnDocument: 'after' });
  t.is(won?.status, 'approved');
  const lost = await c.findOneAndUpdate({ id: 'r1', status: 'pending' }, { $set: { status: 'denied' } }, { returnDocument: 'after' });
  t.is(lost, null);
  await c.insertOne({ id: 'e1' });
  const bound = await c.findOneAndUpdate({ id: 'e1', 'chat.slack': { $exists: false } }, { $set: { 'chat.slack': 'U1' } }, { returnDocument: 'after' });
  t.deepEqual(bound?.chat, { slack: 'U1' });
  t.is(await c.findOneAndUpdate({ id: 'e1', 'chat.slack': { $exists: false } }, { $set: { 'chat.slack': 'U2' } }), null);
  const inList = await c.findOneAndUpdate({ id: 'r1', status: { $in: ['approved', 'pending'] } }, { $set: { status: 'expired' } }, { returnDocument: 'after' });
  t.is(inList?.status, 'expired');
});

test('a cursor streams with a small batchSize across getMore calls, in sort order', async (t) => {
  const c = await fresh('cursor_probe');
  await c.insertMany(Array.from({ length: 250 }, (_, i) => ({ n: i, id: `C-${String(i).padStart(6, '0')}` })));
  const seen: number[] = [];
  for await (const d of c.find({ n: { $gte: 10 } }).sort({ id: 1 }).batchSize(40)) seen.push(d.n as number);
  t.is(seen.length, 240);
  t.deepEqual(seen.slice(0, 3), [10, 11, 12]);
  t.is(seen.at(-1), 249);
});

test('$regex (escaped, case-insensitive) and $in / $all over a multikey index', async (t) => {
  const c = await fresh('search_probe');
  await c.createIndex({ tokens: 1 });
  await c.insertMany([
    { id: 1, search: 'john smith\nacme (asia) ltd.', tokens: ['jo', 'oh', 'sm', 'mi', 'ac'] },
    { id: 2, search: '欧阳娜娜\n上海星河科技', tokens: ['欧阳', '阳娜', '星河', '河科'] },
    { id: 3, search: '深圳河科电子', tokens: ['河科', '科电'] },
  ]);
  const ids = async (filter: Document) => (await c.find(filter).sort({ id: 1 }).toArray()).map((d) => d.id);
  t.deepEqual(await ids({ search: { $regex: 'ACME \\(ASIA\\)', $options: 'i' } }), [1]);
  t.deepEqual(await ids({ search: { $regex: '星河科', $options: 'i' } }), [2]);
  t.deepEqual(await ids({ tokens: { $in: ['河科', 'zz'] } }), [2, 3]);
  t.deepEqual(await ids({ tokens: { $all: ['星河', '河科'] } }), [2]);
  t.deepEqual(await ids({ $and: [{ tokens: { $all: ['河科'] }, search: { $regex: '河科', $options: 'i' } }, { id: { $in: [3] } }] }), [3]);
});

test('bulkWrite upserts (replaceOne and updateOne with $set/$unset), unordered, with accurate counts', async (t) => {
  const c = await fresh('bulk_probe');
  await c.createIndex({ key: 1 }, { unique: true });
  await c.insertOne({ key: 'a', v: 1, extra: true });
  const res = await c.bulkWrite([
    { replaceOne: { filter: { key: 'a' }, replacement: { key: 'a', v: 2 }, upsert: true } },
    { replaceOne: { filter: { key: 'b' }, replacement: { key: 'b', v: 1 }, upsert: true } },
    { updateOne: { filter: { key: 'c' }, update: { $set: { v: 1 } }, upsert: true } },
  ], { ordered: false });
  t.is(res.upsertedCount, 2);
  t.is(res.matchedCount, 1);
  t.deepEqual(await c.findOne({ key: 'a' }, { projection: { _id: 0 } }), { key: 'a', v: 2 });
  t.deepEqual(await c.findOne({ key: 'c' }, { projection: { _id: 0 } }), { key: 'c', v: 1 });
  await c.bulkWrite([{ updateOne: { filter: { key: 'c' }, update: { $set: { w: 2 }, $unset: { v: 1 } }, upsert: true } }], { ordered: false });
  t.deepEqual(await c.findOne({ key: 'c' }, { projection: { _id: 0 } }), { key: 'c', w: 2 });
});

// FerretDB 1.24 hangs when the `update` commands in progress carry as many statements as its connection
// pool holds (50 on PostgreSQL), so the store sends at most UPDATE_CHUNK per command; this proves a large change set goes through that way.
test('a large replace set goes through in UPDATE_CHUNK-sized bulkWrites', async (t) => {
  const c = await fresh('chunk_probe');
  await c.createIndex({ key: 1 }, { unique: true });
  await c.insertMany(Array.from({ length: 130 }, (_, i) => ({ key: i, v: 0 })));
  let matched = 0;
  for (let i = 0; i < 130; i += UPDATE_CHUNK) {
    const ops = Array.from({ length: Math.min(UPDATE_CHUNK, 130 - i) }, (_, k) => ({
      replaceOne: { filter: { key: i + k }, replacement: { key: i + k, v: 1 }, upsert: true },
    }));
    matched += (await c.bulkWrite(ops, { ordered: false })).matchedCount;
  }
  t.is(matched, 130);
  t.is(await c.countDocuments({ v: 1 }), 130);
});
