// `/audit` through the real bot endpoints (signed requests, Bolt, real Redis and database, the real audit
// pipeline) over a seeded chain of events. Every filter and shortcut is compared with the same filter
// applied in plain JavaScript to the rows the fixture generated, paging is walked both ways while new
// events arrive, a non-auditor is refused and the refusal is in the log, and the chain still verifies.
// Size: `npm test` seeds 2,500 events over 20 days and 200 customers (12.5 events a customer, as 5,000
// over 400 did), which give every filter matches, several pages per actor and per filter, and events on
// either side of every time bound; every expectation is computed from the generated rows, so the size
// changes what is walked, not what is checked.
// AUDIT_QUERY_TEST_EVENTS=50000 runs the same proof at issue 8's size (50,000 events over 60 days and
// 2,000 customers): on FerretDB-on-SQLite, which scans the log for every query, that run takes 5-25
// minutes and, on a loaded machine, can hit the query's time limit, so it is not part of `npm test`.
// Latency at 1,000,000 events next to the raw query is bench/audit-query's job.
import test, { type ExecutionContext } from 'ava';
import { localToUtc } from '../bot/core/audit-query.ts';
import { auditModels } from '../bot/store/audit-model.ts';
import { ACTION_AUDIT_NEWER, ACTION_AUDIT_OLDER } from '../bot/slack/audit-blocks.ts';
import type { DemoEmployeeKey } from '../bot/store/demo-company.ts';
import { buildAuditLog, customerIdOf, type FixtureRow } from './helpers/audit-log-fixture.ts';
import { messageText, SIGNING_SECRET, SlackHarness } from './helpers/slack-bot.ts';
import { readTail } from '../bot/store/audit-store.ts';
import { FORM, post, sign, slashCommandBody } from './helpers/slack-sign.ts';

const EVENTS = Number(process.env.AUDIT_QUERY_TEST_EVENTS ?? 2_500);
/** Days and customers grow with the size, so each filter keeps about as many matches per event. */
const SPAN_DAYS = EVENTS >= 50_000 ? 60 : 20;
const CUSTOMERS = EVENTS >= 50_000 ? 2_000 : Math.max(100, Math.round(EVENTS / 12.5));
const ACTORS = 29; // the demo company's employees
/** One person's events over this many hours make about four pages (about 60 events). */
const PAGING_HOURS = Math.ceil(60 / (EVENTS / SPAN_DAYS / 24 / ACTORS));
const PAGE = 15;
/** FerretDB answers a query by scanning the log (its SQLite backend does not use our indexes): give it time. */
const REPLY_MS = 240_000;
const PURPOSE = 'purpose: quarterly access audit';
const h = new SlackHarness(import.meta.url, { customers: 30 });
let rows: FixtureRow[] = [];

test.before(async (t) => {
  t.timeout(600_000); // 50,000 chained events take about a minute on FerretDB, longer on a loaded machine
  await h.start();
  const models = await auditModels(h.bot.conn);
  // The bot records `policy.load` as it starts; the fixture continues the chain after it, or the two
  // would claim the same seq.
  for (let i = 0; i < 600 && !(await models.events.exists({ action: 'policy.load' })); i++) await new Promise((r) => setTimeout(r, 100));
  const actors = Object.values(h.employees).map((e) => e.employeeId);
  if (actors.length !== ACTORS) throw new Error(`the demo company has ${actors.length} employees; update ACTORS`);
  rows = await buildAuditLog(models, {
    events: EVENTS, end: new Date(h.clock.now().getTime() - 60_000), spanDays: SPAN_DAYS, actors, customers: CUSTOMERS,
    signingKey: h.config.audit!.signingKey, seed: 'auditq',
  }, await readTail(models));
});
test.after.always(async () => { await h.close(); });

interface Reply { text: string; seqs: number[]; older?: string; newer?: string }

