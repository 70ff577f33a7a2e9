// Lark flows beyond the plain lookup: card updates that Lark refuses (230054 / 220340) still reach the
// user; identity by bound open_id or the contact API's e-mail (bound once); offboarding events revoke
// grants at once and the next lookup is refused; bad input gets usage help.
import test from 'ava';
import '../bot/core/lookup-messages.ts';
import { ErrorCode } from '../bot/core/errors.ts';
import { t as tr } from '../bot/core/messages.ts';
import type { Customer } from '../bot/core/domain.ts';
import { cardButtons, cardText } from './fakes/lark-api.ts';
import { LarkHarness } from './helpers/lark-bot.ts';
import { userDeleted, userResigned } from './helpers/lark-sign.ts';

// callbackBudgetMs 0: every card callback answers at once with a toast and finishes by patching the card.
const h = new LarkHarness(import.meta.url, { customers: 60, unbound: ['salesRepSouth', 'marketingStaff'], overrides: { callbackBudgetMs: 0 } });
const all: Customer[] = [];

test.before(async () => {
  await h.start();
  for await (const c of h.customers.stream({})) all.push(c);
});
test.after.always(async () => { await h.close(); });

async function pickList(): Promise<Awaited<ReturnType<typeof h.ask>>> {
  let query = '';
  for (const c of all) {
    const chars = Array.from(c.company ?? '');
    for (let i = 0; i + 1 < chars.length && !query; i++) {
      const frag = chars[i]! + chars[i + 1]!;
      const n = all.filter((x) => x.name.includes(frag) || (x.company ?? '').includes(frag)).length;
      if (/^\p{Script=Han}{2}$/u.test(frag) && n >= 2 && n <= 10) query = frag;
    }
    if (query) break;
  }
  return h.ask('supportAgent', query);
}

test.serial('a slow callback answers with a toast at once; the outcome patches the clicked card', async (t) => {
  const list = await pickList();
  const pick = cardButtons(list.card).find((b) => b.value.a === 'pick')!;
  const click = await h.click('supportAgent', list, pick.value);
  t.is(click.answer.toast?.type, 'info');
  t.is(click.answer.card, undefined);
  await h.bot.handlers.drain();
  const patched = h.fake.messages.get(list.messageId)!;
  t.is(patched.patches.length, 1);
  t.true(cardText(patched.card).startsWith(pick.value.c!));
});

for (const code of [230054, 220340]) {
  test.serial(`a card update refused with ${code} → the outcome arrives as a new message`, async (t) => {
    const list = await pickList();
    const pick = cardButtons(list.card).find((b) => b.value.a === 'pick')!;
    h.fake.failNextPatches(code);
    const before = h.fake.sentTo(h.openId('supportAgent')).length;
    await h.click('supportAgent', list, pick.value);
    await h.bot.handlers.drain();
    t.is(h.fake.callsOf('im.message.patch').filter((c) => c.code === code).length >= 1, true);
    t.is(h.fake.messages.get(list.messageId)!.patches.length, 0, 'the stale card was not changed');
    const fresh = h.fake.sentTo(h.openId('supportAgent')).slice(before);
    t.is(fresh.length, 1);
    t.true(cardText(fresh[0]!.card).startsWith(pick.value.c!), 'the user sees the customer card');
  });
}

test.serial('an unbound employee is recognised by the contact API e-mail once, then by the bound open_id', async (t) => {
  const reply = await h.ask('salesRepSouth', 'help');
  t.true(cardText(reply.card).includes(tr('lookup.help.title', 'zh-CN')));
  const lookup = await h.ask('salesRepSouth', all[0]!.customerId);
  t.false(cardText(lookup.card).includes(tr(ErrorCode.EmployeeUnknown, 'zh-CN', { contact: '#security-desk' })));
  const bound = await h.directory.byChatId('lark', h.openId('salesRepSouth'));
  t.is(bound?.employeeId, h.employees.salesRepSouth.employeeId);
  const lookups = h.fake.callsOf('contact.user.get').filter((c) => c.path.endsWith(h.openId('salesRepSouth'))).length;
  await h.ask('salesRepSouth', all[1]!.customerId);
  t.is(h.fake.callsOf('contact.user.get').filter((c) => c.path.endsWith(h.openId('salesRepSouth'))).length, lookups, 'no second e-mail match');
});

