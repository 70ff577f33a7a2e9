// Customer and employee stores on the real test database: what is stored, how it is found, how it changes.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import type { Customer, Employee } from '../bot/core/domain.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { CustomerStore } from '../bot/store/customer-store.ts';
import { ensureIndexes } from '../bot/store/db.ts';
import { demoEmployee } from '../bot/store/demo-company.ts';
import { EmployeeStore } from '../bot/store/employee-store.ts';
import { customerDigest, fromCustomerDoc } from '../bot/store/customer-doc.ts';
import { CUSTOMER_COLLECTION, type CustomerDoc } from '../bot/store/models.ts';
import { testDatabase } from './helpers/services.ts';

const oldKey = { id: 'k1', key: randomBytes(32) };
const blindIndexKey = randomBytes(32);
const cipher = new FieldCipher({ dataKeys: [oldKey], blindIndexKey });

// ava wants every test declared synchronously, so the database is opened in a `before` hook.
let db: Awaited<ReturnType<typeof testDatabase>>;
let customers: CustomerStore;
let employees: EmployeeStore;

const zhang: Customer = {
  customerId: 'C-000001', name: '欧阳娜娜', type: 'person', company: '上海星河科技有限公司', industry: '互联网',
  region: 'east', tier: 'gold', ownerId: 'E-0012', status: 'active',
  phone: '+86 139-8765-4321', email: 'Nana.OuYang@Example.com', address: '上海市徐汇区漕溪北路88号', wechat: 'wxid_nana',
  idNumber: '11010519491231002X', birthDate: '1949-12-31',
  leadSource: '展会', campaigns: ['2025双十一', '春季新品'], interests: ['云服务'],
  stage: 'negotiation', pipelineValue: 350000, lastContactAt: new Date('2026-05-01T08:00:00Z'),
  followUps: [{ at: new Date('2026-04-20T02:00:00Z'), by: 'E-0012', note: '电话沟通报价' }],
  contractAmount: 1200000, outstanding: 50000, paymentStatus: 'overdue', creditRating: 'A', bankAccount: '6222020200112233445',
  openTickets: 2, lastTicketAt: new Date('2026-05-03T00:00:00Z'), satisfaction: 4, afterSalesNotes: '需要上门培训',
  contracts: [{ contractNo: 'HT-2025-000001', title: '云服务年度合同', signedAt: new Date('2025-06-01T00:00:00Z'), amount: 1200000 }],
  disputes: ['逾期付款争议'],
};
const smith: Customer = {
  customerId: 'C-000002', name: 'John Smith', type: 'person', company: 'Acme (Asia) Ltd.', region: 'overseas', tier: 'silver',
  ownerId: 'E-0017', status: 'lead', phone: '0915-1234567', email: 'john.smith@example.net', idNumber: '110101199003071233',
};
const lin: Customer = {
  customerId: 'C-000003', name: '林小华', type: 'person', company: '深圳河科电子', region: 'south', tier: 'standard',
  ownerId: 'E-0015', status: 'active', phone: '13812345678',
};
test.before(async () => {
  db = await testDatabase(import.meta.url);
  await ensureIndexes(db.conn);
  customers = new CustomerStore(db.conn, cipher);
  employees = new EmployeeStore(db.conn);
  await customers.upsertMany([zhang, smith, lin]);
});
test.after.always(async () => { await db?.drop(); });

const SECRETS = ['13987654321', '139-8765-4321', 'nana.ouyang@example.com', 'Nana.OuYang', '11010519491231002X', '6222020200112233445',
  '漕溪北路', '1234567', 'john.smith', '110101199003071233', '欧阳娜娜', '欧阳', '星河科技', 'wxid_nana', '1949-12-31', '19491231',
  '电话沟通报价', '需要上门培训', '云服务年度合同', '逾期付款争议', 'John Smith', 'Acme', '林小华', '河科电子'];

