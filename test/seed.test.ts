// The demo company: deterministic, realistic, format-valid, idempotent to seed, and seedable from the CLI.
import test from 'ava';
import { FIELD_GROUPS, FIELD_GROUP_NAMES, type Customer } from '../bot/core/domain.ts';
import { loadConfig, section } from '../bot/config.ts';
import { FieldCipher, idNumberProblem, isLuhnValid, isValidPhone } from '../bot/store/crypto.ts';
import { CustomerStore, UPDATE_CHUNK } from '../bot/store/customer-store.ts';
import { demoAccountOwners, demoEmployee, demoEmployeeList } from '../bot/store/demo-company.ts';
import { demoCustomers } from '../bot/store/demo-data.ts';
import { EmployeeStore } from '../bot/store/employee-store.ts';
import { seedDemo } from '../bot/store/seed.ts';
import { runCli } from './helpers/run-custos.ts';
import { testDatabase, testEnv, uniqueName } from './helpers/services.ts';

let db: Awaited<ReturnType<typeof testDatabase>>;
let cliDb: Awaited<ReturnType<typeof testDatabase>>;
test.before(async () => {
  db = await testDatabase(import.meta.url);
  cliDb = await testDatabase(import.meta.url);
});
test.after.always(async () => { await db?.drop(); await cliDb?.drop(); });

const cipher = new FieldCipher({ dataKeys: [{ id: 'k1', key: Buffer.alloc(32, 7) }], blindIndexKey: Buffer.alloc(32, 9) });
const sample = [...demoCustomers(2000, 'custos-demo')];

test('the same seed gives the same customers; another seed gives different ones', (t) => {
  t.deepEqual([...demoCustomers(300, 's1')], [...demoCustomers(300, 's1')]);
  const a = [...demoCustomers(300, 's1')];
  const b = [...demoCustomers(300, 's2')];
  t.deepEqual(a.map((c) => c.customerId), b.map((c) => c.customerId), 'ids are stable');
  t.true(a.filter((c, i) => c.name !== b[i]!.name).length > 250, 'names differ');
  t.true(a.filter((c, i) => c.phone !== b[i]!.phone).length > 290, 'phones differ');
});

test('demo values are format-valid: phones, resident IDs matching birthDate, Luhn-valid bank cards, e-mails', (t) => {
  for (const c of sample) {
    t.regex(c.customerId, /^C-\d{6}$/);
    t.true(isValidPhone(c.phone!), `${c.customerId} phone`);
    if (c.idNumber) {
      t.is(idNumberProblem(c.idNumber), null, `${c.customerId} idNumber`);
      t.is(c.idNumber.slice(6, 14), c.birthDate!.replace(/-/g, ''), 'the ID carries the birth date');
    }
    if (c.bankAccount) t.true(isLuhnValid(c.bankAccount) && c.bankAccount.length >= 16 && c.bankAccount.length <= 19, c.customerId);
    if (c.email) t.regex(c.email, /^[a-z0-9.]+@[a-z0-9.]*example\.(com|cn|net|org)$/);
  }
  t.true(sample.some((c) => /^0\d{2,3}-\d{7,8}$/.test(c.phone!)), 'some landlines (companies)');
});

test('names and companies are realistic: zh-CN with compound surnames, English, companies', (t) => {
  const names = sample.map((c) => c.name);
  for (const compound of ['欧阳', '司马', '诸葛']) t.true(names.some((n) => n.startsWith(compound)), compound);
  t.true(names.some((n) => /^[A-Z][a-z]+ [A-Z]/.test(n)), 'English names');
  t.true(sample.some((c) => c.type === 'company' && /有限公司$/.test(c.name)), 'Chinese companies');
  t.true(sample.some((c) => c.type === 'company' && /(Ltd\.|Inc\.|GmbH)$/.test(c.name)), 'foreign companies');
  t.true(sample.some((c) => c.type === 'person' && c.company !== undefined));
  t.true(sample.some((c) => /^(北京|上海|广东|浙江|四川|湖北)/.test(c.address ?? '')) && sample.some((c) => /区.+号/.test(c.address ?? '')));
});

test('every field group has data, and owners are the demo sales staff, spread over every region', (t) => {
  for (const g of FIELD_GROUP_NAMES) {
    for (const f of FIELD_GROUPS[g]) {
      const has = sample.some((c) => { const v = c[f as keyof Customer]; return Array.isArray(v) ? v.length > 0 : v !== undefined; });
      t.true(has, `${g}.${f} has data somewhere`);
    }
  }
  const owners = new Set(demoAccountOwners().map((e) => e.employeeId));
  t.true(sample.every((c) => owners.has(c.ownerId)));
  t.is(new Set(sample.map((c) => c.ownerId)).size, owners.size, 'every sales rep owns customers');
  t.is(new Set(sample.map((c) => c.region)).size, 6);
  t.true(sample.filter((c) => c.ownerId === demoEmployee('salesRep').employeeId).length > 100);
});

