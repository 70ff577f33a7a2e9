// `custos import`: good and bad files, CSV and JSON Lines, all-or-nothing, --skip-invalid, idempotence,
// and the real CLI as a child process.
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Connection } from 'mongoose';
import { loadConfig, section } from '../bot/config.ts';
import { CustosError, ErrorCode } from '../bot/core/errors.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { CustomerStore } from '../bot/store/customer-store.ts';
import { ensureIndexes } from '../bot/store/db.ts';
import { EmployeeStore } from '../bot/store/employee-store.ts';
import { importFile, type ImportReport } from '../bot/store/import.ts';
import { CUSTOMER_COLLECTION } from '../bot/store/models.ts';
import { runCli } from './helpers/run-custos.ts';
import { testDatabase, testEnv, uniqueName } from './helpers/services.ts';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/import');
const fixture = (name: string) => path.join(fixtures, name);
const cipher = new FieldCipher({ dataKeys: [{ id: 'k1', key: Buffer.alloc(32, 3) }], blindIndexKey: Buffer.alloc(32, 4) });

/** Each test gets its own database: tests in a file run concurrently and count what was written. */
async function freshDb(t: ExecutionContext): Promise<Connection> {
  const db = await testDatabase(import.meta.url);
  t.teardown(db.drop);
  await ensureIndexes(db.conn);
  return db.conn;
}

const errorsOf = (r: ImportReport) => r.errors.map((e) => `${e.line}:${e.field}`);

test('a good CSV imports every row: encrypted, indexed and readable back', async (t) => {
  const conn = await freshDb(t);
  const r = await importFile(conn, cipher, 'customers', fixture('customers-good.csv'));
  t.like(r, { rows: 3, inserted: 3, updated: 0, unchanged: 0, rejected: 0, written: true, format: 'csv' });
  const store = new CustomerStore(conn, cipher);
  const [nana] = await store.find({ kind: 'phone', value: '13987654321' }, {}, 5);
  t.like(nana, {
    customerId: 'C-100001', name: '欧阳娜娜', email: 'Nana.OuYang@example.com', bankAccount: '6222020200112233445',
    idNumber: '11010519491231002X', campaigns: ['2025双十一', '春季新品'], disputes: ['逾期付款争议'], pipelineValue: 350000,
  });
  t.deepEqual(nana?.followUps, [{ at: new Date('2026-04-20T02:00:00Z'), by: 'E-0012', note: '电话沟通报价' }]);
  t.deepEqual(nana?.contracts?.[0]?.signedAt, new Date('2025-06-01T00:00:00Z'));
  t.is((await store.get('C-100002'))?.company, 'Acme (Asia) Ltd., HK', 'quoted cell with a comma');
  t.deepEqual((await store.find({ kind: 'text', value: '河科电子' }, {}, 5)).map((c) => c.customerId), ['C-100003']);
  t.deepEqual((await store.find({ kind: 'phone', value: '(0755) 2651 2345' }, {}, 5)).map((c) => c.customerId), ['C-100003']);
  const dump = JSON.stringify(await conn.collection(CUSTOMER_COLLECTION).find({}).toArray());
  for (const secret of ['13987654321', 'OuYang', '漕溪北路', '11010519491231002X', '6222020200112233445', 'john.smith', '26512345']) {
    t.false(dump.includes(secret), secret);
  }
});

test('re-importing the same file changes nothing; an edited file updates only the edited rows', async (t) => {
  const conn = await freshDb(t);
  await importFile(conn, cipher, 'customers', fixture('customers-good.csv'));
  t.like(await importFile(conn, cipher, 'customers', fixture('customers-good.csv')), { inserted: 0, updated: 0, unchanged: 3, rejected: 0 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'custos-import-'));
  const edited = path.join(dir, 'edited.jsonl');
  writeFileSync(edited, [
    '{"customerId":"C-100003","name":"深圳河科电子有限公司","type":"company","region":"south","tier":"gold","ownerId":"E-0015","status":"active"}',
    '{"customerId":"C-100004","name":"新客户","type":"person","region":"east","tier":"standard","ownerId":"E-0012","status":"lead"}',
  ].join('\n'));
  t.like(await importFile(conn, cipher, 'customers', edited), { inserted: 1, updated: 1, unchanged: 0 });
  const c3 = await new CustomerStore(conn, cipher).get('C-100003');
  t.is(c3?.tier, 'gold');
  t.is(c3?.phone, undefined, 'a replace: fields absent from the new row are gone');
});