test('stored documents contain no plaintext personal value: names, companies, contact, identity, notes', async (t) => {
  const raw = await db.conn.collection(CUSTOMER_COLLECTION).find({}).toArray();
  t.is(raw.length >= 3, true);
  const dump = JSON.stringify(raw).toLowerCase();
  for (const s of SECRETS) t.false(dump.includes(s.toLowerCase()), `found ${s} in the stored documents`);
  const doc = raw.find((d) => d.customerId === 'C-000001')!;
  // Non-sensitive fields sit at the top level under their domain names (scope filters rely on that).
  t.like(doc, { ownerId: 'E-0012', region: 'east', tier: 'gold', stage: 'negotiation', kek: 'k1' });
  t.regex(String(doc.dek), /^k1:/, 'the data key is stored wrapped under the master key k1');
  t.deepEqual(['biEmail', 'biIdNumber', 'biPhone'].filter((k) => typeof (doc as Record<string, unknown>)[k] === 'string'), ['biEmail', 'biIdNumber', 'biPhone']);
  for (const f of ['name', 'company', 'phone', 'email', 'address', 'wechat', 'idNumber', 'birthDate', 'bankAccount', 'followUps', 'afterSalesNotes', 'contracts', 'disputes']) {
    t.false(f in doc, `${f} must not be stored in plaintext`);
  }
  t.true((doc.tokens as string[]).every((x) => /^[A-Za-z0-9_-]{11}$/.test(x)), 'search tokens are 64-bit keyed digests, not n-grams');
});

test('a sealed value moved onto another customer fails its integrity check instead of decrypting', async (t) => {
  const raw = await db.conn.collection(CUSTOMER_COLLECTION).findOne({ customerId: 'C-000001' });
  const copy = { ...raw!, _id: 'C-000777', customerId: 'C-000777' } as unknown as CustomerDoc;
  t.throws(() => fromCustomerDoc(copy, cipher), { message: /integrity check/ });
  const otherKey = await db.conn.collection(CUSTOMER_COLLECTION).findOne({ customerId: 'C-000003' });
  t.throws(() => fromCustomerDoc({ ...raw!, sealed: otherKey!.sealed } as unknown as CustomerDoc, cipher), { message: /integrity check/ });
});

test('a customer reads back decrypted, equal to what was written', async (t) => {
  const [found] = await customers.find({ kind: 'id', value: 'c-000001' }, {}, 10);
  t.deepEqual(found, zhang);
});

test('exact lookups find the customer whatever the spelling of phone, e-mail or ID number', async (t) => {
  const ids = async (kind: 'phone' | 'email' | 'idNumber', value: string) =>
    (await customers.find({ kind, value }, {}, 10)).map((c) => c.customerId);
  for (const v of ['13987654321', '+86 139 8765 4321', '86 139-8765-4321', '１３９８７６５４３２１']) t.deepEqual(await ids('phone', v), ['C-000001'], v);
  for (const v of ['+86 915 1234567', '(0915) 123-4567']) t.deepEqual(await ids('phone', v), ['C-000002'], v);
  t.deepEqual(await ids('email', ' NANA.ouyang@example.COM'), ['C-000001']);
  t.deepEqual(await ids('idNumber', '110105 19491231 002x'), ['C-000001']);
  t.deepEqual(await ids('phone', '13900000000'), []);
});

test('name and company fragments find customers, Chinese and Latin, case-insensitively', async (t) => {
  const ids = async (value: string) => (await customers.find({ kind: 'text', value }, {}, 10)).map((c) => c.customerId);
  t.deepEqual(await ids('欧阳'), ['C-000001']);
  await t.throwsAsync(() => ids('娜'), { message: /too short/ }, 'one Chinese character has no bigram to look up');
  await t.throwsAsync(() => ids('jo'), { message: /too short/ }, 'two letters have no trigram to look up');
  t.deepEqual(await ids('星河'), ['C-000001']);
  t.deepEqual(await ids('河科'), ['C-000001', 'C-000003'], '"星河科技" and "深圳河科电子" both contain 河科');
  t.deepEqual(await ids('smi'), ['C-000002']);
  t.deepEqual(await ids('JOHN SMITH'), ['C-000002']);
  t.deepEqual(await ids('ａｃｍｅ'), ['C-000002'], 'full-width letters');
  t.deepEqual(await ids('(asia)'), ['C-000002'], 'regex characters are literal');
  t.deepEqual(await ids('.*?'), []);
  t.deepEqual(await ids('河星'), []);
  t.deepEqual(await ids('娜娜娜'), [], 'holding every bigram of the fragment is not enough: the fragment itself must occur');
  t.deepEqual(await ids('smith smith'), [], 'nor is holding every trigram: false positives are dropped after decryption');
});

