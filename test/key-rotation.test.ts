// `custos keys rotate` under SIGKILL: customers wrapped under k1, the real CLI run with `k2:NEW,k1:OLD`
// and killed at random points mid-run (after a random number of progress lines), then run to the end.
// After every kill every customer still decrypts (under whichever key its document names); at the end
// `keys status` shows 0 under k1 and every customer decrypts with k2 alone, equal to what was written.
// ROTATE_TEST_CUSTOMERS=100000 for the size (default small, so the suite stays fast); run it on
// FerretDB-on-PostgreSQL (`scripts/with-services.mjs --prefer-postgres`), which then gets the GIN indexes
// on `_id` and `kek` its pushdown can use (bench/ferretdb-pg.ts), as MongoDB has its own `_id` index:
// without them every single-document update on FerretDB is a scan of the whole collection.
import test from 'ava';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { Customer } from '../bot/core/domain.ts';
import { indexEqualityPushdown } from '../bench/ferretdb-pg.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { canonicalJson, toCustomerDoc } from '../bot/store/customer-doc.ts';
import { CustomerStore } from '../bot/store/customer-store.ts';
import { ensureIndexes } from '../bot/store/db.ts';
import { demoCustomers } from '../bot/store/demo-data.ts';
import { keyStatus, reindexCustomers } from '../bot/store/key-rotation.ts';
import { custosArgs, root, runCli } from './helpers/run-custos.ts';
import { testDatabase, testEnv, uniqueName } from './helpers/services.ts';

// 120 customers in batches of 10: twelve batches, so each of the three kills (after 1-3 progress lines)
// lands with batches left to do. More only costs: on FerretDB-on-SQLite every conditional update scans
// the collection (200 customers took 16.6 s of FerretDB CPU). ROTATE_TEST_CUSTOMERS for a bigger run.
const N = Number(process.env.ROTATE_TEST_CUSTOMERS ?? 120);
const BATCH = Math.max(10, Math.floor(N / 20));
const KILLS = Number(process.env.ROTATE_TEST_KILLS ?? 3);

const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };
const blindIndexKey = randomBytes(32);
const b64 = (b: Buffer) => b.toString('base64');

/** Runs `keys rotate`, SIGKILLs it on its `killAfter`-th progress line; resolves with how it ended. */
function rotateUntilKilled(env: NodeJS.ProcessEnv, killAfter: number): Promise<{ killed: boolean; code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, custosArgs(['keys', 'rotate', '--batch', String(BATCH)]), { cwd: root, env: { PATH: process.env.PATH, ...env } });
    let lines = 0;
    let stdout = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => {
      lines += (d.toString().match(/keys rotate: /g) ?? []).length;
      if (!killed && lines >= killAfter) { killed = true; child.kill('SIGKILL'); }
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ killed, code, stdout }));
  });
}