test('a CSV with bad rows imports nothing and names each bad row by line, field and reason', async (t) => {
  const conn = await freshDb(t);
  const r = await importFile(conn, cipher, 'customers', fixture('customers-bad.csv'));
  t.like(r, { rows: 7, inserted: 0, rejected: 5, written: false });
  t.deepEqual(errorsOf(r), ['3:phone', '5:customerId', '6:name', '6:type', '7:(row)', '8:idNumber']);
  t.regex(r.errors.find((e) => e.line === 5)!.reason, /line 2/);
  t.regex(r.errors.find((e) => e.line === 8)!.reason, /check character/);
  t.regex(r.errors.find((e) => e.line === 6 && e.field === 'type')!.reason, /person, company/);
  t.false(JSON.stringify(r.errors).includes('12345'), 'reasons never echo the bad value');
  t.is(await conn.collection(CUSTOMER_COLLECTION).countDocuments({}), 0, 'the good rows were not written either');
});

test('--skip-invalid imports the good rows and reports the rest', async (t) => {
  const conn = await freshDb(t);
  const r = await importFile(conn, cipher, 'customers', fixture('customers-bad.csv'), { skipInvalid: true });
  t.like(r, { rows: 7, inserted: 2, rejected: 5, written: true });
  t.deepEqual(errorsOf(r), ['3:phone', '5:customerId', '6:name', '6:type', '7:(row)', '8:idNumber']);
  const ids = (await conn.collection(CUSTOMER_COLLECTION).find({}, { projection: { customerId: 1 } }).sort({ customerId: 1 }).toArray()).map((d) => d.customerId);
  t.deepEqual(ids, ['C-200001', 'C-200003'], 'the earlier of two duplicate rows is the one kept');
  t.is((await new CustomerStore(conn, cipher).get('C-200001'))?.name, '好客户');
});

test('JSON Lines: good file imports (blank lines skipped); bad lines are reported by line number', async (t) => {
  const conn = await freshDb(t);
  t.like(await importFile(conn, cipher, 'customers', fixture('customers-good.jsonl')), { rows: 2, inserted: 2, rejected: 0 });
  const [sima] = await new CustomerStore(conn, cipher).find({ kind: 'email', value: 'yunfei.sima@EXAMPLE.cn' }, {}, 1);
  t.like(sima, { customerId: 'C-300001', phone: '86 13612345678', campaigns: ['618年中大促'] });
  const bad = await importFile(conn, cipher, 'customers', fixture('customers-bad.jsonl'));
  t.like(bad, { rows: 4, rejected: 3, written: false });
  t.deepEqual(errorsOf(bad), ['2:(row)', '3:(row)', '4:satisfaction', '4:(row)']);
  t.regex(bad.errors[0]!.reason, /not valid JSON/);
  t.regex(bad.errors[3]!.reason, /unknown field\(s\): salary/);
  t.is(await new CustomerStore(conn, cipher).get('C-400001'), null);
});

test('progress is reported while checking and while writing, rows counting up to the whole file', async (t) => {
  const conn = await freshDb(t);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'custos-import-'));
  const file = path.join(dir, 'many.jsonl');
  writeFileSync(file, Array.from({ length: 250 }, (_, i) => JSON.stringify({
    customerId: `C-${String(500_000 + i)}`, name: `客户${i}`, type: 'person', region: 'east', tier: 'standard', ownerId: 'E-0012', status: 'active',
  })).join('\n'));
  const seen: [string, number][] = [];
  const r = await importFile(conn, cipher, 'customers', file, { batchSize: 100, progressEveryMs: 0, onProgress: (phase, rows) => seen.push([phase, rows]) });
  t.like(r, { rows: 250, inserted: 250, rejected: 0 });
  for (const phase of ['validate', 'write']) {
    const rows = seen.filter(([p]) => p === phase).map(([, n]) => n);
    t.true(rows.length > 1, `${phase}: reported more than once`);
    t.deepEqual(rows, [...rows].sort((a, b) => a - b), `${phase}: counts only go up`);
    t.is(rows.at(-1), 250, `${phase}: reaches the last row`);
  }
  t.true(seen.findIndex(([p]) => p === 'write') > seen.findLastIndex(([p]) => p === 'validate'), 'the whole file is checked before anything is written');
});