test('the record scope narrows every lookup and is never overridden by it', async (t) => {
  t.deepEqual((await customers.find({ kind: 'text', value: '河科' }, { ownerId: 'E-0015' }, 10)).map((c) => c.customerId), ['C-000003']);
  t.deepEqual(await customers.find({ kind: 'id', value: 'C-000001' }, { region: 'south' }, 10), []);
  t.deepEqual(await customers.find({ kind: 'id', value: 'C-000001' }, { customerId: 'C-000003' }, 10), []);
  t.deepEqual((await customers.find({ kind: 'phone', value: '13987654321' }, { region: { $in: ['east', 'north'] } }, 10)).map((c) => c.customerId), ['C-000001']);
});

test('stream yields every customer in scope, decrypted, in customerId order', async (t) => {
  const all: Customer[] = [];
  // (bounded to the fixture's ids: other tests in this file add customers concurrently)
  for await (const c of customers.stream({ customerId: { $lte: 'C-000003' } })) all.push(c);
  t.deepEqual(all.map((c) => c.customerId), ['C-000001', 'C-000002', 'C-000003']);
  t.is(all[1]?.phone, '0915-1234567');
  const east: string[] = [];
  for await (const c of customers.stream({ region: 'east' })) east.push(c.customerId);
  t.deepEqual(east, ['C-000001']);
});

test('upserts are idempotent; a change replaces the record, removed fields disappear', async (t) => {
  const store = new CustomerStore(db.conn, cipher);
  // Tests in a file run concurrently: this record shares no phone, name or company with the others.
  const extra: Customer = { ...lin, customerId: 'C-000900', name: '测试客户', company: '独立公司', phone: '13700000000' };
  t.deepEqual(await store.upsertMany([extra]), { inserted: 1, updated: 0, unchanged: 0 });
  t.deepEqual(await store.upsertMany([extra]), { inserted: 0, updated: 0, unchanged: 1 });
  const changed: Customer = { ...extra, tier: 'platinum' };
  delete changed.phone;
  t.deepEqual(await store.upsertMany([changed]), { inserted: 0, updated: 1, unchanged: 0 });
  t.deepEqual(await store.get('C-000900'), changed);
  t.deepEqual(await store.find({ kind: 'phone', value: '13700000000' }, {}, 5), [], 'the old phone index went with the phone');
});

test('after a new data key is prepended, existing records still read and new writes use the new key', async (t) => {
  const rotated = new FieldCipher({ dataKeys: [{ id: 'k2', key: randomBytes(32) }, oldKey], blindIndexKey });
  const store = new CustomerStore(db.conn, rotated);
  const [found] = await store.find({ kind: 'phone', value: '13987654321' }, {}, 5);
  t.is(found?.email, 'Nana.OuYang@Example.com');
  await store.upsertMany([{ customerId: 'C-000901', name: 'Rotated Record', type: 'person', region: 'west', tier: 'standard',
    ownerId: 'E-0016', status: 'lead', phone: '13600000001' }]);
  const raw = await db.conn.collection(CUSTOMER_COLLECTION).findOne({ customerId: 'C-000901' });
  t.true(String(raw?.dek).startsWith('k2:'));
  t.is(raw?.kek, 'k2');
  const withoutNewKey = new CustomerStore(db.conn, cipher);
  await t.throwsAsync(() => withoutNewKey.find({ kind: 'id', value: 'C-000901' }, {}, 1), { message: /key id "k2"/ });
});