test('keys rotate survives SIGKILL at random points; every customer ends wrapped under k2 and decrypts with k2 alone', async (t) => {
  t.timeout(Math.max(300_000, N * 20));
  const db = await testDatabase(import.meta.url);
  t.teardown(db.drop);
  await ensureIndexes(db.conn);
  const underK1 = new FieldCipher({ dataKeys: [k1], blindIndexKey });
  const before = new CustomerStore(db.conn, underK1);
  const written: Customer[] = [];
  let batch: Customer[] = [];
  for (const c of demoCustomers(N, 'rotate-test')) {
    written.push(c);
    batch.push(c);
    if (batch.length === 1000) { await before.upsertDocs(batch.map((x) => toCustomerDoc(x, underK1))); batch = []; }
  }
  if (batch.length) await before.upsertMany(batch);
  indexEqualityPushdown(db.name, 'customers', ['_id', 'kek']);
  t.deepEqual(await keyStatus(db.conn, ['k2', 'k1']), { k2: 0, k1: N });

  const env = testEnv(db.name, uniqueName(import.meta.url, 'prefix'), {
    CUSTOS_DATA_KEYS: `k2:${b64(k2.key)},k1:${b64(k1.key)}`, CUSTOS_BLIND_INDEX_KEY: b64(blindIndexKey), CUSTOS_ROTATE_PROGRESS_EVERY_BATCH: '1',
  });
  const both = new CustomerStore(db.conn, new FieldCipher({ dataKeys: [k2, k1], blindIndexKey }));
  const batches = Math.ceil(N / BATCH);
  const killPoints = fc.sample(fc.integer({ min: 1, max: Math.max(1, Math.floor(batches / (KILLS + 1))) }), { numRuns: KILLS, seed: Number(process.env.ROTATE_TEST_SEED ?? Date.now() % 100_000) });
  t.log(`${N} customers, batches of ${BATCH}; kills after ${killPoints.join(', ')} progress line(s)`);
  let killedMidRun = 0;
  // One status per run (FerretDB counts by reading every document: 100,000 of them take a while).
  let now = N;
  for (const killAfter of killPoints) {
    const left = now;
    const run = await rotateUntilKilled(env, killAfter);
    now = (await keyStatus(db.conn, ['k1'])).k1!;
    if (run.killed && now > 0) killedMidRun++;
    t.true(now < left || left === 0, `each run makes progress (${left} → ${now})`);
    // Mid-rotation, every customer reads back (some under k1, some under k2), a sample checked fully.
    const sample = await both.find({ kind: 'id', value: written[Math.floor(Math.random() * N)]!.customerId }, {}, 1);
    t.is(sample.length, 1);
  }
  t.true(killedMidRun >= 1, 'at least one SIGKILL landed in the middle of the rotation');
  const finish = await runCli(['keys', 'rotate', '--batch', String(BATCH)], env);
  t.is(finish.code, 0, finish.stderr);
  t.regex(finish.stdout, /k1: 0 customer\(s\) \(no customer left: may be removed from CUSTOS_DATA_KEYS\)/);
  const status = await runCli(['keys', 'status'], env);
  t.regex(status.stdout, new RegExp(`k2: ${N} customer\\(s\\) \\(current`));
  t.regex(status.stdout, /k1: 0 customer/);

  const onlyK2 = new CustomerStore(db.conn, new FieldCipher({ dataKeys: [k2], blindIndexKey }));
  const byId = new Map(written.map((c) => [c.customerId, canonicalJson(c)]));
  let read = 0;
  const different: string[] = [];
  for await (const c of onlyK2.stream({})) {
    if (canonicalJson(c) !== byId.get(c.customerId)) different.push(c.customerId);
    read++;
  }
  t.is(read, N);
  t.deepEqual(different, [], 'every customer decrypts with k2 alone to what was written');
});

test('keys reindex rewrites every customer under a new blind-index and search-token key; a second run rewrites nothing', async (t) => {
  const db = await testDatabase(import.meta.url);
  t.teardown(db.drop);
  await ensureIndexes(db.conn);
  const customers = [...demoCustomers(40, 'reindex-test')];
  await new CustomerStore(db.conn, new FieldCipher({ dataKeys: [k1], blindIndexKey })).upsertMany(customers);
  const newKeys = new FieldCipher({ dataKeys: [k1], blindIndexKey: randomBytes(32), searchTokenKey: randomBytes(32) });
  const store = new CustomerStore(db.conn, newKeys);
  const withPhone = customers.find((c) => c.phone)!;
  t.deepEqual(await store.find({ kind: 'phone', value: withPhone.phone! }, {}, 5), [], 'not found under the new keys before the re-index');
  t.deepEqual(await reindexCustomers(store, { batchSize: 7 }), { rewritten: 40, unchanged: 0 });
  t.deepEqual((await store.find({ kind: 'phone', value: withPhone.phone! }, {}, 5)).map((c) => c.customerId).includes(withPhone.customerId), true);
  const fragment = Array.from(customers[3]!.name).slice(0, 3).join('');
  t.true((await store.find({ kind: 'text', value: fragment }, {}, 50)).some((c) => c.customerId === customers[3]!.customerId), fragment);
  t.deepEqual(await reindexCustomers(store, { batchSize: 7 }), { rewritten: 0, unchanged: 40 }, 'resumable: what is current is left alone');
});
