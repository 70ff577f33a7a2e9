// `npm run bench -- import`: the real importer (two streaming passes, zod validation, AES-GCM encryption,
// blind indexes, search tokens, idempotent upsert) against a raw `insertMany` of the same, already
// prepared documents into a collection with the same indexes, in the same run on the same server.
//
// 1. Writes demo customers as JSON Lines to a temp dir: 20,000 and 100,000 rows.
// 2. Imports the 20,000-row file, then the 100,000-row file, each into an empty collection, sampling
//    peak RSS during each: memory must not grow with the file (the files differ 5x in size).
// 3. Baseline: the same 100,000 customers built into stored documents batch by batch (not timed) and
//    inserted with `insertMany(batch, { ordered: false })` (timed), batches of the importer's size,
//    half just before and half just after the importer run (the shared machine's load drifts).
// Last stdout line: {"bench":"import","rate":…,"baseline_rate":…,"ratio":…,"peak_rss_mb":…}
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose, { type Connection } from 'mongoose';
import { FieldCipher } from '../bot/store/crypto.ts';
import { toCustomerDoc } from '../bot/store/customer-doc.ts';
import { ensureIndexes } from '../bot/store/db.ts';
import { demoCustomers } from '../bot/store/demo-data.ts';
import { importFile } from '../bot/store/import.ts';
import { customerSchema } from '../bot/store/models.ts';
import { now, peakRss, report, requireEnv, round } from './lib.ts';

const BIG = Number(process.env.BENCH_IMPORT_ROWS ?? 100_000);
const SMALL = Math.round(BIG / 5);
const BATCH = 1000;
const SEED = 'bench-import';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const log = (msg: string) => process.stderr.write(`import bench: ${msg}\n`);

async function writeJsonLines(file: string, count: number): Promise<void> {
  const out = createWriteStream(file);
  for (const c of demoCustomers(count, SEED)) {
    if (!out.write(`${JSON.stringify(c)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function freshDatabase(uri: string, name: string): Promise<Connection> {
  const conn = await mongoose.createConnection(uri, { dbName: name, autoIndex: false, serverSelectionTimeoutMS: 10_000 }).asPromise();
  await conn.dropDatabase();
  return conn;
}

async function timedImport(conn: Connection, cipher: FieldCipher, file: string, rows: number): Promise<{ seconds: number; peakMb: number }> {
  await ensureIndexes(conn);
  gc();
  const rss = peakRss(10);
  const t0 = now();
  const r = await importFile(conn, cipher, 'customers', file, { batchSize: BATCH });
  const seconds = (now() - t0) / 1000;
  const peakMb = rss.stop();
  if (r.inserted !== rows || r.rejected !== 0) throw new Error(`import bench: expected ${rows} inserted, got ${JSON.stringify({ ...r, errors: r.errors.slice(0, 3) })}`);
  return { seconds, peakMb };
}

/**
 * Raw insertMany of the same prepared documents (rows `from`..`to`-1 of the same seeded sequence) into a
 * collection with the same indexes. Only the insertMany calls are timed.
 */
async function baseline(conn: Connection, cipher: FieldCipher, from: number, to: number): Promise<number> {
  const coll = conn.collection('customers_raw');
  if (from === 0) {
    await conn.createCollection('customers_raw');
    for (const [fields, options] of customerSchema.indexes()) await coll.createIndex(fields as Record<string, 1>, options as Record<string, unknown>);
  }
  let timed = 0;
  let batch: Record<string, unknown>[] = [];
  const flush = async () => {
    const t0 = now();
    await coll.insertMany(batch, { ordered: false });
    timed += now() - t0;
    batch = [];
  };
  let i = 0;
  for (const c of demoCustomers(to, SEED)) {
    if (i++ < from) continue;
    const doc = toCustomerDoc(c, cipher);
    batch.push({ _id: doc.customerId, ...doc }); // exactly what the store inserts
    if (batch.length >= BATCH) await flush();
  }
  if (batch.length) await flush();
  if (await coll.countDocuments({}) !== to) throw new Error('baseline did not insert every document');
  return timed / 1000;
}

async function main(): Promise<void> {
  const uri = requireEnv('MONGODB_URI');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'custos-bench-import-'));
  const cipher = new FieldCipher({ dataKeys: [{ id: 'bench', key: Buffer.alloc(32, 1) }], blindIndexKey: Buffer.alloc(32, 2) });
  const dbName = `bench_import_${process.pid}`;
  const conn = await freshDatabase(uri, dbName);
  try {
    const small = path.join(dir, `customers-${SMALL}.jsonl`);
    const big = path.join(dir, `customers-${BIG}.jsonl`);
    await writeJsonLines(small, SMALL);
    await writeJsonLines(big, BIG);
    log(`files: ${SMALL} rows ${round(statSync(small).size / 1e6, 1)} MB, ${BIG} rows ${round(statSync(big).size / 1e6, 1)} MB`);

    const s = await timedImport(conn, cipher, small, SMALL);
    log(`importer ${SMALL}: ${round(SMALL / s.seconds, 0)} customers/s, peak RSS ${round(s.peakMb, 1)} MB`);
    await conn.dropDatabase();

    // The machine is shared and its load drifts, so the baseline is measured in two halves, one just
    // before and one just after the importer run, and the two are added up.
    const half = Math.floor(BIG / 2);
    const rawBefore = await baseline(conn, cipher, 0, half);
    const b = await timedImport(conn, cipher, big, BIG);
    const rate = BIG / b.seconds;
    log(`importer ${BIG}: ${round(rate, 0)} customers/s (${round(b.seconds, 1)} s), peak RSS ${round(b.peakMb, 1)} MB`);
    const rawAfter = await baseline(conn, cipher, half, BIG);
    const rawSeconds = rawBefore + rawAfter;
    const baselineRate = BIG / rawSeconds;
    log(`raw insertMany ${BIG}: ${round(baselineRate, 0)} customers/s (${round(rawBefore, 1)} s before + ${round(rawAfter, 1)} s after the importer)`);
    log(`peak RSS ${SMALL} rows: ${round(s.peakMb, 1)} MB; ${BIG} rows: ${round(b.peakMb, 1)} MB (growth ${round(b.peakMb / s.peakMb, 2)}x for a 5x file)`);

    process.stdout.write(`${JSON.stringify({ rows: BIG, importer_seconds: round(b.seconds, 2), raw_seconds: round(rawSeconds, 2), peak_rss_small_mb: round(s.peakMb, 1), small_rows: SMALL })}\n`);
    report({ bench: 'import', rate: round(rate, 1), baseline_rate: round(baselineRate, 1), ratio: round(rate / baselineRate, 3), peak_rss_mb: round(b.peakMb, 1) });
  } finally {
    await conn.dropDatabase().catch(() => undefined);
    await conn.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
