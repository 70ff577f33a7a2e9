// Lark, through the real endpoint (signed, encrypted pushes): one identity rule in every handler — a
// user never seen before is matched by their contact e-mail once, whether they look up, are a member of
// a group a card is shared into, or click an approval, review or alert button (issue 13, defect 7);
// refused clicks (unknown, offboarded, frozen) are recorded through the shared path (defect 4); and a
// burst of 50 Approve + 10 Deny callbacks on one request is answered (a toast each), leaves one
// decision event, and sends the clicker no chat message per click (defect 5).
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import '../bot/core/reviews/views.ts';
import { t as tr } from '../bot/core/messages.ts';
import { ACTION_SECURITY } from '../bot/lark/security-cards.ts';
import { LARK_ACTION_REVIEW } from '../bot/lark/review-cards.ts';
import { demoEmployee, type DemoEmployeeKey } from '../bot/store/demo-company.ts';
import { cardButtons, cardFormFields, cardText, type SentMessage } from './fakes/lark-api.ts';
import { LarkHarness, openIdOf } from './helpers/lark-bot.ts';
import { cardAction, userDeleted } from './helpers/lark-sign.ts';

const SHARE_GROUP = 'oc_share';
const SECURITY_GROUP = 'oc_security';
const NEVER_SEEN: DemoEmployeeKey[] = ['salesRepNorth', 'supportAgent', 'salesLeadEast', 'financeHead', 'admin'];
// Callbacks answer with their outcome however loaded the machine: that the answer arrives by Lark's 3 s
// deadline whatever the work takes is lark-flows' subject (budget 0: a toast at once, the card patched).
const h = new LarkHarness(import.meta.url, {
  overrides: { callbackBudgetMs: 60_000 },
  customers: 80, unbound: [...NEVER_SEEN, 'ordersClerk'],
  extraChats: [
    { chatId: SHARE_GROUP, mode: 'group', type: 'private', members: [openIdOf(demoEmployee('salesRep')), openIdOf(demoEmployee('supportAgent'))] },
    { chatId: SECURITY_GROUP, mode: 'group', type: 'private', members: [openIdOf(demoEmployee('admin'))] },
  ],
});
const east: Customer[] = [];
let own: Customer;

test.before(async () => {
  await h.start();
  for await (const c of h.customers.stream({})) {
    if (c.region === 'east' && c.ownerId !== h.employees.salesRep.employeeId && c.status !== 'blocked') east.push(c);
    if (!own && c.ownerId === h.employees.salesRep.employeeId && c.phone) own = c;
  }
});
test.after.always(async () => { await h.close(); });

const boundTo = async (key: DemoEmployeeKey) => (await h.directory.byId(h.employees[key].employeeId))?.chat.lark;

/** A card callback by `openId` on message `messageId`; its status and answer. */
async function callback(openId: string, value: Record<string, string>, opts: { chatId?: string; messageId?: string; form?: Record<string, unknown> } = {}) {
  const res = await h.push(cardAction({ openId, value, messageId: opts.messageId ?? 'om_any', chatId: opts.chatId ?? 'oc_any', ...(opts.form ? { formValue: opts.form } : {}) }));
  const answer = (res.text ? JSON.parse(res.text) : {}) as { toast?: { content: string }; card?: { data: Record<string, unknown> } };
  return { status: res.status, toast: answer.toast?.content ?? '', answer };
}

/** salesRep asks for access to `customer`'s contact group through the card and the form; the request id. */
async function requestAccess(customer: Customer): Promise<{ id: string; approverCard: SentMessage }> {
  const lookup = await h.ask('salesRep', customer.customerId);
  const access = cardButtons(lookup.card).find((b) => b.value.a === 'access')!;
  const n = h.fake.sent().length;
  await h.click('salesRep', lookup, access.value);
  const form = await h.fake.waitFor((m) => h.fake.sent().indexOf(m) >= n && m.receiveId === h.openId('salesRep') && cardFormFields(m.card).includes('reason'));
  const submit = cardButtons(form.card).find((b) => b.value.a === 'request_submit')!;
  const res = await h.click('salesRep', form, submit.value, { reason: '客户回访', duration: '60', groups: ['contact'] });
  const id = /#(R-[A-P]{10})/.exec(res.answer.toast?.content ?? '')![1]!;
  const approverCard = await h.fake.waitFor((m) => m.receiveId === h.openId('salesLeadEast') && cardText(m.card).includes(id));
  return { id, approverCard };
}

