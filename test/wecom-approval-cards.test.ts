// WeCom's approval cards against the fake WeCom API and real Redis: a card copy gets its one update —
// the final state, through the response_code a click left — and everything else arrives as a new
// message: progress before the decision, a change after the update, a click older than 72 hours, a
// card nobody clicked. The fake refuses a second use of a code and a code older than 72 hours, so a
// notifier that tried either would fail here.
import test from 'ava';
import type { Employee } from '../bot/core/domain.ts';
import type { ApprovalView } from '../bot/core/views-approval.ts';
import { createLogger } from '../bot/logger.ts';
import { WeComApi } from '../bot/wecom/api.ts';
import { ResponseCodes, WeComApprovalNotifier, wecomResponseCodes } from '../bot/wecom/approval-notifier.ts';
import { demoEmployees } from '../bot/store/demo-company.ts';
import { FakeWeComApi, RESPONSE_CODE_TTL_MS } from './fakes/wecom.ts';
import { dropPrefix, testRedis, uniqueName } from './helpers/services.ts';

const approver: Employee = { ...demoEmployees().legalHead, chat: { wecom: 'u3' } };
const fake = new FakeWeComApi([{ userid: 'u3' }]);
const redis = testRedis();
const prefix = uniqueName(import.meta.url, 'prefix');
let notifier: WeComApprovalNotifier;
let codes: ResponseCodes;
let clock = Date.parse('2026-06-30T02:30:00Z');

test.before(async () => {
  await fake.start();
  fake.now = () => clock;
  const api = new WeComApi({ corpId: fake.corpId, secret: fake.secret, agentId: fake.agentId, apiUrl: fake.url }, createLogger({ level: 'silent' }), () => clock);
  codes = new ResponseCodes(redis, wecomResponseCodes(prefix));
  notifier = new WeComApprovalNotifier({ api, codes, logger: createLogger({ level: 'silent' }) });
});
test.after.always(async () => { await fake.stop(); await dropPrefix(prefix); redis.disconnect(); });

function view(requestId: string, state: ApprovalView['status']['state'], text: string, buttons = state === 'pending'): ApprovalView {
  return {
    kind: 'approval', requestId, title: `申请 ${requestId}`, lines: [{ label: '客户', value: 'C-000123' }, { label: '字段', value: '电话' }],
    status: { state, text },
    buttons: buttons ? [{ action: 'approve', label: '批准', value: requestId, style: 'primary' }, { action: 'deny', label: '拒绝', value: requestId, style: 'danger' }] : [],
  };
}

/** Posts a request card and clicks its first button as WeCom would; the card's message and ref. */
async function postAndClick(requestId: string) {
  const ref = (await notifier.postCard(approver, view(requestId, 'pending', '待审批'), 'approver'))!;
  const card = fake.messages.find((m) => m.card?.task_id === ref.ts)!;
  const click = fake.click(card, card.card!.button_list[0]!.key);
  await codes.remember(click.TaskId!, click.ResponseCode!);
  return { ref, card };
}

test.serial('a request card carries Approve / Deny buttons whose keys the conversation codec reads', async (t) => {
  const ref = (await notifier.postCard(approver, view('R-AAAAAAAAAA', 'pending', '待审批'), 'approver'))!;
  t.like(ref, { platform: 'wecom', channel: 'u3', role: 'approver' });
  const card = fake.messages.find((m) => m.card?.task_id === ref.ts)!;
  t.deepEqual(card.card!.button_list.map((b) => [b.text, b.key]), [['批准', 'approve|R-AAAAAAAAAA'], ['拒绝', 'deny|R-AAAAAAAAAA']]);
  t.true(fake.sentTo('u3').some((m) => m.text?.includes('客户: C-000123')));
});

