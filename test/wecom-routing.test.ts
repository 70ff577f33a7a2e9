// WeCom's approval notifier reaches approvers through the platform registry (bot/wecom/module.ts), as
// the workers and the other bots use it: with WECOM_* set, a card for an approver bound only on WeCom
// is posted to the fake WeCom API (text summary and a button card); without WECOM_* nothing reaches
// them; and a card posted on WeCom is updated there, not on another platform.
import test from 'ava';
import { loadConfig } from '../bot/config.ts';
import type { Employee } from '../bot/core/domain.ts';
import type { ApprovalView } from '../bot/core/views-approval.ts';
import { createLogger } from '../bot/logger.ts';
import { demoEmployees } from '../bot/store/demo-company.ts';
import { workerChat } from '../workers/approvals/chat.ts';
import { FakeWeComApi } from './fakes/wecom.ts';
import { dropPrefix, testEnv, uniqueName } from './helpers/services.ts';

const fake = new FakeWeComApi([{ userid: 'wc_legal' }]);
const prefix = uniqueName(import.meta.url, 'prefix');
const logger = createLogger({ level: 'silent' });
const approver: Employee = { ...demoEmployees().legalHead, chat: { wecom: 'wc_legal' } };
// A request id as the core mints them (R- and ten letters A–P): a button whose value the codec refuses is left off the card.
const view: ApprovalView = {
  kind: 'approval', requestId: 'R-ABCDEFGHIJ', title: '申请 R-ABCDEFGHIJ', lines: [{ label: '客户', value: 'C-000123' }],
  status: { state: 'pending', text: '待审批' },
  buttons: [{ action: 'approve', label: '批准', value: 'R-ABCDEFGHIJ', style: 'primary' }, { action: 'deny', label: '拒绝', value: 'R-ABCDEFGHIJ', style: 'danger' }],
};

test.before(async () => { await fake.start(); });
test.after.always(async () => { await fake.stop(); await dropPrefix(prefix); });

const wecomEnv = () => ({
  WECOM_CORP_ID: fake.corpId, WECOM_AGENT_ID: String(fake.agentId), WECOM_SECRET: fake.secret, WECOM_TOKEN: 'tok123',
  WECOM_ENCODING_AES_KEY: 'A'.repeat(43), WECOM_API_URL: fake.url,
});

test.serial('an approver bound only on WeCom gets the card through the registry; its update goes to WeCom', async (t) => {
  const env = testEnv('unused', prefix, wecomEnv());
  const chat = workerChat(loadConfig(env, { require: ['redis'] }), logger, undefined, { env });
  t.teardown(() => chat.close());
  const ref = await chat.notifier.postCard(approver, view, 'approver');
  t.is(ref?.platform, 'wecom');
  const sent = fake.sentTo('wc_legal');
  t.true(sent.some((m) => m.card?.task_id === ref!.ts && m.card.button_list.length === 2), 'the button card');
  t.true(sent.some((m) => JSON.stringify(m).includes('申请 R-ABCDEFGHIJ')), 'the summary names the request');
  const before = fake.messages.length;
  await chat.notifier.updateCard(ref!, { ...view, status: { state: 'approved', text: '已批准' }, buttons: [] });
  t.true(fake.messages.length > before, 'no click code: the outcome arrives as a new WeCom message');
  t.true(JSON.stringify(fake.messages.slice(before)).includes('已批准'));
});

test.serial('without WECOM_* the approver is not reached and nothing is sent', async (t) => {
  const env = testEnv('unused', prefix);
  const chat = workerChat(loadConfig(env, { require: ['redis'] }), logger, undefined, { env });
  t.teardown(() => chat.close());
  const before = fake.messages.length;
  t.is(await chat.notifier.postCard(approver, view, 'approver'), null);
  t.is(fake.messages.length, before);
});