test.serial('a user never seen before is resolved by e-mail in every handler: lookup, share audience, approval, review and security buttons', async (t) => {
  for (const key of NEVER_SEEN) t.is(await boundTo(key), undefined, `${key} starts unbound`);
  const card = await h.ask('salesRepNorth', east[0]!.customerId);
  t.notRegex(cardText(card.card), /未找到与您的账号对应的员工记录/);
  t.is(await boundTo('salesRepNorth'), h.openId('salesRepNorth'));

  const share = await callback(h.openId('salesRep'), { a: 'share', c: own.customerId, g: SHARE_GROUP }, { chatId: SHARE_GROUP });
  t.is(share.toast, tr('lookup.share.done', 'zh-CN'));
  t.truthy(await h.fake.waitFor((m) => m.receiveId === SHARE_GROUP), 'the card was posted in the group');
  t.is(await boundTo('supportAgent'), h.openId('supportAgent'), 'the member was matched by e-mail and bound');

  // The approver card goes to a bound approver only: the approver is bound by their first click below.
  await h.directory.bindChatId(h.employees.salesLeadEast.employeeId, 'lark', h.openId('salesLeadEast'));
  const { id } = await requestAccess(east[1]!);
  await h.conn.collection('employees').updateOne({ employeeId: h.employees.salesLeadEast.employeeId }, { $unset: { 'chat.lark': '' } });
  t.is((await callback(h.openId('salesLeadEast'), { a: 'approve', r: id })).toast, tr('approval.done.approved', 'zh-CN', { id }));
  t.is(await boundTo('salesLeadEast'), h.openId('salesLeadEast'));

  t.is((await callback(h.openId('financeHead'), { a: LARK_ACTION_REVIEW.keep, r: 'RV-20260301.NOPE' })).toast, tr('review.unknown', 'zh-CN'));
  t.is(await boundTo('financeHead'), h.openId('financeHead'));

  const frozen = h.employees.salesRepSouth;
  await h.directory.setStatus(frozen.employeeId, 'frozen');
  t.regex((await callback(h.openId('admin'), { a: ACTION_SECURITY.unfreeze, c: frozen.employeeId }, { chatId: SECURITY_GROUP })).toast, /陈静 \(E-0001\) 已解除冻结/);
  t.is((await h.directory.byId(frozen.employeeId))?.status, 'active');
  t.is(await boundTo('admin'), h.openId('admin'));
});

test.serial('refused clicks are recorded on approval, review and security buttons for unknown, offboarded and frozen clickers; the toast says why', async (t) => {
  const { id } = await requestAccess(east[2]!);
  await h.push(userDeleted(h.openId('legalLead')));
  for (let i = 0; i < 1200 && (await h.directory.byId(h.employees.legalLead.employeeId))?.status !== 'offboarded'; i++) await new Promise((r) => setTimeout(r, 50));
  await h.directory.setStatus(h.employees.ordersClerk.employeeId, 'frozen');
  const clickers = [
    { who: 'ou_nobody', employeeId: null, code: 'custos_employee_unknown', text: /未找到与您的账号对应的员工记录/ },
    { who: h.openId('legalLead'), employeeId: h.employees.legalLead.employeeId, code: 'custos_employee_offboarded', text: /已离职停用/ },
    { who: h.openId('ordersClerk'), employeeId: h.employees.ordersClerk.employeeId, code: 'custos_employee_frozen', text: /已被冻结/ },
  ];
  for (const c of clickers) {
    const toasts = {
      approval: (await callback(c.who, { a: 'approve', r: id })).toast,
      deny: (await callback(c.who, { a: 'deny_submit', r: id }, { form: { reason: '不属于本区域' } })).toast,
      review: (await callback(c.who, { a: LARK_ACTION_REVIEW.revoke, r: 'RV-20260301.ANY' })).toast,
      security: (await callback(c.who, { a: ACTION_SECURITY.unfreeze, c: h.employees.salesRep.employeeId }, { chatId: SECURITY_GROUP })).toast,
    };
    for (const [what, toast] of Object.entries(toasts)) {
      t.regex(toast, c.text, `${c.code}: ${what}`);
      t.notRegex(toast, /已记录|recorded/);
    }
    const records = await h.auditRecords({ action: 'interaction.refused', 'actor.platformUserId': c.who }, 4);
    t.deepEqual(records.map((r) => (r.meta as { interaction: string }).interaction).sort(), ['approval', 'approval', 'review', 'security']);
    for (const r of records) t.like(r, { decision: 'denied', reasonCode: c.code, actor: { employeeId: c.employeeId, platform: 'lark', platformUserId: c.who } });
  }
  t.is(await h.conn.collection('request_decisions').countDocuments({ requestId: id }), 0);
});

test.serial('50 Approve and 10 Deny callbacks at once: each answered with a toast, one decision event, no chat message per click', async (t) => {
  t.timeout(180_000);
  const { id, approverCard } = await requestAccess(east[3]!);
  const sentBefore = h.fake.sent().length;
  const approver = h.openId('salesLeadEast');
  const on = { messageId: approverCard.messageId, chatId: h.dm('salesLeadEast') };
  const answers = await Promise.all([
    ...Array.from({ length: 50 }, () => callback(approver, { a: 'approve', r: id }, on)),
    ...Array.from({ length: 10 }, () => callback(approver, { a: 'deny_submit', r: id }, { ...on, form: { reason: '不属于本区域' } })),
  ]);
  t.true(answers.every((a) => a.status === 200));
  t.true(answers.every((a) => a.toast !== ''), 'each clicker got a toast');
  await new Promise((r) => setTimeout(r, 3000));
  const newToApprover = h.fake.sent().slice(sentBefore).filter((m) => m.receiveId === approver || m.receiveId === h.dm('salesLeadEast'));
  t.deepEqual(newToApprover.map((m) => cardText(m.card)), [], 'no new chat message to the clicker');
  t.is(await h.conn.collection('request_decisions').countDocuments({ requestId: id }), 1);
  const events = await h.allAuditRecords(1500);
  const decisions = events.filter((e) => e.requestId === id && ['request.approve', 'request.deny', 'request.cancel', 'request.expire'].includes(String(e.action)));
  t.is(decisions.length, 1, `decision events (BRIEF vocabulary): ${decisions.map((d) => `${String(d.action)}/${String(d.decision)}`).join(', ')}`);
});