test.serial('a card whose every button the codec refuses is sent as its text only, and the loss is logged as a warning', async (t) => {
  const logs: string[] = [];
  const api = new WeComApi({ corpId: fake.corpId, secret: fake.secret, agentId: fake.agentId, apiUrl: fake.url }, createLogger({ level: 'silent' }), () => clock);
  const logged = new WeComApprovalNotifier({ api, codes, logger: createLogger({ level: 'warn', destination: { write: (line: string) => { logs.push(line); } } }) });
  const before = fake.messages.length;
  const ref = (await logged.postCard(approver, view('not-a-request-id', 'pending', '待审批'), 'approver'))!;
  t.is(ref.ts, '', 'no card to update later');
  const sent = fake.messages.slice(before);
  t.deepEqual(sent.map((m) => (m.card ? 'card' : 'text')), ['text']);
  t.true(sent[0]!.text!.includes('申请 not-a-request-id'));
  t.true(logs.some((l) => l.includes('"level":40') && l.includes('an approval card lost every button') && l.includes('"buttons":2')), logs.join('\n'));
});

test.serial('the final state greys the buttons out with the click\'s response_code, once, and arrives as a text; a later change is a new message', async (t) => {
  const { ref, card } = await postAndClick('R-BBBBBBBBBB');
  const sent = fake.messages.length;
  await notifier.updateCard(ref, view('R-BBBBBBBBBB', 'approved', '已批准'));
  t.deepEqual(card.update, { button: { replace_name: '已批准' } });
  t.deepEqual(fake.messages.slice(sent).map((m) => m.text?.split('——')[1]?.trim()), ['已批准'], 'who decided and when is read in the text, as on every copy');
  await notifier.updateCard(ref, view('R-BBBBBBBBBB', 'grant_expired', '授权已到期，字段已重新脱敏'));
  t.is(fake.apiCalls('message/update_template_card').length, 1, 'never a second update');
  t.is(fake.messages.at(-1)!.text!.split('——')[1]!.trim(), '授权已到期，字段已重新脱敏');
});

test.serial('progress before the decision is a new message and leaves the code for the final state', async (t) => {
  const { ref, card } = await postAndClick('R-CCCCCCCCCC');
  await notifier.updateCard(ref, view('R-CCCCCCCCCC', 'pending', '1/2 已批准'));
  t.falsy(card.update);
  t.true(fake.messages.at(-1)!.text!.endsWith('1/2 已批准'));
  await notifier.updateCard(ref, view('R-CCCCCCCCCC', 'denied', '已拒绝'));
  t.deepEqual(card.update, { button: { replace_name: '已拒绝' } });
});

test.serial('a click older than 72 hours: the outcome arrives as a new message; a card nobody clicked is greyed out with the code its send returned', async (t) => {
  const { ref, card } = await postAndClick('R-DDDDDDDDDD');
  clock += RESPONSE_CODE_TTL_MS + 60_000; // the fake refuses the code now, as WeCom does
  const updates = fake.apiCalls('message/update_template_card').length;
  await notifier.updateCard(ref, view('R-DDDDDDDDDD', 'expired', '已过期'));
  t.falsy(card.update);
  t.is(fake.apiCalls('message/update_template_card').length, updates + 1, 'tried once, refused');
  t.true(fake.messages.at(-1)!.text!.endsWith('已过期'));
  const unclicked = (await notifier.postCard(approver, view('R-EEEEEEEEEE', 'pending', '待审批'), 'approver'))!;
  await notifier.updateCard(unclicked, view('R-EEEEEEEEEE', 'cancelled', '已撤回'));
  t.is(fake.apiCalls('message/update_template_card').length, updates + 2, 'the send\'s code, used once');
  t.deepEqual(fake.messages.find((m) => m.card?.task_id === unclicked.ts)!.update, { button: { replace_name: '已撤回' } });
  t.true(fake.messages.at(-1)!.text!.endsWith('已撤回'));
  await notifier.updateCard(unclicked, view('R-EEEEEEEEEE', 'grant_expired', '已过期'));
  t.is(fake.apiCalls('message/update_template_card').length, updates + 2, 'no code left, no second attempt');
});

test.serial('an expired access token (42001) is fetched again once and the message still goes out', async (t) => {
  const tokens = fake.apiCalls('gettoken').length;
  fake.expireTokens();
  await notifier.tell(approver, '授权即将到期');
  t.is(fake.apiCalls('gettoken').length, tokens + 1);
  t.deepEqual(fake.calls.slice(-3).map((c) => [c.api, c.errcode]), [['message/send', 42001], ['gettoken', 0], ['message/send', 0]]);
  t.is(fake.messages.at(-1)!.text, '授权即将到期');
});
