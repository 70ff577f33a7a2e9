// Regression: an employee import's offboarding pass stopped making progress from about 1,000 rows on
// FerretDB-on-PostgreSQL (idle connections, no CPU). Cause: FerretDB 1.24 holds one backend connection
// per statement of an `update` command until the command ends; the import rewrote its 200-row batches
// 50 statements at a time, which used up the 50-connection pool and hung FerretDB for every client.
// These tests run the paths that hung: the full import-then-offboard of a directory through the real
// offboarding service, and several bulk employee writers at once (an import next to another writer),
// which on SQLite (pool ~100) hung too with 50-statement commands. A hang fails the test by timeout.
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { employeeEffects } from '../bot/cli/commands/employee-effects.ts';
import type { Department, Employee } from '../bot/core/domain.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { ensureIndexes } from '../bot/store/db.ts';
import { EmployeeStore } from '../bot/store/employee-store.ts';
import { MongoGrantStore } from '../bot/store/grant-store.ts';
import { importFile } from '../bot/store/import.ts';
import { dropPrefix, testDatabase, testEnv, uniqueName } from './helpers/services.ts';

const cipher = new FieldCipher({ dataKeys: [{ id: 'k1', key: Buffer.alloc(32, 3) }], blindIndexKey: Buffer.alloc(32, 4) });
const ROWS = 120; // two import batches (batchSize 100), each far more than one update command

function directoryCsv(t: ExecutionContext, status: 'active' | 'offboarded'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'custos-offboard-scale-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rows = ['employeeId,email,name,department,roles,region,status'];
  for (let i = 0; i < ROWS; i++) rows.push(`E-${7000 + i},scale${i}@corp.example,Scale ${i},sales,staff,east,${status}`);
  const file = path.join(dir, `${status}.csv`);
  writeFileSync(file, `${rows.join('\n')}\n`);
  return file;
}

async function freshDb(t: ExecutionContext) {
  const db = await testDatabase(import.meta.url);
  t.teardown(db.drop);
  await ensureIndexes(db.conn);
  return db;
}

test('importing a directory and then the same file as offboarded offboards everyone, grants revoked and audited', async (t) => {
  t.timeout(300_000); // bulk writes on FerretDB on a shared, loaded machine
  const db = await freshDb(t);
  const prefix = uniqueName(import.meta.url, 'prefix');
  t.teardown(() => dropPrefix(prefix));
  const effects = employeeEffects(db.conn, testEnv(db.name, prefix));
  t.teardown(() => effects.close());

  const first = await importFile(db.conn, cipher, 'employees', directoryCsv(t, 'active'), { employeeChanges: effects.handler, batchSize: 100 });
  t.like(first, { inserted: ROWS, rejected: 0 });
  const grants = new MongoGrantStore(db.conn);
  const now = new Date();
  const holders = ['E-7000', 'E-7060', `E-${7000 + ROWS - 1}`];
  for (const id of holders) {
    await grants.create({
      grantId: `G-${id}`, granteeId: id, target: { kind: 'customers', customerIds: ['C-000001'] }, groups: ['sales'],
      actions: ['lookup'], expiresAt: new Date(now.getTime() + 3_600_000), grantedBy: ['E-0001'], purpose: 'renewal', createdAt: now,
    });
  }

  const second = await importFile(db.conn, cipher, 'employees', directoryCsv(t, 'offboarded'), { employeeChanges: effects.handler, batchSize: 100 });
  t.like(second, { updated: ROWS, rejected: 0 });
  t.is(second.changes?.offboarded.length, ROWS, 'every row offboarded through the offboarding service');
  t.is(second.changes?.offboarded.filter((o) => o.grants === 1).length, holders.length, 'each grant holder lost their grant');
  t.is(await db.conn.collection('employees').countDocuments({ status: 'offboarded' }), ROWS);
  for (const id of holders) t.is((await grants.activeFor(id, new Date())).length, 0, `${id} has no grant left`);
});

test('several bulk employee writers at once all finish (each stays within the update command size)', async (t) => {
  t.timeout(300_000); // bulk writes on FerretDB on a shared, loaded machine
  const db = await freshDb(t);
  const store = new EmployeeStore(db.conn);
  const employee = (i: number, department: Department): Employee => ({
    employeeId: `E-${8000 + i}`, email: `w${i}@corp.example`, name: `Writer ${i}`, department, roles: ['staff'], region: 'east',
    timezone: 'Asia/Shanghai', locale: 'en', status: 'active', external: false, chat: {},
  });
  const writers = 4;
  const each = 40; // 4 x 40 statements at once: more than FerretDB's pool on SQLite (~100) and PostgreSQL (50)
  const all = (department: Department) => Array.from({ length: writers }, (_, w) => Array.from({ length: each }, (_, k) => employee(w * each + k, department)));
  for (const batch of all('sales')) await store.upsertMany(batch);
  // Every row changed: each writer sends its rows as update commands, all four at the same time.
  const counts = await Promise.all(all('support').map((batch) => store.upsertMany(batch)));
  t.deepEqual(counts.map((c) => c.updated), Array.from({ length: writers }, () => each));
  t.is(await db.conn.collection('employees').countDocuments({ department: 'support' }), writers * each);
});
