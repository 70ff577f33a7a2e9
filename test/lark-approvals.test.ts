// Approvals and exports on Lark, end to end: signed card callbacks to the bot's real endpoint, the real
// Lark SDK against the fake Open API, real Redis, database, audit and export workers. Lookup card →
// Reveal → the request form (a form container in a card) → approver's DM card → Approve → every copy
// patched, the requester told, the lookup card shows the field under the grant; Deny with a reason;
// self-approval refused; duplicated clicks; an export delivered as a file message; offboarding cancels
// pending requests.
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { t as tr } from '../bot/core/messages.ts';
import { cardButtons, cardFieldMap, cardFormFields, cardText, type SentMessage } from './fakes/lark-api.ts';
import { LarkHarness } from './helpers/lark-bot.ts';
import { movableClock } from './helpers/slack-approval.ts';
import { userDeleted } from './helpers/lark-sign.ts';
import { createAuditProducer } from '../bot/queue/audit-producer.ts';
import { workerApprovalParts } from '../workers/approvals/service.ts';
import type { DemoEmployeeKey } from '../bot/store/demo-company.ts';

const clock = movableClock();
// The 3 s callback budget is lark-flows' subject; here a loaded CI machine must not turn an answer into "working…".
const h = new LarkHarness(import.meta.url, { customers: 150, clock, overrides: { callbackBudgetMs: 60_000 } });
const all: Customer[] = [];
const PHONE = '电话';

test.before(async () => {
  await h.start();
  for await (const c of h.customers.stream({})) all.push(c);
});
test.after.always(async () => { await h.close(); });

/** An east-region customer with a phone that `salesRep` does not own (phone masked on their card). */
function maskedPhoneCustomer(skip: number): Customer {
  return all.filter((c) => c.region === 'east' && c.ownerId !== h.employees.salesRep.employeeId && c.phone && c.status !== 'blocked')[skip]!;
}

const sentAfter = (n: number) => (m: SentMessage) => h.fake.sent().indexOf(m) >= n;

/** Clicks a button of `message` (by callback action) as `key`. */
async function press(key: DemoEmployeeKey, message: SentMessage, action: string, form?: Record<string, unknown>, match: (label: string) => boolean = () => true) {
  const b = cardButtons(message.card).find((x) => x.value.a === action && match(x.label));
  if (!b) throw new Error(`no ${action} button on the card: ${cardText(message.card)}`);
  return h.click(key, message, b.value, form);
}

/** Reveal (or Request access) on a fresh lookup card, then the form that arrives in the DM. */
async function openForm(key: DemoEmployeeKey, customerId: string, action: 'reveal' | 'access') {
  const lookup = await h.ask(key, customerId);
  const n = h.fake.sent().length;
  const click = await press(key, lookup, action, undefined, (l) => action === 'access' || l.includes(PHONE));
  const form = await h.fake.waitFor((m) => sentAfter(n)(m) && m.receiveId === h.openId(key) && cardFormFields(m.card).includes('reason'));
  return { lookup, click, form };
}

/** Submits a request form; resolves with the request id and the approver's card. */
async function submitRequest(key: DemoEmployeeKey, form: SentMessage, values: Record<string, unknown>, approver: DemoEmployeeKey) {
  const n = h.fake.sent().length;
  const res = await press(key, form, 'request_submit', values);
  const id = /#(R-[A-P]{10})/.exec(res.answer.toast?.content ?? '')?.[1];
  if (!id) throw new Error(`not submitted: ${JSON.stringify(res.answer.toast)}`);
  const card = await h.fake.waitFor((m) => sentAfter(n)(m) && m.receiveId === h.openId(approver) && cardText(m.card).includes(id));
  return { requestId: id, approverCard: card, answer: res.answer };
}

function patchedTo(message: SentMessage, pattern: RegExp): Promise<SentMessage> {
  return h.fake.waitFor((m) => m.messageId === message.messageId && m.patches.length > 0 && pattern.test(cardText(m.card)));
}