function parseReply(body: Record<string, unknown>): Reply {
  const text = messageText(body);
  const seqs = [...text.matchAll(/^#(\d+) · /gm)].map((m) => Number(m[1]));
  const buttons = new Map<string, string>();
  for (const b of (body.blocks as { type: string; elements?: { action_id?: string; value?: string }[] }[])) {
    for (const e of b.elements ?? []) if (e.action_id && e.value) buttons.set(e.action_id, e.value);
  }
  return { text, seqs, ...(buttons.get(ACTION_AUDIT_OLDER) ? { older: buttons.get(ACTION_AUDIT_OLDER)! } : {}), ...(buttons.get(ACTION_AUDIT_NEWER) ? { newer: buttons.get(ACTION_AUDIT_NEWER)! } : {}) };
}

/** The reply, with the bot's logged errors beside it when it answered with its internal-error message. */
function replyOf(body: Record<string, unknown>): Reply {
  const reply = parseReply(body);
  if (/内部错误|Something went wrong/.test(reply.text)) {
    throw new Error(`internal error; the bot logged: ${h.logLines.filter((l) => /"level":(50|60)/.test(l)).slice(-3).join('\n')}`);
  }
  return reply;
}

async function audit(key: DemoEmployeeKey, text: string): Promise<Reply> {
  const responseUrl = h.fake.responseUrl();
  const raw = slashCommandBody({ command: '/audit', text, userId: h.userId(key), channelId: h.dmOf(key), responseUrl });
  const res = await post(h.eventsUrl, sign(SIGNING_SECRET, raw, FORM));
  if (res.status !== 200) throw new Error(`/audit answered ${res.status}`);
  return replyOf((await h.replyTo(responseUrl, REPLY_MS)).body);
}

async function turn(key: DemoEmployeeKey, actionId: string, token: string): Promise<Reply> {
  const { responseUrl } = await h.click(h.userId(key), h.dmOf(key), actionId, token);
  return replyOf((await h.replyTo(responseUrl, REPLY_MS)).body);
}

function expected(all: FixtureRow[], pred: (r: FixtureRow) => boolean): number[] {
  return all.filter(pred).map((r) => r.seq).sort((a, b) => b - a);
}

async function check(t: ExecutionContext, query: string, pred: (r: FixtureRow) => boolean): Promise<void> {
  const reply = await audit('auditor', `${query} ${PURPOSE}`);
  // The fixture's rows alone: the only events this test has caused by now are the auditor's own allowed
  // `audit.query` events in a DM, with no customer, which no checked filter matches (a query that
  // returned one would fail the comparison). Reading them back would cost a scan of the log per check.
  const want = expected(rows, pred);
  t.true(want.length > 0, `${query}: the fixture has matching events`);
  if (reply.seqs.join() !== want.slice(0, PAGE).join()) t.log(reply.text.slice(0, 600));
  t.deepEqual(reply.seqs, want.slice(0, PAGE), `${query}: first page`);
  t.is(reply.older !== undefined, want.length > PAGE, `${query}: an Older button exactly when there is more`);
}

/** The grant id with the most events, so the grant filter has several matches whatever the seed. */
function busiestGrant(all: FixtureRow[]): string {
  const counts = new Map<string, number>();
  for (const r of all) if (r.grantId) counts.set(r.grantId, (counts.get(r.grantId) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0];
}

const auditorId = () => h.employees.auditor.employeeId;

test.serial('each filter and shortcut returns exactly the matching events, newest first', async (t) => {
  t.timeout(600_000); // FerretDB scans the whole log for every query
  const rep = h.employees.salesRep;
  const now = h.clock.now();
  await check(t, 'who-viewed C-000123', (r) => r.customerIds.includes('C-000123') && ['lookup', 'share', 'reveal'].includes(r.action));
  await check(t, `by <@${h.userId('salesRep')}>`, (r) => r.actorId === rep.employeeId);
  await check(t, `by ${rep.email.toUpperCase()}`, (r) => r.actorId === rep.employeeId);
  await check(t, `actor: ${h.employees.financeClerk.employeeId.toLowerCase()} since:7d`, (r) => r.actorId === h.employees.financeClerk.employeeId && r.occurredAt.getTime() >= now.getTime() - 7 * 86_400_000);
  await check(t, 'customer:C-000042', (r) => r.customerIds.includes('C-000042'));
  await check(t, 'action:reveal,share decision:allowed', (r) => (r.action === 'reveal' || r.action === 'share') && r.decision === 'allowed');
  await check(t, 'decision: denied channel:shared', (r) => r.decision === 'denied' && r.channelKind === 'shared');
  const grant = busiestGrant(rows);
  await check(t, `grant:${grant}`, (r) => r.grantId === grant);
  await check(t, 'exports 最近7天', (r) => r.action.startsWith('export.') && r.occurredAt >= localToUtc('Asia/Shanghai', 2026, 6, 24, 0, 0));
  const from = localToUtc('Asia/Shanghai', 2026, 6, 20, 0, 0);
  const to = localToUtc('Asia/Shanghai', 2026, 6, 23, 0, 0);
  await check(t, 'from:2026-06-20 to:2026-06-22 action:lookup', (r) => r.action === 'lookup' && r.occurredAt >= from && r.occurredAt < to);
  const today = localToUtc('Asia/Shanghai', 2026, 6, 30, 0, 0);
  // (Not `action:lookup` alone here: on FerretDB, whose SQLite backend sorts in memory instead of walking
  // our {action, seq} index, a filter matching half the log exceeds its sort limit; MongoDB walks the index.)
  await check(t, '今天 action:reveal', (r) => r.action === 'reveal' && r.occurredAt >= today);
  await check(t, 'yesterday action:lookup.refused', (r) => r.action === 'lookup.refused' && r.occurredAt >= localToUtc('Asia/Shanghai', 2026, 6, 29, 0, 0) && r.occurredAt < today);
});

test.serial('paging is stable: Older walks every matching event once, Newer returns the same pages, while new events arrive', async (t) => {
  t.timeout(600_000); // FerretDB scans the whole log for every query
  const who = h.employees.legalCounsel;
  // About 60 of one person's events, four pages. Every page is a query that scans the log on FerretDB, so
  // the window is as short as still gives several pages.
  const first = await audit('auditor', `by ${who.employeeId} since:${PAGING_HOURS}h ${PURPOSE}`);
  const want = expected(rows, (r) => r.actorId === who.employeeId && r.occurredAt.getTime() >= h.clock.now().getTime() - PAGING_HOURS * 3_600_000);
  t.true(want.length > 2 * PAGE, 'several pages');
  const pages: Reply[] = [first];
  while (pages.at(-1)!.older) {
    // New events by the same person arrive between pages: they must not shift what the next page shows.
    await h.ask(h.userId('legalCounsel'), h.dmOf('legalCounsel'), 'C-000001');
    pages.push(await turn('auditor', ACTION_AUDIT_OLDER, pages.at(-1)!.older!));
  }
  t.deepEqual(pages.flatMap((p) => p.seqs), want, 'every event once, in order');
  t.is(pages.flatMap((p) => p.seqs).length, want.length);
  // Back up: each Newer shows exactly the page that was shown before it.
  for (let i = pages.length - 1; i > 0; i--) {
    const back = await turn('auditor', ACTION_AUDIT_NEWER, pages[i]!.newer!);
    t.deepEqual(back.seqs, pages[i - 1]!.seqs, `page ${i} → ${i - 1}`);
  }
});

test.serial('audit queries are themselves audited, and a non-auditor is refused with the refusal audited', async (t) => {
  t.timeout(600_000); // FerretDB scans the whole log for every query
  await audit('auditor', `customer:C-000007 ${PURPOSE}`);
  const allowed = await h.auditRecords({ action: 'audit.query', 'actor.employeeId': auditorId(), 'meta.filters': 'customer=C-000007' });
  t.is(allowed.length, 1);
  t.is(allowed[0]!.decision, 'allowed');
  t.is((allowed[0]!.query as { kind: string }).kind, 'audit');

  const refused = await audit('salesRep', 'who-viewed C-000123');
  t.deepEqual(refused.seqs, [], 'no rows');
  t.regex(refused.text, /无权查询审计日志|may not query the audit log/);
  const denied = await h.auditRecords({ action: 'audit.query', 'actor.employeeId': h.employees.salesRep.employeeId, decision: 'denied' });
  t.is(denied.length, 1);
  t.is(denied[0]!.reasonCode, 'no_rule');

  const noPurpose = await audit('auditor', 'who-viewed C-000123');
  t.deepEqual(noPurpose.seqs, []);
  t.regex(noPurpose.text, /purpose/);
});

test.serial('bad queries are answered with what is wrong and change nothing; verify reports the chain state', async (t) => {
  t.timeout(600_000); // FerretDB scans the whole log for every query
  // Counted after the fixture's last event: reading the whole log twice would prove nothing more.
  const eventsAfterFixture = async () => { await new Promise((r) => setTimeout(r, 500)); return (await h.auditRecords({ seq: { $gt: rows.at(-1)!.seq } }, 0, 0)).length; };
  const before = await eventsAfterFixture();
  const bad = await audit('auditor', `since:7x ${PURPOSE}`);
  t.regex(bad.text, /时长格式|Durations look like/);
  const unknown = await audit('auditor', `customer:13812345678 ${PURPOSE}`);
  t.regex(unknown.text, /C-000123/);
  t.false(unknown.text.includes('13812345678'), 'the bad value is not echoed');
  t.is(await eventsAfterFixture(), before, 'a query that does not parse leaves no event and reads nothing');

  const verified = await audit('auditor', `verify ${PURPOSE}`);
  t.regex(verified.text, /审计链完整|Audit chain intact/);
  const m = /(\d+)/.exec(verified.text.replace(/#\d+/g, ''));
  t.true(Number(m?.[1]) >= EVENTS, 'the whole seeded chain was walked');
  t.truthy(customerIdOf(1));
});
