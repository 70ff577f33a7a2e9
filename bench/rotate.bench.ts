// `npm run bench -- rotate`: `custos keys rotate` (bot/store/key-rotation.ts: read a batch of wrapped
// data keys, unwrap under the old master key, wrap under the new one, compare-and-swap update) against a
// raw read-and-write of the same documents in the same run on the same server: the same batched find and
// the same conditional updates, without the cryptography (a copy of the collection, with its indexes).
// The baseline runs in two halves, before and after the rotation (the shared machine's load drifts).
// Last stdout line: {"bench":"rotate","rate":…,"baseline_rate":…,"ratio":…}
import { randomBytes } from 'node:crypto';
import mongoose, { type Connection } from 'mongoose';
import { FieldCipher } from '../bot/store/crypto.ts';
import { toCustomerDoc } from '../bot/store/customer-doc.ts';
import { ensureIndexes } from '../bot/store/db.ts';
import { demoCustomers } from '../bot/store/demo-data.ts';
import { keyStatus, ROTATE_UPDATE_CHUNK, rotateKeys } from '../bot/store/key-rotation.ts';
import { customerSchema } from '../bot/store/models.ts';
import { now, report, requireEnv, round } from './lib.ts';

const N = Number(process.env.BENCH_ROTATE_CUSTOMERS ?? 5000);
const BATCH = 500;
const log = (msg: string) => process.stderr.write(`rotate bench: ${msg}\n`);

async function load(conn: Connection, cipher: FieldCipher): Promise<void> {
  await ensureIndexes(conn);
  const raw = conn.collection('customers_raw');
  await conn.createCollection('customers_raw');
  for (const [fields, options] of customerSchema.indexes()) await raw.createIndex(fields as Record<string, 1>, options as Record<string, unknown>);
  let batch: Record<string, unknown>[] = [];
  const flush = async () => {
    await conn.collection('customers').insertMany(batch.map((d) => ({ ...d })), { ordered: false });
    await raw.insertMany(batch, { ordered: false });
    batch = [];
  };
  for (const c of demoCustomers(N, 'bench-rotate')) {
    const doc = toCustomerDoc(c, cipher);
    batch.push({ _id: doc.customerId, ...doc });
    if (batch.length >= 1000) await flush();
  }
  if (batch.length) await flush();
}

/** The rotation's reads and writes without its cryptography: `count` documents moved from k1 to `raw`. */
async function rawReadWrite(conn: Connection, count: number): Promise<number> {
  const coll = conn.collection('customers_raw');
  const t0 = now();
  let done = 0;
  while (done < count) {
    const batch = await coll.find({ kek: 'k1' }, { projection: { customerId: 1, dek: 1 } }).limit(Math.min(BATCH, count - done)).toArray();
    if (batch.length === 0) break;
    const updates = batch.map((d) => ({ updateOne: { filter: { _id: d._id, dek: d.dek }, update: { $set: { dek: String(d.dek), kek: 'raw' } } } }));
    for (let i = 0; i < updates.length; i += ROTATE_UPDATE_CHUNK) await coll.bulkWrite(updates.slice(i, i + ROTATE_UPDATE_CHUNK), { ordered: false });
    done += batch.length;
  }
  return (now() - t0) / 1000;
}

async function main(): Promise<void> {
  const uri = requireEnv('MONGODB_URI');
  const conn = await mongoose.createConnection(uri, { dbName: `bench_rotate_${process.pid}`, autoIndex: false, serverSelectionTimeoutMS: 10_000 }).asPromise();
  await conn.dropDatabase();
  try {
    const blindIndexKey = randomBytes(32);
    const k1 = { id: 'k1', key: randomBytes(32) };
    await load(conn, new FieldCipher({ dataKeys: [k1], blindIndexKey }));
    log(`${N} customers under k1, in customers and in the raw copy`);
    const half = Math.floor(N / 2);
    const rawBefore = await rawReadWrite(conn, half);
    // A fresh cipher: its key cache is empty, so every data key is really unwrapped.
    const rotating = new FieldCipher({ dataKeys: [{ id: 'k2', key: randomBytes(32) }, k1], blindIndexKey });
    const t0 = now();
    const r = await rotateKeys(conn, rotating, { batchSize: BATCH });
    const seconds = (now() - t0) / 1000;
    const rawAfter = await rawReadWrite(conn, N - half);
    if (r.rewrapped !== N || (await keyStatus(conn, ['k1'])).k1 !== 0) throw new Error(`rotation incomplete: ${JSON.stringify(r)}`);
    const rate = N / seconds;
    const baselineRate = N / (rawBefore + rawAfter);
    log(`rotation: ${round(rate, 0)} customers/s (${round(seconds, 1)} s); raw read+write: ${round(baselineRate, 0)} customers/s (${round(rawBefore, 1)} s + ${round(rawAfter, 1)} s)`);
    report({ bench: 'rotate', rate: round(rate, 1), baseline_rate: round(baselineRate, 1), ratio: round(rate / baselineRate, 3), customers: N });
  } finally {
    await conn.dropDatabase().catch(() => undefined);
    await conn.close().catch(() => undefined);
  }
}

await main();
