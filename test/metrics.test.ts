// /metrics after a scripted scenario: lookups through the playground (allowed and refused), approvals
// and a freeze recorded through the real audit pipeline, grants in the grant store. Every listed series
// is checked for its value, as a Prometheus scrape would read it.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import type { AuditEventInput } from '../bot/core/audit.ts';
import { newEventId } from '../bot/core/audit-event.ts';
import type { Customer } from '../bot/core/domain.ts';
import { createAuditProducer } from '../bot/queue/audit-producer.ts';
import { auditModels } from '../bot/store/audit-model.ts';
import { demoEmployee } from '../bot/store/demo-company.ts';
import { MongoGrantStore } from '../bot/store/grant-store.ts';
import { demoCustomerId } from '../bot/store/demo-data.ts';
import { LarkHarness } from './helpers/lark-bot.ts';
import { PlaygroundHarness } from './helpers/playground.ts';
import { SlackHarness } from './helpers/slack-bot.ts';

const h = new PlaygroundHarness(import.meta.url, { customers: 60 });
test.before(() => h.start());
test.after.always(() => h.close());

/** name{labels} → value, from the Prometheus text format. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

async function scrape(url = h.url('/metrics')): Promise<Map<string, number>> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parse(await res.text());
}

function event(action: AuditEventInput['action'], extra: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    v: 1, eventId: newEventId(h.clock.now()), occurredAt: h.clock.now().toISOString(),
    actor: { employeeId: demoEmployee('salesLeadEast').employeeId, platform: 'playground' }, channelKind: 'dm',
    action, customerIds: [], fields: [], decision: 'allowed', ruleIds: [], ...extra,
  };
}

test('every listed series has the value the scenario implies', async (t) => {
  const rep = demoEmployee('salesRep');
  const customers: Customer[] = [];
  for await (const c of h.customers.stream({})) customers.push(c);
  const own = customers.find((c) => c.ownerId === rep.employeeId)!;

  // Lookups: two allowed, one refused by identity (frozen), one refused by policy (marketing: no purpose).
  t.is((await h.say(rep.employeeId, own.customerId)).replies[0]!.kind, 'card');
  t.is((await h.say(rep.employeeId, own.customerId)).replies[0]!.kind, 'card');
  const frozen = demoEmployee('ordersClerk');
  await h.directory.setStatus(frozen.employeeId, 'frozen');
  t.regex((await h.say(frozen.employeeId, own.customerId)).replies[0]!.html, /notice-refusal/);
  const admin = demoEmployee('admin');
  t.regex((await h.say(demoEmployee('marketingStaff').employeeId, own.customerId)).replies[0]!.html, /notice-refusal/);
  await h.say(rep.employeeId, 'help');

  // Approvals and a freeze, as the approval and admin features record them.
  const producer = createAuditProducer({ redis: h.config.redis!, prefix: h.config.redis!.queuePrefix, timeoutMs: 2000 });
  t.teardown(() => producer.close());
  t.true(await producer.ready(60_000));
  const requests = [randomUUID(), randomUUID(), randomUUID()].map((id) => `req-${id}`);
  for (const requestId of requests) await producer.record(event('request.create', { requestId, customerIds: [own.customerId] }));
  await producer.record(event('request.approve', { requestId: requests[0]! }));
  await producer.record(event('request.deny', { requestId: requests[1]!, decision: 'denied' }));
  await producer.record(event('admin.freeze', { reasonCode: 'manual' }));

  // Grants: two live, one expired, one revoked.
  const grants = new MongoGrantStore(h.conn);
  await grants.ensureIndexes();
  const now = h.clock.now().getTime();
  const grant = (id: string, expiresInMs: number) => grants.create({
    grantId: id, granteeId: rep.employeeId, target: { kind: 'customers', customerIds: [own.customerId] }, groups: ['contact'],
    actions: ['lookup'], expiresAt: new Date(now + expiresInMs), grantedBy: [demoEmployee('salesLeadEast').employeeId], purpose: 'metrics test', createdAt: new Date(now - 7_200_000),
  });
  await grant('g-live-1', 3_600_000);
  await grant('g-live-2', 7_200_000);
  await grant('g-expired', -1000);
  await grant('g-revoked', 3_600_000);
  await grants.revoke('g-revoked', admin.employeeId, new Date(now));

  // Wait until the worker stored everything (13 lookup records + 6 approval/freeze events).
  const { events } = await auditModels(h.conn);
  const deadline = Date.now() + 60_000;
  while (await events.countDocuments({ action: { $in: ['request.create', 'request.approve', 'request.deny', 'admin.freeze'] } }) < 6 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  let m = await scrape();
  for (let i = 0; i < 600 && (m.get('custos_audit_queue_depth{state="waiting"}') ?? 1) + (m.get('custos_audit_queue_depth{state="active"}') ?? 1) > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    m = await scrape();
  }

  t.is(m.get('custos_lookups_total{decision="allowed"}'), 2);
  t.is(m.get('custos_lookups_total{decision="denied"}'), 2);
  t.is(m.get('custos_command_duration_seconds_count{platform="playground",command="lookup"}'), 4);
  t.is(m.get('custos_command_duration_seconds_count{platform="playground",command="help"}'), 1);
  t.true((m.get('custos_command_duration_seconds_sum{platform="playground",command="lookup"}') ?? 0) > 0);
  t.is(m.get('custos_approvals_pending'), 1);
  t.is(m.get('custos_approvals_decided{decision="approved"}'), 1);
  t.is(m.get('custos_approvals_decided{decision="denied"}'), 1);
  t.is(m.get('custos_approvals_decided{decision="expired"}'), 0);
  t.is(m.get('custos_grants_active'), 2);
  t.is(m.get('custos_employees_frozen'), 1);
  t.is(m.get('custos_freezes'), 1);
  t.is(m.get('custos_audit_queue_depth{state="waiting"}'), 0);
  t.is(m.get('custos_audit_queue_depth{state="failed"}'), 0);
  t.is(m.get('custos_audit_oldest_pending_seconds'), 0);
  const lag = m.get('custos_audit_lag_seconds');
  t.true(lag !== undefined && lag >= 0 && lag < 30, `audit lag ${lag}`);
  t.true(m.has('custos_process_cpu_user_seconds_total'));
});

test('a scrape still answers, without the store-backed series, when the database is gone', async (t) => {
  // Separate playground so closing its connection does not disturb the other test.
  const other = new PlaygroundHarness(import.meta.url, { customers: 1 });
  await other.start();
  t.teardown(() => other.close());
  await other.playground.conn.close();
  const res = await fetch(other.url('/metrics'));
  t.is(res.status, 200);
  const m = parse(await res.text());
  // A label-less gauge cannot be left out; NaN is Prometheus' "unknown", never a misleading 0.
  t.true(Number.isNaN(m.get('custos_grants_active')));
  t.false([...m.keys()].some((k) => k.startsWith('custos_approvals_decided{')));
  t.true(m.has('custos_process_cpu_user_seconds_total'));
});

/** Scrapes `url` until `ready` holds (a histogram is observed just after the reply went out), at most ~60 s. */
async function scrapeUntil(url: string, ready: (m: Map<string, number>) => boolean): Promise<Map<string, number>> {
  let m = await scrape(url);
  for (let i = 0; i < 600 && !ready(m); i++) {
    await new Promise((r) => setTimeout(r, 100));
    m = await scrape(url);
  }
  return m;
}

