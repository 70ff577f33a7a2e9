// Employees' chat ids as an open map by platform (bot/store/employee-store.ts): documents stored before
// the map had its key index read back unchanged, are found by chat id once migrated (ensureIndexes),
// get the new `chatKeys` without their map changing, and a second migration changes nothing. Any
// well-formed platform id works (one not in the registry too), a replaced id no longer finds anyone,
// and a reactivation's unbinding clears map and keys together. Runs on FerretDB and MongoDB.
import test from 'ava';
import fc from 'fast-check';
import type { Employee } from '../bot/core/domain.ts';
import { ensureIndexes } from '../bot/store/db.ts';
import { demoEmployee } from '../bot/store/demo-company.ts';
import { EmployeeStore, chatKeysOf } from '../bot/store/employee-store.ts';
import { EMPLOYEE_COLLECTION } from '../bot/store/models.ts';
import { testDatabase } from './helpers/services.ts';

let db: Awaited<ReturnType<typeof testDatabase>>;
let employees: EmployeeStore;

test.before(async () => {
  db = await testDatabase('employee-chat-map');
  employees = new EmployeeStore(db.conn);
});
test.after.always(async () => { await db?.drop(); });

/** A document as versions before the open map wrote it: `chat` with fixed keys, no `chatKeys`. */
function oldDoc(n: number, chat: Record<string, string> | undefined): Record<string, unknown> {
  const e = demoEmployee('financeClerk');
  const { chat: _c, ...rest } = e;
  return { ...rest, employeeId: `E-9${String(n).padStart(3, '0')}`, email: `old${n}@example.com`, ...(chat ? { chat } : {}), rowHash: `h${n}` };
}

const raw = (employeeId: string) => db.conn.collection(EMPLOYEE_COLLECTION).findOne({ employeeId }, { projection: { _id: 0 } });

test.serial('old documents read as before, are found by chat id after the migration, get keys and keep their map; a second run changes nothing', async (t) => {
  const olds = [
    oldDoc(1, { slack: 'U_OLD1', lark: 'ou_old1' }),
    oldDoc(2, { dingtalk: 'ding_old2', wecom: 'wc_old2' }),
    oldDoc(3, {}),
    oldDoc(4, undefined),
  ];
  await db.conn.collection(EMPLOYEE_COLLECTION).insertMany(olds);
  t.deepEqual((await employees.byId('E-9001'))?.chat, { slack: 'U_OLD1', lark: 'ou_old1' });
  t.deepEqual((await employees.byId('E-9002'))?.chat, { dingtalk: 'ding_old2', wecom: 'wc_old2' });
  t.deepEqual((await employees.byId('E-9004'))?.chat, {});
  const before = await Promise.all(olds.map((d) => raw(d.employeeId as string)));

  await ensureIndexes(db.conn); // runs migrateChatKeys
  for (const [platform, id, employeeId] of [['slack', 'U_OLD1', 'E-9001'], ['lark', 'ou_old1', 'E-9001'], ['dingtalk', 'ding_old2', 'E-9002'], ['wecom', 'wc_old2', 'E-9002']] as const) {
    t.is((await employees.byChatId(platform, id))?.employeeId, employeeId, `${platform} ${id}`);
  }
  const after = await Promise.all(olds.map((d) => raw(d.employeeId as string)));
  after.forEach((doc, i) => {
    const { chatKeys, ...rest } = doc!;
    t.deepEqual(rest, before[i], 'everything but the keys is as it was');
    t.deepEqual(chatKeys, chatKeysOf((before[i]!.chat ?? {}) as Record<string, string>));
  });
  t.is(await employees.migrateChatKeys(), 0, 'idempotent: nothing left to migrate');
  t.deepEqual(await Promise.all(olds.map((d) => raw(d.employeeId as string))), after);
});

test.serial('a bind on a document not yet migrated keeps its earlier bindings findable', async (t) => {
  await db.conn.collection(EMPLOYEE_COLLECTION).insertOne(oldDoc(5, { slack: 'U_OLD5' }));
  t.is((await employees.bindChatId('E-9005', 'teams', 'T_5'))?.chat.teams, 'T_5');
  t.is((await employees.byChatId('slack', 'U_OLD5'))?.employeeId, 'E-9005');
  t.is((await employees.byChatId('teams', 'T_5'))?.employeeId, 'E-9005');
});

test.serial('any platform id: written as the map plus its keys, found by each binding, a replaced id finds nobody, unbinding clears both', async (t) => {
  const platform = fc.stringMatching(/^[a-z][a-z0-9-]{1,8}$/);
  let n = 100;
  await fc.assert(fc.asyncProperty(fc.dictionary(platform, fc.stringMatching(/^[A-Za-z0-9_]{1,12}$/), { minKeys: 1, maxKeys: 4 }), async (chat) => {
    n++;
    const e: Employee = { ...demoEmployee('financeClerk'), employeeId: `E-8${n}`, email: `p${n}@example.com`, chat: { ...chat } };
    await employees.upsertMany([e]);
    const doc = await raw(e.employeeId);
    t.deepEqual(doc!.chat, chat);
    t.deepEqual(doc!.chatKeys, chatKeysOf(chat));
    for (const [p, id] of Object.entries(chat)) t.is((await employees.byChatId(p, id))?.employeeId, e.employeeId);
    // An import that replaces one id: the old one no longer finds the employee (the map rules its key out).
    const [p0, id0] = Object.entries(chat)[0]!;
    await employees.upsertMany([{ ...e, chat: { [p0]: `${id0}x` } }]);
    t.is(await employees.byChatId(p0, id0), null);
    t.is((await employees.byChatId(p0, `${id0}x`))?.employeeId, e.employeeId);
    await employees.setStatus(e.employeeId, 'offboarded');
    await employees.unbindChat(e.employeeId, 'offboarded');
    const cleared = await raw(e.employeeId);
    t.is(cleared!.chat, undefined);
    t.deepEqual(cleared!.chatKeys, []);
    t.is(await employees.byChatId(p0, `${id0}x`), null);
  }), { numRuns: 12 });
});

test('a malformed platform id is never a lookup path', async (t) => {
  t.is(await employees.byChatId('$where', 'x'), null);
  t.is(await employees.byChatId('a.b', 'x'), null);
  await t.throwsAsync(() => employees.bindChatId('E-9001', 'chat.x', 'y'), { message: /not a platform id/ });
});
