// The employee import's chat columns are open: `chat.<id>` for any platform in the registry
// (bot/platforms.ts), in CSV and JSON Lines alike. An id the registry does not know is refused with a
// message naming the registered ones, every problem of a row (and of the file) reported at once; a key
// that is not even a platform id is reported as `chat.(malformed)`, never echoed.
import test from 'ava';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CustosError, ErrorCode } from '../bot/core/errors.ts';
import { PLATFORM_ID_RE } from '../bot/core/platform-id.ts';
import { PLATFORMS } from '../bot/platforms.ts';
import type { PlatformModule } from '../bot/runtime/platform-module.ts';
import { PlatformRegistry } from '../bot/runtime/platform-registry.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { ensureIndexes } from '../bot/store/db.ts';
import { EmployeeStore } from '../bot/store/employee-store.ts';
import { importFile } from '../bot/store/import.ts';
import { employeeColumns, parseEmployeeRow } from '../bot/store/import-schemas.ts';
import { testDatabase } from './helpers/services.ts';

const REGISTERED = `registered platforms: ${PLATFORMS.ids().join(', ')}`;
const BASE = { employeeId: 'E-1001', email: 'li.lei@corp.example.com', name: '李雷', department: 'sales', roles: 'staff', region: 'east' };
const cipher = new FieldCipher({ dataKeys: [{ id: 'k1', key: Buffer.alloc(32, 3) }], blindIndexKey: Buffer.alloc(32, 4) });

function moduleOf(id: string): PlatformModule {
  return { id, requires: [], configured: () => false, settings: () => ({}), start: async () => ({ close: async () => undefined }), chat: async () => ({}), testkit: ['test/import-chat-columns.test.ts'] };
}

test('the employee columns are the fields, then chat.<id> for every registered platform', (t) => {
  const chat = employeeColumns().filter((c) => c.startsWith('chat.'));
  t.deepEqual(chat, PLATFORMS.ids().map((id) => `chat.${id}`));
  t.true(chat.includes('chat.dingtalk'), 'DingTalk bindings can be imported too');
});

const TABLE: { row: string; raw: Record<string, unknown>; chat?: Record<string, string>; problems?: { field: string; reason: RegExp }[] }[] = [
  { row: 'a Slack id (CSV column)', raw: { ...BASE, 'chat.slack': 'U_LILEI' }, chat: { slack: 'U_LILEI' } },
  { row: 'a DingTalk id (CSV column)', raw: { ...BASE, 'chat.dingtalk': 'dt1001' }, chat: { dingtalk: 'dt1001' } },
  { row: 'every registered platform at once', raw: { ...BASE, ...Object.fromEntries(PLATFORMS.ids().map((id) => [`chat.${id}`, `u-${id}`])) }, chat: Object.fromEntries(PLATFORMS.ids().map((id) => [id, `u-${id}`])) },
  { row: 'a blank cell is no binding', raw: { ...BASE, 'chat.lark': '  ', 'chat.wecom': 'zhangwei' }, chat: { wecom: 'zhangwei' } },
  { row: 'JSON Lines nesting', raw: { ...BASE, roles: ['staff'], chat: { lark: 'ou_lilei', dingtalk: 'dt1001' } }, chat: { lark: 'ou_lilei', dingtalk: 'dt1001' } },
  { row: 'an unknown platform column', raw: { ...BASE, 'chat.teams': '29:abc' }, problems: [{ field: 'chat.teams', reason: new RegExp(`is not a registered chat platform; ${REGISTERED}$`) }] },
  { row: 'an unknown platform next to a known one', raw: { ...BASE, roles: ['staff'], chat: { slack: 'U1', teams: 'x' } }, problems: [{ field: 'chat.teams', reason: /registered platforms/ }] },
  { row: 'a key that is no platform id is not echoed', raw: { ...BASE, roles: ['staff'], chat: { '$where': 'x', 'li.lei@corp': 'y' } }, problems: [{ field: 'chat.(malformed)', reason: /registered platforms/ }, { field: 'chat.(malformed)', reason: /registered platforms/ }] },
  {
    row: 'every problem of the row at once', raw: { ...BASE, email: 'not-an-email', 'chat.teams': 'x', 'chat.playground': 'y', 'chat.slack': 'z'.repeat(200) },
    problems: [{ field: 'email', reason: /e-mail/ }, { field: 'chat.slack', reason: /at most 128/ }, { field: 'chat.teams', reason: /registered/ }, { field: 'chat.playground', reason: /registered/ }],
  },
  { row: 'chat that is not an object', raw: { ...BASE, roles: ['staff'], chat: 'U1' }, problems: [{ field: 'chat', reason: /object of chat ids/ }] },
];