test('a customer stored in the format before per-customer keys says how to fix it, and an unchanged upsert rewrites it', async (t) => {
  const c: Customer = { ...lin, customerId: 'C-000950', name: '旧格式', company: '旧公司', phone: '13700000950' };
  await db.conn.collection(CUSTOMER_COLLECTION).insertOne({
    _id: 'C-000950', customerId: 'C-000950', name: c.name, type: 'person', region: 'south', tier: 'standard', ownerId: 'E-0015', status: 'active',
    enc: { phone: cipher.encrypt(c.phone!, 'C-000950:phone') }, tokens: [], search: c.name, rowHash: customerDigest(c, cipher),
  } as never);
  await t.throwsAsync(() => customers.get('C-000950'), { message: /format before per-customer data keys; run the import .* again/ });
  t.deepEqual(await customers.upsertMany([c]), { inserted: 0, updated: 1, unchanged: 0 });
  t.deepEqual(await customers.get('C-000950'), c);
  t.false('name' in (await db.conn.collection(CUSTOMER_COLLECTION).findOne({ _id: 'C-000950' as never }))!);
});

test('employees: lookup by id, e-mail (any case) and chat id; bulk upsert is idempotent', async (t) => {
  const rep = demoEmployee('salesRep');
  const lead = demoEmployee('salesLeadEast');
  t.deepEqual(await employees.upsertMany([rep, lead]), { inserted: 2, updated: 0, unchanged: 0 });
  t.deepEqual(await employees.upsertMany([rep, lead]), { inserted: 0, updated: 0, unchanged: 2 });
  t.deepEqual(await employees.byId(rep.employeeId), rep);
  t.is((await employees.byEmail('ZHANG.WEI@demo.custos.local'))?.employeeId, rep.employeeId);
  t.is(await employees.byEmail('nobody@demo.custos.local'), null);
  const moved: Employee = { ...rep, region: 'north' };
  delete moved.managerId;
  t.deepEqual(await employees.upsertMany([moved]), { inserted: 0, updated: 1, unchanged: 0 });
  t.deepEqual(await employees.byId(rep.employeeId), moved);
});

test('chat binding is compare-and-swap: once, to one employee, kept across re-imports', async (t) => {
  const a = demoEmployee('financeHead');
  const b = demoEmployee('financeClerk');
  await employees.upsertMany([a, b]);
  t.is((await employees.bindChatId(a.employeeId, 'slack', 'U_FIN_HEAD'))?.chat.slack, 'U_FIN_HEAD');
  t.is((await employees.bindChatId(a.employeeId, 'slack', 'U_FIN_HEAD'))?.employeeId, a.employeeId, 'repeating is harmless');
  t.is(await employees.bindChatId(a.employeeId, 'slack', 'U_OTHER'), null, 'already bound to another chat user');
  t.is(await employees.bindChatId(b.employeeId, 'slack', 'U_FIN_HEAD'), null, 'that chat user belongs to someone else');
  t.is((await employees.bindChatId(a.employeeId, 'lark', 'ou_fin_head'))?.chat.lark, 'ou_fin_head');
  t.is((await employees.byChatId('slack', 'U_FIN_HEAD'))?.employeeId, a.employeeId);
  await employees.upsertMany([{ ...a, name: '宋佳佳' }]);
  t.deepEqual((await employees.byId(a.employeeId))?.chat, { slack: 'U_FIN_HEAD', lark: 'ou_fin_head' });
  const c = demoEmployee('financeLead');
  await employees.upsertMany([c]);
  const race = await Promise.all([employees.bindChatId(b.employeeId, 'lark', 'ou_x'), employees.bindChatId(c.employeeId, 'lark', 'ou_x')]);
  t.true(race.filter(Boolean).length <= 1, 'two employees never end up holding one chat id');
  t.true((await employees.model.countDocuments({ 'chat.lark': 'ou_x' })) <= 1);
});

test('status changes are compare-and-swap on the expected current status', async (t) => {
  const e = demoEmployee('ordersClerk');
  await employees.upsertMany([e]);
  t.is((await employees.setStatus(e.employeeId, 'frozen', ['active']))?.status, 'frozen');
  t.is(await employees.setStatus(e.employeeId, 'frozen', ['active']), null, 'no longer active');
  t.is((await employees.setStatus(e.employeeId, 'active', ['frozen']))?.status, 'active');
  t.is((await employees.setStatus(e.employeeId, 'offboarded'))?.status, 'offboarded');
  t.is(await employees.setStatus('E-9999', 'frozen'), null);
});
