// `custos start` with only WeCom configured: the WeCom bot and the workers run (no playground beside a
// real deployment), WeCom's URL check and a signed, encrypted message are answered, the lookup is
// audited, and SIGTERM stops the process cleanly.
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { loadConfig } from '../bot/config.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { demoEmployee } from '../bot/store/demo-company.ts';
import { EmployeeStore } from '../bot/store/employee-store.ts';
import { seedDemo } from '../bot/store/seed.ts';
import { FakeWeComApi, WeComCallbackDriver } from './fakes/wecom.ts';
import { dropPrefix, testDatabase, testEnv, uniqueName } from './helpers/services.ts';
import { startCustosReady } from './helpers/run-custos.ts';

const db = await testDatabase(import.meta.url);
const prefix = uniqueName(import.meta.url, 'prefix');
const rep = demoEmployee('supportAgent');
const fake = new FakeWeComApi([{ userid: 'rep01', email: rep.email }]);
const aesKey = randomBytes(32).toString('base64').slice(0, 43);
const token = 'startToken1';
let env: NodeJS.ProcessEnv;

test.before(async () => {
  await fake.start();
  env = testEnv(db.name, prefix, {
    WECOM_CORP_ID: fake.corpId, WECOM_AGENT_ID: String(fake.agentId), WECOM_SECRET: fake.secret,
    WECOM_TOKEN: token, WECOM_ENCODING_AES_KEY: aesKey, WECOM_API_URL: fake.url,
  });
  const config = loadConfig(env, { require: ['mongo', 'crypto'] });
  await seedDemo(db.conn, new FieldCipher(config.crypto!), { customers: 20, seed: 'wecom-start' });
  await new EmployeeStore(db.conn).bindChatId(rep.employeeId, 'wecom', 'rep01');
});
test.after.always(async () => { await fake.stop(); await db.drop(); await dropPrefix(prefix); });

test('custos start runs the WeCom bot when WECOM_CORP_ID is set, answers the URL check and a message, audits it, and stops on SIGTERM', async (t) => {
  const { child, base, exited, stderr } = await startCustosReady(env, 'WECOM_HTTP_PORT');
  try {
    t.false(stderr().includes('custos playground'), 'no playground beside a WeCom deployment');
    const driver = new WeComCallbackDriver({ url: `${base}/wecom/callback`, token, aesKey, corpId: fake.corpId, agentId: fake.agentId });
    t.deepEqual(await driver.verifyUrl('5927381'), { status: 200, text: '5927381' });
    const res = await driver.send({ FromUserName: 'rep01', CreateTime: String(Math.floor(Date.now() / 1000)), MsgType: 'text', Content: 'C-000001', MsgId: '88001' });
    t.is(res.status, 200);
    const reply = await fake.waitFor((m) => m.touser === 'rep01', 60_000);
    t.true(reply.text!.startsWith('C-000001'), reply.text);
    const until = Date.now() + 60_000;
    let records: unknown[] = [];
    while (records.length === 0 && Date.now() < until) {
      records = await db.conn.collection('audit_events').find({ 'actor.platform': 'wecom', action: 'lookup', customerIds: 'C-000001' }).toArray();
      await new Promise((r) => setTimeout(r, 200));
    }
    t.is(records.length, 1);
  } finally {
    child.kill('SIGTERM');
  }
  t.is(await exited, 0);
});
