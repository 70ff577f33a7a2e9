// Nothing a platform's chat opens outlives its component: a process runs the background workers and the
// security channel's notices with DingTalk configured (whose chat keeps its card ledger on a Redis
// connection of its own), a review cycle posts a card and a notice reaches the security group, then the
// process closes them and must end on its own (no process.exit), as `custos start` and the CLI rely on.
import { spawn } from 'node:child_process';
import test from 'ava';
import { loadConfig } from '../bot/config.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { demoEmployee } from '../bot/store/demo-company.ts';
import { EmployeeStore } from '../bot/store/employee-store.ts';
import { MongoGrantStore } from '../bot/store/grant-store.ts';
import { seedDemo } from '../bot/store/seed.ts';
import { FakeDingTalkApi } from './fakes/dingtalk.ts';
import { reviewGrant, ReviewJobs } from './helpers/access-review.ts';
import { entryArgs, root } from './helpers/run-custos.ts';
import { dropPrefix, testDatabase, testEnv, uniqueName } from './helpers/services.ts';

const GROUP = 'cidSecurityGroup01';
const db = await testDatabase(import.meta.url);
const prefix = uniqueName(import.meta.url, 'prefix');
const fake = new FakeDingTalkApi({ groups: [{ conversationId: GROUP, inner: true, members: [] }] });
test.before(() => fake.start());
test.after.always(async () => { await fake.stop(); await db.drop(); await dropPrefix(prefix); });

test('workers and security notices with DingTalk configured: after close the process ends on its own', async (t) => {
  const env = testEnv(db.name, prefix, {
    DINGTALK_APP_KEY: fake.appKey, DINGTALK_APP_SECRET: fake.appSecret, DINGTALK_CORP_ID: fake.corpId,
    DINGTALK_CARD_TEMPLATE_ID: fake.cardTemplateId, DINGTALK_API_URL: fake.url, DINGTALK_OAPI_URL: fake.url,
    DINGTALK_SECURITY_CONVERSATION_ID: GROUP, CUSTOS_LOCALE: 'en',
  });
  await seedDemo(db.conn, new FieldCipher(loadConfig(env, { require: ['crypto'] }).crypto!), { customers: 5, seed: 'chat-shutdown' });
  const [rep, lead] = [demoEmployee('salesRep'), demoEmployee('salesLeadEast')];
  await new EmployeeStore(db.conn).bindChatId(lead.employeeId, 'dingtalk', 'lead01');
  await new MongoGrantStore(db.conn).create(reviewGrant(new Date(), 'G-shutdown', rep, lead, ['C-000001'], ['identity'], 24 * 3_600_000));

  const child = spawn(process.execPath, entryArgs('test/helpers/chat-shutdown.ts'), { cwd: root, env: { PATH: process.env.PATH, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const jobs = await new ReviewJobs(prefix).ready();
  t.teardown(() => { child.kill('SIGKILL'); return jobs.close(); });
  await fake.waitForCard((c) => c.space === `group:${GROUP}`, 120_000);
  await jobs.run('cycle'); // the review worker posts the grant's card to the rep's manager, on DingTalk
  await fake.waitForCard((c) => c.space === 'robot:lead01', 60_000);
  t.true(out.includes('started'), err);

  child.stdin.end();
  // A process that stays open is killed after 45 s (closing takes a second or two), reporting what it still holds.
  const killer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  const code = await exited;
  clearTimeout(killer);
  t.is(code, 0, `the process did not end on its own: ${err.slice(-2000)}`);
  t.true(out.includes('stopped'));
});