test.serial('unknown Lark users are refused, told whom to ask, and the refusal is audited', async (t) => {
  h.fake.setUser({ openId: 'ou_stranger' });
  h.fake.addChat({ chatId: 'oc_dm_stranger', mode: 'p2p', members: ['ou_stranger'] });
  const { messageEvent } = await import('./helpers/lark-sign.ts');
  await h.push(messageEvent({ openId: 'ou_stranger', chatId: 'oc_dm_stranger', text: 'C-000001' }));
  const reply = await h.fake.waitFor((m) => m.receiveId === 'oc_dm_stranger');
  t.is(cardText(reply.card), tr(ErrorCode.EmployeeUnknown, 'zh-CN', { contact: '#security-desk' }));
  const records = await h.auditRecords({ action: 'lookup.refused', 'actor.platformUserId': 'ou_stranger' });
  t.is(records[0]!.reasonCode, ErrorCode.EmployeeUnknown);
});

test.serial('malformed input gets usage help', async (t) => {
  const reply = await h.ask('supportAgent', 'purpose:');
  t.true(cardText(reply.card).includes(tr('lookup.usage', 'zh-CN')));
});

test.serial('contact.user.deleted_v3 offboards: grants revoked at once, the next lookup refused, audited', async (t) => {
  const e = h.employees.salesRep;
  const now = h.clock.now();
  const grant = await h.bot.grants.create({
    grantId: 'G-lark-offboard-1', granteeId: e.employeeId, target: { kind: 'customers', customerIds: [all[0]!.customerId] },
    groups: ['identity'], actions: ['lookup'], expiresAt: new Date(now.getTime() + 3_600_000), grantedBy: [h.employees.legalHead.employeeId],
    purpose: 'contract review', createdAt: now,
  });
  t.is((await h.bot.grants.activeFor(e.employeeId, h.clock.now())).length, 1);
  const res = await h.push(userDeleted(h.openId('salesRep')));
  t.is(res.status, 200);
  t.is((await h.directory.byId(e.employeeId))!.status, 'offboarded');
  t.is((await h.bot.grants.activeFor(e.employeeId, h.clock.now())).length, 0);
  t.truthy((await h.bot.grants.byId(grant.grantId))!.revokedAt);
  const reply = await h.ask('salesRep', all[0]!.customerId);
  t.is(cardText(reply.card), tr(ErrorCode.EmployeeOffboarded, 'zh-CN', { contact: '#security-desk' }));
  const records = await h.auditRecords({ action: 'admin.offboard', 'meta.subject': e.employeeId });
  t.like(records[0]!.meta as Record<string, unknown>, { route: 'lark', grants: 1 });
});

test.serial('a status change to resigned offboards too; other profile updates do not', async (t) => {
  const e = h.employees.supportAgentEn;
  const { envelope } = await import('./helpers/lark-sign.ts');
  await h.push(envelope('contact.user.updated_v3', { object: { open_id: h.openId('supportAgentEn'), status: { is_resigned: false } } }));
  t.is((await h.directory.byId(e.employeeId))!.status, 'active');
  await h.push(userResigned(h.openId('supportAgentEn')));
  t.is((await h.directory.byId(e.employeeId))!.status, 'offboarded');
  const reply = await h.ask('supportAgentEn', 'C-000001');
  t.is(cardText(reply.card), tr(ErrorCode.EmployeeOffboarded, 'en', { contact: '#security-desk' }));
});
