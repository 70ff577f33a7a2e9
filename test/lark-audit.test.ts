// `audit …` typed to the Lark bot (encrypted, signed pushes to the real endpoint, the real SDK against the
// fake Open API, real Redis and database, the real audit pipeline): an auditor sees exactly the stored
// events that match, paged by the card's Older / Newer buttons, people named by @mention; the query is
// itself audited; a sales rep is refused, and that refusal is audited too.
import test from 'ava';
import { demoCustomerId } from '../bot/store/demo-data.ts';
import { ACTION_AUDIT_PAGE } from '../bot/lark/audit-cards.ts';
import { cardButtons, cardText, type SentMessage } from './fakes/lark-api.ts';
import { LarkHarness } from './helpers/lark-bot.ts';
import { messageEvent } from './helpers/lark-sign.ts';

// The 3 s callback budget is lark-flows' subject; here a loaded CI machine must not turn a page into "working…".
const h = new LarkHarness(import.meta.url, { customers: 30, overrides: { callbackBudgetMs: 60_000 } });
const PURPOSE = 'purpose: quarterly access review';
const LOOKUPS = 17; // more than one page of 15

test.before(async () => {
  await h.start();
  // The log to query: the support agent's own lookups, through the same bot.
  for (let i = 1; i <= LOOKUPS; i++) await h.ask('supportAgent', demoCustomerId(i));
  // Each lookup records two `lookup` events (the attempt, then what it showed): wait for all of them, or
  // one stored after the expected page is read would show on the card and not in the expectation.
  await h.auditRecords({ 'actor.employeeId': h.employees.supportAgent.employeeId, action: 'lookup' }, 2 * LOOKUPS);
});
test.after.always(async () => { await h.close(); });

/** The `#seq` of each row of an audit card, in the order shown. */
function seqsOf(card: Record<string, unknown> | undefined): number[] {
  return [...cardText(card).matchAll(/^#(\d+) · /gm)].map((m) => Number(m[1]));
}

/** Stored events matching `filter`, newest first, as the card should list them. */
async function expectedSeqs(filter: Record<string, unknown>): Promise<number[]> {
  return (await h.auditRecords(filter, 0, 0)).map((r) => Number(r.seq)).reverse();
}

/** `text` typed by the auditor with `@_user_1` standing for a mention of `mentioned`'s open_id. */
async function askWithMention(text: string, mentionedOpenId: string): Promise<SentMessage> {
  const before = h.fake.sent().length;
  const payload = messageEvent({ openId: h.openId('auditor'), chatId: h.dm('auditor'), text });
  const message = (payload.event as { message: Record<string, unknown> }).message;
  message.mentions = [{ key: '@_user_1', id: { open_id: mentionedOpenId }, name: '林峰', tenant_key: 'tenant_test' }];
  const res = await h.push(payload);
  if (res.status !== 200) throw new Error(`push answered ${res.status}`);
  return h.fake.waitFor((m) => m.receiveId === h.dm('auditor') && h.fake.sent().indexOf(m) >= before);
}

function pageButton(card: Record<string, unknown> | undefined, label: RegExp): Record<string, string> | undefined {
  return cardButtons(card).find((b) => label.test(b.label) && b.value.a === ACTION_AUDIT_PAGE)?.value;
}

test.serial('an auditor\'s `audit by @someone action:lookup` lists exactly their lookups, newest first, paged by Older / Newer', async (t) => {
  const agent = h.employees.supportAgent;
  const want = await expectedSeqs({ 'actor.employeeId': agent.employeeId, action: 'lookup' });
  t.true(want.length >= 2 * LOOKUPS);

  const first = await askWithMention(`audit by @_user_1 action:lookup ${PURPOSE}`, h.openId('supportAgent'));
  t.is(first.msgType, 'interactive');
  t.true(cardText(first.card).includes(agent.employeeId), 'the title names the person asked about');
  t.deepEqual(seqsOf(first.card), want.slice(0, 15), 'the first page is the 15 newest matching events');
  t.is(pageButton(first.card, /更新|Newer/), undefined, 'no Newer on the newest page');
  const older = pageButton(first.card, /更早|Older/);
  if (!older) return t.fail('the first page has an Older button');

  const second = await h.click('auditor', first, older);
  t.is(second.status, 200);
  const page2 = second.answer.card?.data;
  t.deepEqual(seqsOf(page2), want.slice(15, 30), 'Older shows the next events');
  const newer = pageButton(page2, /更新|Newer/);
  if (!newer) return t.fail('the second page has a Newer button');
  const back = await h.click('auditor', first, newer);
  t.deepEqual(seqsOf(back.answer.card?.data), want.slice(0, 15), 'Newer returns to the same first page');
});

test.serial('who-viewed shows the views of one customer, and the query itself is audited', async (t) => {
  const customerId = demoCustomerId(3);
  const reply = await h.ask('auditor', `audit who-viewed ${customerId} ${PURPOSE}`);
  const want = await expectedSeqs({ customerIds: customerId, action: { $in: ['lookup', 'share', 'reveal'] } });
  t.true(want.length >= 1);
  t.deepEqual(seqsOf(reply.card), want);
  t.regex(cardText(reply.card), /本次查询已记录/, 'Chinese by default, saying the query was recorded');

  const recorded = await h.auditRecords({ action: 'audit.query', 'actor.employeeId': h.employees.auditor.employeeId, 'meta.filters': new RegExp(customerId) });
  t.is(recorded.length, 1);
  t.is(recorded[0]!.decision, 'allowed');
  t.is((recorded[0]!.actor as { platform: string }).platform, 'lark');
  t.is(recorded[0]!.channelKind, 'dm');
});

test.serial('a sales rep is refused with whom to ask, sees no rows, and the refusal is audited', async (t) => {
  const rep = h.employees.salesRep;
  const reply = await h.ask('salesRep', `audit who-viewed ${demoCustomerId(3)}`);
  const text = cardText(reply.card);
  t.regex(text, /无权查询审计日志/);
  t.true(text.includes('#security-desk'));
  t.deepEqual(seqsOf(reply.card), []);
  const denied = await h.auditRecords({ action: 'audit.query', 'actor.employeeId': rep.employeeId, decision: 'denied' });
  t.is(denied.length, 1);
  t.is((denied[0]!.actor as { platform: string }).platform, 'lark');
});

test.serial('a malformed query says what is wrong and records nothing', async (t) => {
  const before = (await h.auditRecords({ action: 'audit.query', 'actor.employeeId': h.employees.auditor.employeeId }, 0, 0)).length;
  const reply = await h.ask('auditor', `audit since:7x ${PURPOSE}`);
  t.regex(cardText(reply.card), /时长格式/);
  t.is((await h.allAuditRecords(500)).filter((r) => r.action === 'audit.query' && (r.actor as { employeeId: string }).employeeId === h.employees.auditor.employeeId).length, before);
});