test('an unknown CSV column stops the import before any row, naming the column', async (t) => {
  const conn = await freshDb(t);
  const err = await t.throwsAsync(() => importFile(conn, cipher, 'customers', fixture('customers-unknown-column.csv')), { instanceOf: CustosError });
  t.is(err?.code, ErrorCode.ImportInvalid);
  t.regex(err!.message, /unknown column\(s\) telephone/);
  const missing = await t.throwsAsync(() => importFile(conn, cipher, 'customers', fixture('nope.csv')), { instanceOf: CustosError });
  t.is(missing?.code, ErrorCode.ImportFileUnreadable);
  const unknownFormat = await t.throwsAsync(() => importFile(conn, cipher, 'customers', fixture('../../import.test.ts')), { instanceOf: CustosError });
  t.regex(unknownFormat!.message, /--format csv\|jsonl/);
});

test('employees: import, idempotent re-import keeps chat bindings, duplicate and taken e-mails are refused', async (t) => {
  const conn = await freshDb(t);
  t.like(await importFile(conn, cipher, 'employees', fixture('employees-good.csv')), { inserted: 3, rejected: 0 });
  const dir = new EmployeeStore(conn);
  t.like(await dir.byEmail('li.lei@corp.example.com'), {
    employeeId: 'E-1001', roles: ['staff'], managerId: 'E-1002', timezone: 'Asia/Shanghai', locale: 'zh-CN', status: 'active', external: false,
  });
  t.like(await dir.byChatId('slack', 'U_HMM'), { employeeId: 'E-1002', roles: ['lead', 'head'] });
  t.like(await dir.byChatId('lark', 'ou_jim'), { employeeId: 'E-1003', external: true, locale: 'en' });
  await dir.bindChatId('E-1001', 'slack', 'U_LILEI');
  t.like(await importFile(conn, cipher, 'employees', fixture('employees-good.csv')), { inserted: 0, updated: 0, unchanged: 3 });
  t.is((await dir.byId('E-1001'))?.chat.slack, 'U_LILEI');

  const bad = await importFile(conn, cipher, 'employees', fixture('employees-bad.csv'));
  t.like(bad, { rejected: 3, written: false });
  t.deepEqual(errorsOf(bad), ['3:email', '4:roles.0', '4:timezone', '5:department']);
  t.is(await dir.byId('E-2001'), null);

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'custos-import-'));
  const taken = path.join(tmp, 'taken.jsonl');
  writeFileSync(taken, '{"employeeId":"E-1009","email":"LI.LEI@corp.example.com","name":"冒名","department":"sales","roles":["staff"],"region":"east"}\n');
  const conflict = await importFile(conn, cipher, 'employees', taken);
  t.deepEqual(conflict.errors, [{ line: 1, field: 'email', reason: 'already belongs to employee E-1001' }]);
});

test('employees: a row that brings an offboarded employee back is refused unless allowed, and allowed it still needs the audit queue', async (t) => {
  const conn = await freshDb(t);
  await importFile(conn, cipher, 'employees', fixture('employees-good.csv'));
  const dir = new EmployeeStore(conn);
  await dir.setStatus('E-1001', 'offboarded'); // left (a Slack deletion, an earlier import), HR's file not updated yet

  const refused = await importFile(conn, cipher, 'employees', fixture('employees-good.csv'));
  t.like(refused, { rejected: 1, written: false });
  t.deepEqual(errorsOf(refused), ['2:status']);
  t.regex(refused.errors[0]!.reason, /would bring back an offboarded employee; pass --allow-reactivation/);
  t.is((await dir.byId('E-1001'))?.status, 'offboarded');

  const skipped = await importFile(conn, cipher, 'employees', fixture('employees-good.csv'), { skipInvalid: true });
  t.like(skipped, { rejected: 1, unchanged: 2, written: true });
  t.is((await dir.byId('E-1001'))?.status, 'offboarded', 'the skipped row changed nothing');

  // Allowed, but nobody can audit it (no handler, i.e. no audit queue): refused before anything is written.
  const err = await t.throwsAsync(() => importFile(conn, cipher, 'employees', fixture('employees-good.csv'), { allowReactivation: true }), { instanceOf: CustosError });
  t.is(err?.code, ErrorCode.AuditUnavailable);
  t.regex(err!.message, /reactivates 1 employee\(s\), which must be audited/);
  t.is((await dir.byId('E-1001'))?.status, 'offboarded');
});