test.serial('reveal: form card → approver DM card → approve → cards patched, requester told, the lookup card shows the phone; audited', async (t) => {
  const c = maskedPhoneCustomer(0);
  const { lookup, click, form } = await openForm('salesRep', c.customerId, 'reveal');
  t.not(cardFieldMap(lookup.card).get(PHONE), c.phone, 'masked before any grant');
  t.is(click.answer.toast?.content, tr('lark.approval.formSent', 'zh-CN'));
  t.deepEqual(cardFormFields(form.card), ['reason', 'duration'], 'a reveal asks for reason and duration');
  t.regex(cardText(form.card), new RegExp(`${c.customerId} · ${PHONE}`));

  const n = h.fake.sent().length;
  const { requestId, approverCard, answer } = await submitRequest('salesRep', form, { reason: '核对来电号码', duration: '15' }, 'salesLeadEast');
  t.regex(cardText(answer.card?.data), new RegExp(`已提交申请 #${requestId}`), 'the form is replaced by what happened');
  for (const part of ['张伟', c.customerId, PHONE, '核对来电号码', '15 分钟', '李娜']) t.true(cardText(approverCard.card).includes(part), `approver card shows ${part}`);
  t.deepEqual(cardButtons(approverCard.card).map((b) => b.value.a), ['approve', 'deny']);
  const own = await h.fake.waitFor((m) => sentAfter(n)(m) && m.receiveId === h.openId('salesRep') && cardText(m.card).includes(requestId));
  t.deepEqual(cardButtons(own.card).map((b) => b.value.a), ['cancel']);

  const approved = await press('salesLeadEast', approverCard, 'approve');
  t.is(approved.answer.toast?.content, tr('approval.done.approved', 'zh-CN', { id: requestId }));
  const grantId = `G-${requestId.slice(2)}`;
  for (const copy of [approverCard, own]) {
    const patched = await patchedTo(copy, /已由 李娜 于 .* 批准，授权 #G-/);
    t.is(cardButtons(patched.card).length, 0, 'no buttons left on a decided card');
  }
  await h.fake.waitFor((m) => sentAfter(n)(m) && m.receiveId === h.openId('salesRep') && cardText(m.card).includes('已由 李娜 批准'));
  const revealed = await h.fake.waitFor((m) => m.messageId === lookup.messageId && m.patches.length > 0);
  // The label holds a time (a colon), so the line is matched whole rather than through cardFieldMap.
  t.true(cardText(revealed.card).split('\n').includes(`${PHONE}（依据授权 #${grantId} 显示至 ${/显示至 ([^）]+)）/.exec(cardText(revealed.card))?.[1]}）: ${c.phone}`),
    'the lookup card shows the phone and says under which grant and until when');

  const actions = (await h.auditRecords({ requestId }, 4)).map((r) => r.action);
  for (const a of ['request.create', 'request.approve', 'grant.start', 'reveal']) t.true(actions.includes(a), `audited: ${a}`);
  const reveal = (await h.auditRecords({ requestId, action: 'reveal' }))[0]!;
  t.is(reveal.grantId, grantId);
  t.is((reveal.actor as { platform: string }).platform, 'lark');
});

test.serial('a duplicated click and a second approver after the decision are answered "already approved"; the form submits once', async (t) => {
  const c = maskedPhoneCustomer(1);
  const { form } = await openForm('salesRep', c.customerId, 'reveal');
  const values = { reason: '客户回访', duration: '10' };
  const [first, second] = await Promise.all([press('salesRep', form, 'request_submit', values), press('salesRep', form, 'request_submit', values)]);
  const toasts = [first, second].map((r) => r.answer.toast?.content ?? '');
  t.is(toasts.filter((x) => /#R-[A-P]{10}/.test(x)).length, 1, 'exactly one request created');
  t.true(toasts.includes(tr('lark.approval.alreadySubmitted', 'zh-CN')));
  const requestId = /#(R-[A-P]{10})/.exec(toasts.join(' '))![1]!;
  const approverCard = await h.fake.waitFor((m) => m.receiveId === h.openId('salesLeadEast') && cardText(m.card).includes(requestId));

  const clicks = await Promise.all([1, 2, 3, 4, 5].map(() => press('salesLeadEast', approverCard, 'approve')));
  const answers = clicks.map((x) => x.answer.toast?.content ?? '');
  t.is(answers.filter((x) => x === tr('approval.done.approved', 'zh-CN', { id: requestId })).length, 1, 'one approval wins');
  t.true(answers.filter((x) => x !== tr('approval.done.approved', 'zh-CN', { id: requestId })).every((x) => /该申请已由 李娜 于 .* 批准/.test(x)), answers.join(' | '));
  const decisions = await h.auditRecords({ requestId, action: 'grant.start' });
  t.is(decisions.length, 1, 'one grant');
});

test.serial('deny needs a reason: the form opens on the approver\'s copy, an empty reason keeps it open, a reason denies and tells the requester', async (t) => {
  const c = maskedPhoneCustomer(2);
  const { form } = await openForm('salesRep', c.customerId, 'reveal');
  const n = h.fake.sent().length;
  const { requestId, approverCard } = await submitRequest('salesRep', form, { reason: '合同核对', duration: '10' }, 'salesLeadEast');
  const opened = await press('salesLeadEast', approverCard, 'deny');
  const denyCard = opened.answer.card!.data;
  t.deepEqual(cardFormFields(denyCard), ['reason'], 'the reason form replaces the buttons');
  const submitDeny = cardButtons(denyCard).find((b) => b.value.a === 'deny_submit')!;
  const empty = await h.click('salesLeadEast', approverCard, submitDeny.value, { reason: '  ' });
  t.is(empty.answer.toast?.content, tr('approval.refused.reason_required', 'zh-CN'));
  t.deepEqual(cardFormFields(empty.answer.card?.data), ['reason'], 'still open');
  t.is((await h.auditRecords({ requestId, action: 'request.deny' }, 0, 500)).length, 0, 'nothing decided');

  const denied = await h.click('salesLeadEast', approverCard, submitDeny.value, { reason: '用途不充分' });
  t.is(denied.answer.toast?.content, tr('approval.done.denied', 'zh-CN', { id: requestId }));
  await patchedTo(approverCard, /已由 李娜 于 .* 拒绝，理由：用途不充分/);
  await h.fake.waitFor((m) => sentAfter(n)(m) && m.receiveId === h.openId('salesRep') && cardText(m.card).includes(`已被 李娜 拒绝，理由：用途不充分`));
  const late = await h.click('salesLeadEast', approverCard, { a: 'approve', r: requestId });
  t.regex(late.answer.toast?.content ?? '', /该申请已由 李娜 于 .* 拒绝/, 'a stale Approve after the denial');
});

test.serial('self-approval is refused and a malformed button changes nothing; the requester can cancel', async (t) => {
  const c = maskedPhoneCustomer(3);
  const { form } = await openForm('salesRep', c.customerId, 'reveal');
  const n = h.fake.sent().length;
  const { requestId } = await submitRequest('salesRep', form, { reason: '资料核对', duration: '5' }, 'salesLeadEast');
  const own = await h.fake.waitFor((m) => sentAfter(n)(m) && m.receiveId === h.openId('salesRep') && cardText(m.card).includes(requestId));
  const self = await h.click('salesRep', own, { a: 'approve', r: requestId });
  t.is(self.answer.toast?.content, tr('approval.refused.self_approval', 'zh-CN'));
  const bad = await h.click('salesRep', own, { a: 'reveal', v: '{"c":"not-an-id"}' });
  t.is(bad.answer.toast?.content, tr('approval.refused.malformed', 'zh-CN'));
  t.is((await h.auditRecords({ requestId, action: 'grant.start' }, 0, 500)).length, 0);
  const cancelled = await press('salesRep', own, 'cancel');
  t.is(cancelled.answer.toast?.content, tr('approval.done.cancelled', 'zh-CN', { id: requestId }));
  await patchedTo(own, /申请人已于 .* 撤回/);
});

test.serial('export: `export …` in the DM → form → manager approves → the CSV arrives as a file message; audited', async (t) => {
  const lead = 'salesLeadEast' as const;
  const form = await h.ask(lead, 'export region:east fields:name,phone,stage');
  t.deepEqual(cardFormFields(form.card), ['reason', 'duration'], cardText(form.card));
  const { requestId, approverCard } = await submitRequest(lead, form, { reason: '季度客户回访', duration: '120' }, 'salesHead');
  t.true(cardText(approverCard.card).includes('region:east'), 'the approver sees which customers');
  await press('salesHead', approverCard, 'approve');
  const exportId = `X-${requestId.slice(2)}`;
  const fileMessage = await h.fake.waitFor((m) => m.msgType === 'file' && m.receiveId === h.openId(lead), 60_000);
  const file = h.fake.files.get(fileMessage.fileKey!)!;
  t.is(file.name, `custos-export-${exportId}.csv`);
  t.deepEqual([...file.bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 with BOM');
  t.true(file.bytes.toString('utf8').includes(exportId), 'watermarked with the export id');
  await h.fake.waitFor((m) => m.receiveId === h.openId(lead) && m.patches.length > 0 && cardText(m.card).includes(exportId) && /完成/.test(cardText(m.card)));
  const actions = (await h.auditRecords({ exportId }, 3)).map((r) => r.action);
  for (const a of ['export.start', 'export.complete', 'export.download']) t.true(actions.includes(a), `audited: ${a}`);
});

test.serial('Lark\'s per-chat sending limit (230020): the bot pauses and retries, so every card and DM still arrives', async (t) => {
  h.fake.rateLimits.perChat = 1;
  try {
    const limitedBefore = h.fake.rateLimitedCalls().length;
    const c = maskedPhoneCustomer(5);
    const { form } = await openForm('salesRep', c.customerId, 'reveal');
    const n = h.fake.sent().length;
    const { requestId, approverCard } = await submitRequest('salesRep', form, { reason: '核对来电号码', duration: '5' }, 'salesLeadEast');
    // Sends a second apart never meet the per-second limit: the requester's chat is also told "over the
    // limit" for the next two sends whatever their timing, so the retry is exercised on a loaded machine too.
    h.fake.refuseChatSends(h.openId('salesRep'), 2);
    await press('salesLeadEast', approverCard, 'approve');
    await h.fake.waitFor((m) => sentAfter(n)(m) && m.receiveId === h.openId('salesRep') && cardText(m.card).includes(`申请 #${requestId} 已由 李娜 批准`));
    t.truthy(await h.fake.waitFor((m) => sentAfter(n)(m) && m.receiveId === h.openId('salesRep') && cardText(m.card).startsWith(`权限申请 #${requestId}`)), 'the requester\'s own copy of the card');
    t.true(h.fake.rateLimitedCalls().length > limitedBefore, 'the fake did refuse some sends for their rate');
  } finally {
    h.fake.rateLimits.perChat = 5;
  }
});

test.serial('a file over Lark\'s 30 MB upload limit is refused before anything is uploaded', async (t) => {
  const { LarkApi, LarkApiError, FILE_LIMIT_BYTES } = await import('../bot/lark/api.ts');
  const api = LarkApi.create({ appId: h.fake.appId, appSecret: h.fake.appSecret, domain: h.fake.domain }, h.logger);
  const uploads = h.fake.callsOf('im.file.create').length;
  const err = await t.throwsAsync(api.sendFile('open_id', h.openId('salesRep'), 'big.csv', Buffer.alloc(FILE_LIMIT_BYTES + 1)));
  t.true(err instanceof LarkApiError && err.code === 234006);
  t.is(h.fake.callsOf('im.file.create').length, uploads);
});

test.serial('grant expiry through the workers\' Lark notifier: the sweep patches both copies, re-masks the lookup card and tells the requester', async (t) => {
  const producer = createAuditProducer({ redis: h.config.redis!, prefix: h.config.redis!.queuePrefix, timeoutMs: 2000 });
  try {
    const worker = await workerApprovalParts(h.conn, h.config, h.logger, clock, producer);
    const c = maskedPhoneCustomer(6);
    const { lookup, form } = await openForm('salesRep', c.customerId, 'reveal');
    const n = h.fake.sent().length;
    const { requestId, approverCard } = await submitRequest('salesRep', form, { reason: '核对来电号码', duration: '5' }, 'salesLeadEast');
    await press('salesLeadEast', approverCard, 'approve');
    await h.fake.waitFor((m) => m.messageId === lookup.messageId && cardText(m.card).includes(c.phone!));
    const grantId = `G-${requestId.slice(2)}`;
    clock.advance(6 * 60_000);
    try {
      t.true((await worker.approvals.sweep()).grantsExpired >= 1);
      await patchedTo(approverCard, new RegExp(`授权 #${grantId} 已于 .* 到期`));
      await h.fake.waitFor((m) => m.messageId === lookup.messageId && !cardText(m.card).includes(c.phone!) && m.patches.length >= 2);
      await h.fake.waitFor((m) => sentAfter(n)(m) && m.receiveId === h.openId('salesRep') && cardText(m.card).includes(`授权 #${grantId} 已到期`));
      t.is((await h.auditRecords({ requestId, action: 'grant.expire' })).length, 1);
    } finally {
      clock.advance(-6 * 60_000);
    }
  } finally {
    await producer.close();
  }
});

test.serial('an approval card Lark will not update (230054, 220340) is sent again as a new card, so the approver sees the outcome', async (t) => {
  const c = maskedPhoneCustomer(7);
  const { form } = await openForm('salesRep', c.customerId, 'reveal');
  const { requestId, approverCard } = await submitRequest('salesRep', form, { reason: '核对来电号码', duration: '5' }, 'salesLeadEast');
  const n = h.fake.sent().length;
  h.fake.failNextPatches(230054, 220340);
  await press('salesLeadEast', approverCard, 'approve');
  const resent = await h.fake.waitFor((m) => sentAfter(n)(m) && m.receiveId === h.openId('salesLeadEast') && cardText(m.card).startsWith(`权限申请 #${requestId}`));
  t.regex(cardText(resent.card), /已由 李娜 于 .* 批准/);
  t.is(cardButtons(resent.card).length, 0);
  t.is(approverCard.patches.length, 0, 'the original could not be patched');
});

// Last: it offboards salesRep.
test.serial('offboarding on Lark cancels the person\'s pending requests and revokes their grants (shared offboarding)', async (t) => {
  const c = maskedPhoneCustomer(4);
  const { form } = await openForm('salesRep', c.customerId, 'reveal');
  const { requestId, approverCard } = await submitRequest('salesRep', form, { reason: '续约跟进', duration: '5' }, 'salesLeadEast');
  const staleApprove = cardButtons(approverCard.card).find((b) => b.value.a === 'approve')!;
  const res = await h.push(userDeleted(h.openId('salesRep')));
  t.is(res.status, 200);
  const records = await h.auditRecords({ action: 'admin.offboard', 'meta.subject': h.employees.salesRep.employeeId });
  t.like(records[0]!.meta as Record<string, unknown>, { route: 'lark', requests: 1 });
  // The approver's card says so in place, with nothing left to click…
  t.regex(cardText(approverCard.card), /申请人已离职，申请已于 .* 自动撤销，无需审批/);
  t.is(cardButtons(approverCard.card).length, 0);
  // …and a click from a copy rendered before (a stale client) is answered, not obeyed.
  const late = await h.click('salesLeadEast', approverCard, staleApprove.value);
  t.regex(late.answer.toast?.content ?? '', /该申请.*撤回/, 'the pending request was cancelled');
  t.is((await h.auditRecords({ requestId, action: 'grant.start' }, 0, 500)).length, 0);
});