test('Slack and Lark commands are timed in custos_command_duration_seconds, by platform and command', async (t) => {
  t.timeout(300_000); // two whole bots with their workers on a shared machine
  const slack = new SlackHarness(import.meta.url, { customers: 5 });
  const lark = new LarkHarness(import.meta.url, { customers: 5 });
  t.teardown(() => slack.close());
  t.teardown(() => lark.close());
  await Promise.all([slack.start(), lark.start()]);

  await slack.ask(slack.userId('supportAgent'), slack.dmOf('supportAgent'), demoCustomerId(1));
  await slack.ask(slack.userId('supportAgent'), slack.dmOf('supportAgent'), 'help');
  const slackSeries = (command: string) => `custos_command_duration_seconds_count{platform="slack",command="${command}"}`;
  const sm = await scrapeUntil(`${slack.bot.url}/metrics`, (m) => m.has(slackSeries('help')));
  t.is(sm.get(slackSeries('lookup')), 1);
  t.is(sm.get(slackSeries('help')), 1);
  t.true((sm.get('custos_command_duration_seconds_sum{platform="slack",command="lookup"}') ?? 0) > 0);

  await lark.ask('supportAgent', demoCustomerId(1));
  await lark.ask('supportAgent', 'help');
  await lark.ask('auditor', `audit who-viewed ${demoCustomerId(1)} purpose: metrics check`);
  const larkSeries = (command: string) => `custos_command_duration_seconds_count{platform="lark",command="${command}"}`;
  const lm = await scrapeUntil(`${lark.bot.url}/metrics`, (m) => m.has(larkSeries('audit')));
  t.is(lm.get(larkSeries('lookup')), 1);
  t.is(lm.get(larkSeries('help')), 1);
  t.is(lm.get(larkSeries('audit')), 1);
  t.true((lm.get('custos_command_duration_seconds_sum{platform="lark",command="lookup"}') ?? 0) > 0);
  // Lark lookups are counted like every other adapter's, once their audit event is accepted.
  t.is(lm.get('custos_lookups_total{decision="allowed"}'), 1);
});