for (const c of TABLE) {
  test(`chat columns: ${c.row}`, (t) => {
    const r = parseEmployeeRow(c.raw);
    if (c.chat) {
      if (!r.ok) return t.fail(JSON.stringify(r.problems));
      t.deepEqual(r.value.chat, c.chat);
      return;
    }
    if (r.ok) return t.fail(`accepted: ${JSON.stringify(r.value.chat)}`);
    t.deepEqual(r.problems.map((p) => p.field).sort(), c.problems!.map((p) => p.field).sort());
    for (const want of c.problems!) t.true(r.problems.some((p) => p.field === want.field && want.reason.test(p.reason)), `${want.field}: ${JSON.stringify(r.problems)}`);
    for (const p of r.problems) t.false(/\$where|li\.lei@corp|29:abc|zzz/.test(p.field + p.reason), 'no value from the file is repeated');
  });
}

const platformId = fc.stringMatching(PLATFORM_ID_RE);

test('property: over any registry, a row is accepted iff every chat key is registered; each other key is one problem naming the registered ones', (t) => {
  fc.assert(fc.property(
    fc.uniqueArray(platformId, { minLength: 1, maxLength: 6 }),
    fc.dictionary(platformId, fc.stringMatching(/^[A-Za-z0-9_]{1,20}$/), { maxKeys: 6 }),
    fc.boolean(),
    (ids, chat, csv) => {
      const registry = new PlatformRegistry(ids.map(moduleOf));
      const raw = csv ? { ...BASE, ...Object.fromEntries(Object.entries(chat).map(([id, v]) => [`chat.${id}`, v])) } : { ...BASE, roles: ['staff'], chat };
      const r = parseEmployeeRow(raw, registry);
      const unknown = Object.keys(chat).filter((id) => !ids.includes(id));
      if (unknown.length === 0) {
        if (!r.ok) return t.fail(JSON.stringify(r.problems));
        t.deepEqual(r.value.chat, chat);
      } else {
        if (r.ok) return t.fail('accepted an unregistered platform');
        t.deepEqual(r.problems.map((p) => p.field).sort(), unknown.map((id) => `chat.${id}`).sort());
        for (const p of r.problems) t.is(p.reason, `is not a registered chat platform; registered platforms: ${ids.join(', ')}`);
      }
      t.deepEqual(employeeColumns(registry).filter((c) => c.startsWith('chat.')), ids.map((id) => `chat.${id}`));
    },
  ), { numRuns: 300 });
});

test('a file: a CSV header with an unknown platform column is refused naming the registered ones; JSON Lines rows report every problem of the file at once, and known platforms import', async (t) => {
  const db = await testDatabase(import.meta.url);
  t.teardown(db.drop);
  await ensureIndexes(db.conn);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'custos-import-chat-'));
  const csv = path.join(dir, 'employees.csv');
  writeFileSync(csv, 'employeeId,email,name,department,roles,region,chat.teams,chat.dingtalk,nickname\nE-1001,li.lei@corp.example.com,李雷,sales,staff,east,x,dt1001,\n');
  const err = await t.throwsAsync(() => importFile(db.conn, cipher, 'employees', csv), { instanceOf: CustosError });
  t.is(err!.code, ErrorCode.ImportInvalid);
  t.regex(err!.message, /unknown column\(s\) nickname and column\(s\) chat\.teams for no registered chat platform \(registered platforms: slack, lark, dingtalk, wecom\)/);

  const jsonl = path.join(dir, 'employees.jsonl');
  const row = (n: number, chat: Record<string, string>) => JSON.stringify({ ...BASE, employeeId: `E-100${n}`, email: `e${n}@corp.example.com`, roles: ['staff'], chat });
  writeFileSync(jsonl, [row(1, { teams: 'a' }), row(2, { dingtalk: 'dt2' }), row(3, { webex: 'b', slack: 'U3' })].join('\n'));
  const bad = await importFile(db.conn, cipher, 'employees', jsonl);
  t.like(bad, { rejected: 2, written: false });
  t.deepEqual(bad.errors.map((e) => `${e.line}:${e.field}`), ['1:chat.teams', '3:chat.webex']);
  t.true(bad.errors.every((e) => e.reason.endsWith(REGISTERED)));

  writeFileSync(jsonl, [row(2, { dingtalk: 'dt2' }), row(3, { wecom: 'wc3', slack: 'U3' })].join('\n'));
  t.like(await importFile(db.conn, cipher, 'employees', jsonl), { inserted: 2, rejected: 0 });
  const store = new EmployeeStore(db.conn);
  t.like(await store.byChatId('dingtalk', 'dt2'), { employeeId: 'E-1002' });
  t.like(await store.byChatId('wecom', 'wc3'), { employeeId: 'E-1003' });
});