test('the demo staff: heads, leads and staff per department, admin, auditor, DPO, two guests, managers in-department', (t) => {
  const all = demoEmployeeList();
  for (const dept of ['sales', 'marketing', 'support', 'orders', 'finance', 'legal'] as const) {
    for (const role of ['head', 'lead', 'staff'] as const) {
      t.true(all.some((e) => e.department === dept && e.roles.includes(role) && !e.external), `${dept} ${role}`);
    }
  }
  t.like(demoEmployee('admin'), { department: 'it', roles: ['admin'] });
  t.like(demoEmployee('auditor'), { department: 'compliance', roles: ['auditor'] });
  t.like(demoEmployee('dpo'), { department: 'compliance', roles: ['dpo'] });
  t.is(all.filter((e) => e.external).length, 2);
  t.is(new Set(all.map((e) => e.email)).size, all.length);
  t.is(new Set(all.map((e) => e.employeeId)).size, all.length);
  t.like(demoEmployee('salesRep'), { employeeId: 'E-0012', email: 'zhang.wei@demo.custos.local', managerId: 'E-0011', timezone: 'Asia/Shanghai' });
  for (const e of all.filter((x) => x.roles.includes('staff') && !x.external)) {
    const m = all.find((x) => x.employeeId === e.managerId);
    t.truthy(m, `${e.employeeId} has a manager`);
    t.is(m?.department, e.department);
    t.true(m!.roles.includes('lead') || m!.roles.includes('head'));
  }
  t.true(all.some((e) => e.timezone !== 'Asia/Shanghai') && all.some((e) => e.locale === 'en') && all.some((e) => e.locale === 'zh-CN'));
});

// 25 customers: more than one chunk of updates (UPDATE_CHUNK, 10) and a partial one; every extra
// customer costs FerretDB-on-SQLite a scan per update (120 took 11.5 s of its CPU in this file).
const SEEDED = 25;

test('seeding twice with the same seed changes nothing; another seed updates the customers', async (t) => {
  t.true(SEEDED > UPDATE_CHUNK && SEEDED % UPDATE_CHUNK > 0, 'several update chunks, the last one partial');
  const first = await seedDemo(db.conn, cipher, { customers: SEEDED, seed: 'idem' });
  t.deepEqual(first.customers, { inserted: SEEDED, updated: 0, unchanged: 0 });
  t.is(first.employees.inserted, demoEmployeeList().length);
  const again = await seedDemo(db.conn, cipher, { customers: SEEDED, seed: 'idem' });
  t.deepEqual(again.customers, { inserted: 0, updated: 0, unchanged: SEEDED });
  t.deepEqual(again.employees, { inserted: 0, updated: 0, unchanged: demoEmployeeList().length });
  const store = new CustomerStore(db.conn, cipher);
  t.deepEqual(await store.get('C-000007'), [...demoCustomers(7, 'idem')][6]);
  const other = await seedDemo(db.conn, cipher, { customers: SEEDED, seed: 'other' });
  t.is(other.customers.updated, SEEDED);
  t.deepEqual(await store.get('C-000007'), [...demoCustomers(7, 'other')][6]);
  t.is((await new EmployeeStore(db.conn).byEmail('song.jia@demo.custos.local'))?.roles[0], 'head');
});

test('`custos seed --demo` seeds the configured database; `custos seed` without --demo explains itself', async (t) => {
  const env = testEnv(cliDb.name, uniqueName(import.meta.url, 'prefix'));
  const run = await runCli(['seed', '--demo', '--customers', '40', '--seed', 'cli'], env);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /customers: 40 inserted, 0 updated, 0 unchanged/);
  const reader = new CustomerStore(cliDb.conn, new FieldCipher(section(loadConfig(env, { require: ['crypto'] }), 'crypto')));
  const [c] = await reader.find({ kind: 'id', value: 'C-000040' }, {}, 1);
  t.deepEqual(c, [...demoCustomers(40, 'cli')][39]);
  const bare = await runCli(['seed'], env);
  t.not(bare.code, 0);
  t.regex(bare.stderr, /seed --demo/);
  const help = await runCli(['seed', '--help'], {});
  t.is(help.code, 0);
  t.regex(help.stdout, /--customers <N>/);
  t.regex(help.stdout, /Examples:/);
});
