// `custos start` with only Lark configured: the Lark bot and the workers run (no playground beside a real
// deployment), a signed DM is answered and audited, and SIGTERM stops the process cleanly.
import test from 'ava';
import { loadConfig } from '../bot/config.ts';
import '../bot/core/lookup-messages.ts';
import { t as tr } from '../bot/core/messages.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { demoEmployee } from '../bot/store/demo-company.ts';
import { EmployeeStore } from '../bot/store/employee-store.ts';
import { seedDemo } from '../bot/store/seed.ts';
import { cardText, FakeLarkApi } from './fakes/lark-api.ts';
import { dropPrefix, testDatabase, testEnv, uniqueName } from './helpers/services.ts';
import { ENCRYPT_KEY, messageEvent, post, signed, VERIFICATION_TOKEN } from './helpers/lark-sign.ts';
import { startCustosReady } from './helpers/run-custos.ts';

const db = await testDatabase(import.meta.url);
const prefix = uniqueName(import.meta.url, 'prefix');
const rep = demoEmployee('supportAgent');
const fake = new FakeLarkApi({ users: [{ openId: 'ou_rep', email: rep.email }], chats: [{ chatId: 'oc_rep', mode: 'p2p', members: ['ou_rep'] }] });
let env: NodeJS.ProcessEnv;

test.before(async () => {
  await fake.start();
  env = testEnv(db.name, prefix, {
    LARK_APP_ID: fake.appId, LARK_APP_SECRET: fake.appSecret, LARK_ENCRYPT_KEY: ENCRYPT_KEY,
    LARK_VERIFICATION_TOKEN: VERIFICATION_TOKEN, LARK_DOMAIN: fake.domain,
  });
  const config = loadConfig(env, { require: ['mongo', 'crypto'] });
  await seedDemo(db.conn, new FieldCipher(config.crypto!), { customers: 20, seed: 'lark-start' });
  await new EmployeeStore(db.conn).bindChatId(rep.employeeId, 'lark', 'ou_rep');
});
test.after.always(async () => { await fake.stop(); await db.drop(); await dropPrefix(prefix); });

test('custos start runs the Lark bot when LARK_APP_ID is set, answers a signed DM, audits it, and stops on SIGTERM', async (t) => {
  const { child, base, exited, stderr } = await startCustosReady(env, 'LARK_HTTP_PORT');
  try {
    t.false(stderr().includes('custos playground'), 'no playground beside a Lark deployment');
    const res = await post(`${base}/lark/events`, signed(messageEvent({ openId: 'ou_rep', chatId: 'oc_rep', text: 'C-000001' })));
    t.is(res.status, 200);
    const reply = await fake.waitFor((m) => m.receiveId === 'oc_rep', 60_000);
    t.true(cardText(reply.card).startsWith('C-000001'));
    t.false(cardText(reply.card).includes(tr('custos_internal', 'zh-CN')));
    const until = Date.now() + 60_000;
    let records: unknown[] = [];
    while (records.length === 0 && Date.now() < until) {
      records = await db.conn.collection('audit_events').find({ 'actor.platform': 'lark', action: 'lookup', customerIds: 'C-000001' }).toArray();
      await new Promise((r) => setTimeout(r, 200));
    }
    t.is(records.length, 1);
  } finally {
    child.kill('SIGTERM');
  }
  t.is(await exited, 0);
});
