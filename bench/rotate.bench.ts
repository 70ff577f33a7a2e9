// `npm run bench -- rotate`: `custos keys rotate` (bot/store/key-rotation.ts: one cursor over the wrapped
// data keys, each unwrapped under the old master key and wrapped under the new one, compare-and-swap
// updates, the next batch read while this one is written) against a raw read-and-write of the same
// documents in the same run on the same server: the same pass (`rewrapPass`) with the identity instead
// of the cryptography, over a copy of the collection with its indexes. The baseline runs in two halves
// (its copy's documents are split between two key ids), before and after the rotation (the shared
// machine's load drifts). On FerretDB-on-PostgreSQL both collections get the GIN indexes on `_id` and
// `kek` its pushdown can use (ferretdb-pg.ts): without them every single-document update is a scan.
// Last stdout line: {"bench":"rotate","rate":…,"baseline_rate":…,"ratio":…}
import { randomBytes } from 'node:crypto';
import mongoose, { type Connection } from 'mongoose';
import { FieldCipher } from '../bot/store/crypto.ts';
import { toCustomerDoc } from '../bot/store/customer-doc.ts';
import { ensureIndexes } from '../bot/store/db.ts';
import { demoCustomers } from '../bot/store/demo-data.ts';
import { keyStatus, rewrapPass, rotateKeys } from '../bot/store/key-rotation.ts';
import { customerSchema } from '../bot/store/models.ts';
import { indexEqualityPushdown } from './ferretdb-pg.ts';
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
    await conn.collection('customers').insertMany(batch.map((d) => ({ ...d, kek: 'k1' })), { ordered: false });
    await raw.insertMany(batch, { ordered: false });
    batch = [];
  };
  let i = 0;
  for (const c of demoCustomers(N, 'bench-rotate')) {
    const doc = toCustomerDoc(c, cipher);
    // The raw copy's halves under r1 and r2: the baseline's two runs (before and after the rotation).
    batch.push({ _id: doc.customerId, ...doc, kek: i++ < N / 2 ? 'r1' : 'r2' });
    if (batch.length >= 1000) await flush();
  }
  if (batch.length) await flush();
  for (const coll of ['customers', 'customers_raw']) indexEqualityPushdown(conn.name, coll, ['_id', 'kek']);
}

/** The rotation's reads and writes without its cryptography: the raw copy's `half` moved to `raw`. */
async function rawReadWrite(conn: Connection, half: 'r1' | 'r2'): Promise<number> {
  const t0 = now();
  const pass = await rewrapPass(conn.collection('customers_raw'), half, 'raw', (_id, dek) => dek, { batchSize: BATCH });
  if (pass.rewrapped !== pass.read || pass.read === 0) throw new Error(`baseline incomplete: ${JSON.stringify(pass)}`);
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
    const rawBefore = await rawReadWrite(conn, 'r1');
    // A fresh cipher: its key cache is empty, so every data key is really unwrapped.
    const rotating = new FieldCipher({ dataKeys: [{ id: 'k2', key: randomBytes(32) }, k1], blindIndexKey });
    const t0 = now();
    const r = await rotateKeys(conn, rotating, { batchSize: BATCH });
    const seconds = (now() - t0) / 1000;
    const rawAfter = await rawReadWrite(conn, 'r2');
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
