// `custos policy check|test|explain` as an operator runs them: output and exit codes, with explain
// reading a real employee and customer from the database. The first check runs as a real child process
// (the binary, as an operator starts it); the other commands run through the same `main` in this process
// (runCliHere: same parsing, same code, same output and exit code), which spares ten process starts
// (about 1 s of CPU each) — hence serial tests.
import test from 'ava';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testDatabase, testEnv, uniqueName } from './helpers/services.ts';
import { loadConfig, section } from '../bot/config.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { connectDatabase, ensureIndexes } from '../bot/store/db.ts';
import { EmployeeStore } from '../bot/store/employee-store.ts';
import { CustomerStore } from '../bot/store/customer-store.ts';
import { demoEmployee } from '../bot/store/demo-company.ts';
import { runCli, runCliHere } from './helpers/run-custos.ts';

/** `custos ARGS…` in this process (see the top of the file). */
async function custos(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  const { code, stdout, stderr } = await runCliHere(args, env);
  return { code, out: stdout, err: stderr };
}

const db = await testDatabase(import.meta.url);
const env = testEnv(db.name, uniqueName(import.meta.url, 'prefix'));
test.after.always(db.drop);

test.before(async () => {
  const config = loadConfig(env, { require: ['mongo', 'crypto'] });
  const conn = await connectDatabase(section(config, 'mongo'));
  await ensureIndexes(conn);
  await new EmployeeStore(conn).upsertMany([demoEmployee('salesRep'), demoEmployee('financeClerk')]);
  await new CustomerStore(conn, new FieldCipher(section(config, 'crypto'))).upsertMany([{
    customerId: 'C-000777', name: '张三', type: 'person', region: 'east', tier: 'gold', ownerId: 'E-0099', status: 'active',
    phone: '13800135678', idNumber: '110101199003071234',
  }]);
  await conn.close();
});

test.serial('policy check: the shipped policy is OK (exit 0), as a real process', async (t) => {
  const { code, stdout } = await runCli(['policy', 'check', 'policies'], process.env);
  t.is(code, 0);
  t.regex(stdout, /policies: OK — \d+ rules, \d+ context rules, \d+ approval rules in 1 file\(s\); version [0-9a-f]{16}/);
});

test.serial('policy check: every problem printed with file, path and rule id; exit 1', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'custos-check-'));
  writeFileSync(path.join(dir, 'bad.yaml'), 'version: 1\nrules:\n  - { id: a.b, description: d, actions: [lookup], scope: { $or: [] }, fields: { phone: "mask:x" } }\n');
  const r = await custos(['policy', 'check', dir]);
  t.is(r.code, 1);
  t.regex(r.out, /bad\.yaml: rules\[0\]\.scope\.\$or \[rule a\.b\]: top-level "\$or" is not allowed/);
  t.regex(r.out, /bad\.yaml: rules\[0\]\.fields\.phone \[rule a\.b\]: "mask:x" is not an outcome/);
  t.regex(r.out, /2 problems in /);
});

test.serial('policy test: the shipped matrices pass (exit 0)', async (t) => {
  const r = await custos(['policy', 'test', '--policy', 'policies']);
  t.is(r.code, 0, r.out + r.err);
  t.regex(r.out, /^(\d+) cases, \1 passed, 0 failed$/m);
});

test.serial('policy test: a failing case prints its diff and exits 1', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'custos-matrix-'));
  mkdirSync(path.join(dir, 'tests'));
  writeFileSync(path.join(dir, 'tests', 'm.yaml'), `at: "2026-03-02T10:00:00+08:00"
cases:
  - { name: rep sees phones in full, as: { department: sales, region: east }, customer: { region: east, phone: "13800135678" }, expect: { allowed: true, fields: { phone: show } } }
`);
  const r = await custos(['policy', 'test', path.join(dir, 'tests'), '--policy', 'policies']);
  t.is(r.code, 1);
  t.regex(r.out, /FAIL m\.yaml: rep sees phones in full\n {2}- fields\.phone: expected show, got mask:phone \(sales\.region\)/);
  t.regex(r.out, /1 cases, 0 passed, 1 failed/);
});

test.serial('policy explain: a table of field, group, outcome, rules and reason — and no customer values', async (t) => {
  const r = await custos(['policy', 'explain', '--as', 'zhang.wei@demo.custos.local', '--customer', 'C-000777', '--at', '2026-03-02T10:00:00+08:00'], env);
  t.is(r.code, 0, r.err);
  t.regex(r.out, /employee: E-0012 \(sales, staff, east, Asia\/Shanghai, active\)/);
  t.regex(r.out, /decision: allowed/);
  t.regex(r.out, /FIELD +GROUP +OUTCOME +RULES +REASON/);
  t.regex(r.out, /phone +contact +mask:phone +sales\.region +masked as phone by sales\.region/);
  t.regex(r.out, /idNumber +identity +hide +- +no rule shows this field/);
  t.regex(r.out, /identity: 2 of head of legal \/ any dpo; up to 60 min; reason required; no self-approval/);
  t.false(r.out.includes('13800135678'));
  t.false(r.out.includes('张三'));
});

test.serial('policy explain: off hours, another action and channel', async (t) => {
  const r = await custos(['policy', 'explain', '--as', 'zhang.wei@demo.custos.local', '--customer', 'C-000777', '--action', 'reveal', '--channel', 'public', '--at', '2026-03-02T10:00:00+08:00'], env);
  t.is(r.code, 0);
  t.regex(r.out, /decision: refused \(channel_denied\)/);
  const late = await custos(['policy', 'explain', '--as', 'han.xue@demo.custos.local', '--customer', 'C-000777', '--at', '2026-03-02T23:00:00+08:00'], env);
  t.regex(late.out, /decision: refused \(off_hours\)/);
});

test.serial('policy explain: unknown employee or customer, bad options — clear message, non-zero exit', async (t) => {
  const who = await custos(['policy', 'explain', '--as', 'nobody@x.invalid', '--customer', 'C-000777'], env);
  t.is(who.code, 1);
  t.regex(who.err, /no employee with e-mail nobody@x\.invalid/);
  const what = await custos(['policy', 'explain', '--as', 'zhang.wei@demo.custos.local', '--customer', 'C-999999'], env);
  t.is(what.code, 1);
  t.regex(what.err, /no customer C-999999/);
  const bad = await custos(['policy', 'explain', '--as', 'a@b.c', '--customer', 'C-1', '--channel', 'lobby'], env);
  t.not(bad.code, 0);
  t.regex(bad.err, /channel must be one of dm, private, public, shared/);
});
