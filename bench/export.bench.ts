// `npm run bench -- export`: the real export writer (per-row policy decision, permitted columns, masks,
// canary row, zero-width marker per row, UTF-8 BOM CSV to a file) against a raw cursor-to-CSV dump of
// the same rows and columns (decrypting cursor, formatted values, CSV quoting, no policy) in the same
// run on the same server. The finance head exports every customer (unscoped export rule).
// 1. Inserts 100,000 demo customers (not timed).
// 2. Exports 20,000 (segment tier subset is not used: a row cap) and 100,000 rows, sampling peak RSS:
//    memory must not grow with the row count.
// 3. Baseline dump of the 100,000 rows, half before and half after the export (shared machine).
// On FerretDB 1.24 (either backend) the stream's sort by customerId is not pushed down: FerretDB reads
// and sorts the whole collection in its own memory before the first row (measured at 100,000 rows on
// PostgreSQL under load: ~4-5 min and 2 GB of FerretDB RSS per pass), which both sides pay alike;
// MongoDB walks the customerId index instead. peak_rss_mb is this process's, not the server's.
// Last stdout line: {"bench":"export","rate":…,"baseline_rate":…,"ratio":…,"peak_rss_mb":…}
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import type { CustomerField } from '../bot/core/domain.ts';
import { csvCell, UTF8_BOM, watermarkKey } from '../bot/core/export-watermark.ts';
import { formatValue } from '../bot/core/view.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { toCustomerDoc } from '../bot/store/customer-doc.ts';
import { CustomerStore } from '../bot/store/customer-store.ts';
import { ensureIndexes } from '../bot/store/db.ts';
import { demoEmployee } from '../bot/store/demo-company.ts';
import { demoCustomers } from '../bot/store/demo-data.ts';
import { customerModel } from '../bot/store/models.ts';
import { createPolicyEngine, loadPolicy } from '../policies/index.ts';
import { runExport } from '../workers/export/run.ts';
import { now, peakRss, report, requireEnv, round } from './lib.ts';

const ROWS = Number(process.env.BENCH_EXPORT_ROWS ?? 100_000);
const FIELDS: CustomerField[] = ['name', 'company', 'region', 'contractAmount', 'paymentStatus', 'bankAccount'];
const log = (msg: string) => process.stderr.write(`export bench: ${msg}\n`);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

const conn = await mongoose.createConnection(requireEnv('MONGODB_URI'), { dbName: `bench_export_${process.pid}`, autoIndex: false }).asPromise();
const dir = mkdtempSync(path.join(os.tmpdir(), 'custos-export-bench-'));
try {
  await conn.dropDatabase();
  await ensureIndexes(conn);
  const cipher = new FieldCipher({ dataKeys: [{ id: 'k1', key: randomBytes(32) }], blindIndexKey: randomBytes(32) });
  const model = customerModel(conn);
  let batch: ReturnType<typeof toCustomerDoc>[] = [];
  for (const c of demoCustomers(ROWS, 'bench-export')) {
    batch.push({ ...toCustomerDoc(c, cipher), _id: c.customerId });
    if (batch.length === 1000) { await model.collection.insertMany(batch as never[], { ordered: false }); batch = []; }
  }
  if (batch.length) await model.collection.insertMany(batch as never[], { ordered: false });
  log(`inserted ${ROWS} customers`);

  const store = new CustomerStore(conn, cipher);
  const engine = createPolicyEngine(loadPolicy('policies'));
  const requester = demoEmployee('financeHead');
  const key = watermarkKey(randomBytes(32));
  const at = new Date(Date.parse('2026-06-30T02:30:00Z'));
  const canary = { ...[...demoCustomers(1, 'canary')][0]!, customerId: `C-${ROWS + 17}` };

  async function exportRun(maxRows: number): Promise<{ seconds: number; peakMb: number; rows: number }> {
    gc();
    const peak = peakRss();
    const t0 = now();
    const r = await runExport(engine, store, {
      exportId: `X-BENCH${maxRows}`, request: { requestId: 'R-BENCH', fields: FIELDS, segment: { conditions: {}, customerIds: [] }, purpose: 'bench' },
      grant: null, requester, at, maxRows, key, tagId: '0123456789ab', canary,
    }, path.join(dir, `export-${maxRows}.csv`));
    return { seconds: (now() - t0) / 1000, peakMb: peak.stop(), rows: r.realRows };
  }

  async function rawDump(limit: number): Promise<{ seconds: number; rows: number }> {
    gc();
    const t0 = now();
    const out = createWriteStream(path.join(dir, `raw-${limit}.csv`), { encoding: 'utf8' });
    if (!out.write(`${UTF8_BOM}${['customerId', ...FIELDS].join(',')}\r\n`)) await once(out, 'drain');
    let rows = 0;
    for await (const c of store.stream({})) {
      if (rows >= limit) break;
      const line = `${[c.customerId, ...FIELDS.map((f) => formatValue(c[f]))].map(csvCell).join(',')}\r\n`;
      if (!out.write(line)) await once(out, 'drain');
      rows++;
    }
    out.end();
    await once(out, 'finish');
    return { seconds: (now() - t0) / 1000, rows };
  }

  const small = await exportRun(Math.round(ROWS / 5));
  log(`export ${small.rows} rows: ${round(small.seconds)} s, peak ${round(small.peakMb)} MiB`);
  const before = await rawDump(ROWS / 2);
  const big = await exportRun(ROWS);
  const after = await rawDump(ROWS / 2);
  log(`export ${big.rows} rows: ${round(big.seconds)} s, peak ${round(big.peakMb)} MiB; raw dump halves ${round(before.seconds)} s + ${round(after.seconds)} s`);
  const rate = big.rows / big.seconds;
  const baselineRate = (before.rows + after.rows) / (before.seconds + after.seconds);
  report({
    bench: 'export', rate: round(rate, 0), baseline_rate: round(baselineRate, 0), ratio: round(rate / baselineRate, 3),
    peak_rss_mb: round(big.peakMb, 1), peak_rss_mb_small: round(small.peakMb, 1), rows: big.rows,
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
  await conn.dropDatabase().catch(() => undefined);
  await conn.close();
}