test('employees: an import never lifts a freeze, even when the row changed; it may freeze', async (t) => {
  const conn = await freshDb(t);
  await importFile(conn, cipher, 'employees', fixture('employees-good.csv'));
  const dir = new EmployeeStore(conn);
  await dir.setStatus('E-1002', 'frozen'); // frozen by an anomaly detector or an admin
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'custos-import-'));
  const edited = path.join(tmp, 'edited.csv');
  // HR edits the frozen lead's row (new region) and leaves the status column at active.
  writeFileSync(edited, readFileSync(fixture('employees-good.csv'), 'utf8').replace('lead;head,,east,', 'lead;head,,south,'));
  const r = await importFile(conn, cipher, 'employees', edited);
  t.like(r, { updated: 1, rejected: 0, written: true });
  t.deepEqual(r.changes?.keptFrozen, ['E-1002']);
  t.like(await dir.byId('E-1002'), { status: 'frozen', region: 'south' }, 'the edit is taken, the freeze is kept');
  t.like(await importFile(conn, cipher, 'employees', edited), { updated: 0, unchanged: 3 }, 'and re-importing changes nothing');

  const freezing = path.join(tmp, 'freezing.csv');
  writeFileSync(freezing, readFileSync(fixture('employees-good.csv'), 'utf8').replace('Europe/London,en,active,', 'Europe/London,en,frozen,'));
  await importFile(conn, cipher, 'employees', freezing);
  t.is((await dir.byId('E-1003'))?.status, 'frozen', 'a file may freeze someone');
});

test('the real CLI: bad file exits 1 and writes nothing; good file imports; help explains the format', async (t) => {
  const db = await testDatabase(import.meta.url);
  t.teardown(db.drop);
  const env = testEnv(db.name, uniqueName(import.meta.url, 'prefix'));
  const bad = await runCli(['import', 'customers', fixture('customers-bad.csv')], env);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /customers-bad\.csv: line 3: phone: is not a valid phone number/);
  t.regex(bad.stderr, /line 5: customerId: repeats the customerId of line 2/);
  t.regex(bad.stdout, /rejected: {2}5/);
  t.regex(bad.stdout, /nothing was imported/);
  t.is(await db.conn.collection(CUSTOMER_COLLECTION).countDocuments({}), 0);

  const good = await runCli(['import', 'customers', fixture('customers-good.csv')], env);
  t.is(good.code, 0, good.stderr);
  t.regex(good.stdout, /inserted: {2}3/);
  const reader = new CustomerStore(db.conn, new FieldCipher(section(loadConfig(env, { require: ['crypto'] }), 'crypto')));
  t.is((await reader.find({ kind: 'idNumber', value: '11010519491231002x' }, {}, 1))[0]?.customerId, 'C-100001');
  const again = await runCli(['import', 'customers', fixture('customers-good.csv')], env);
  t.regex(again.stdout, /unchanged: 3/);

  const skip = await runCli(['import', 'customers', fixture('customers-bad.csv'), '--skip-invalid'], env);
  t.is(skip.code, 1);
  t.regex(skip.stdout, /inserted: {2}2/);

  const help = await runCli(['import', 'customers', '--help'], {});
  t.is(help.code, 0);
  t.regex(help.stdout, /--skip-invalid/);
  t.regex(help.stdout, /separated by ";"/);
  t.regex(help.stdout, /Examples:/);
  const top = await runCli(['--help'], {});
  t.regex(top.stdout, /import/);
  t.regex(top.stdout, /seed/);
});
