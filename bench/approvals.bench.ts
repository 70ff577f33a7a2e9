// `npm run bench -- approvals`: bursts of approval clicks through the real Slack endpoint (our verifying
// receiver → Bolt → dedupe → identity → the approval service → audit producer), next to a baseline in
// the same run and under the same load: the same endpoint answering `/customer help`.
// For each of REQUESTS quorum-1 requests, CLICKS concurrent Approve clicks by its approver are sent
// together with HELPS help commands. Time to answer = from sending the signed POST to its HTTP answer
// (what Slack's 3-second rule measures). The bot, the fake Slack API, the audit worker and the load run
// in this process (the test harness, test/helpers/slack-bot.ts), so the ratio compares like with like.
// Afterwards the audit log is read back: decision events per request (request.approve / .deny / .cancel /
// .expire) are counted, not assumed — the invariant is exactly 1.
// Last stdout line: {"bench":"approvals","p99_ms":…,"baseline_p99_ms":…,"p99_ratio":…,"decision_events_per_request":…}
import type { Customer } from '../bot/core/domain.ts';
import { SIGNING_SECRET, SlackHarness } from '../test/helpers/slack-bot.ts';
import { requestAccess } from '../test/helpers/slack-approval.ts';
import { blockActionBody, FORM, post, sign, slashCommandBody } from '../test/helpers/slack-sign.ts';
import { now, percentile, report, round } from './lib.ts';

const REQUESTS = Number(process.env.BENCH_APPROVALS_REQUESTS ?? 200);
const CLICKS = Number(process.env.BENCH_APPROVALS_CLICKS ?? 50);
const HELPS = Number(process.env.BENCH_APPROVALS_HELPS ?? 10);
const DECISIONS = ['request.approve', 'request.deny', 'request.cancel', 'request.expire'];
const log = (msg: string) => process.stderr.write(`approvals bench: ${msg}\n`);

const h = new SlackHarness('bench/bench-approvals', { customers: Math.max(60, REQUESTS * 8), grants: true, logLevel: 'warn' });

/** One signed POST; resolves with how long its HTTP answer took. */
async function answered(raw: string): Promise<number> {
  const t0 = now();
  const res = await post(h.eventsUrl, sign(SIGNING_SECRET, raw, FORM));
  if (res.status !== 200) throw new Error(`answered ${res.status}`);
  return now() - t0;
}

async function main(): Promise<void> {
  await h.start();
  try {
    const customers: Customer[] = [];
    for await (const c of h.customers.stream({ region: 'east' })) {
      if (c.ownerId !== h.employees.salesRep.employeeId && c.status !== 'blocked') customers.push(c);
      if (customers.length === REQUESTS) break;
    }
    if (customers.length < REQUESTS) throw new Error(`only ${customers.length} customers to ask about`);
    log(`creating ${REQUESTS} requests`);
    const ids: string[] = [];
    for (const c of customers) ids.push(await requestAccess(h, 'salesRep', c.customerId, ['contact'], 60));
    const approver = h.userId('salesLeadEast');
    const asker = h.userId('salesRepNorth');
    const clicks: number[] = [];
    const helps: number[] = [];
    log(`${CLICKS} clicks and ${HELPS} help commands on each request`);
    for (const id of ids) {
      const burst = Array.from({ length: CLICKS }, () => answered(blockActionBody({ userId: approver, channelId: h.dmOf('salesLeadEast'), actionId: 'approval_approve', value: id, responseUrl: h.fake.responseUrl() })));
      const baseline = Array.from({ length: HELPS }, () => answered(slashCommandBody({ text: 'help', userId: asker, channelId: h.dmOf('salesRepNorth'), responseUrl: h.fake.responseUrl() })));
      clicks.push(...await Promise.all(burst));
      helps.push(...await Promise.all(baseline));
    }
    const events = await h.allAuditRecords(3000);
    const perRequest = ids.map((id) => events.filter((e) => e.requestId === id && DECISIONS.includes(String(e.action))).length);
    const p99 = percentile(clicks.sort((a, b) => a - b), 99);
    const baselineP99 = percentile(helps.sort((a, b) => a - b), 99);
    report({
      bench: 'approvals', requests: REQUESTS, clicks_per_request: CLICKS,
      p99_ms: round(p99), baseline_p99_ms: round(baselineP99), p99_ratio: round(p99 / baselineP99),
      decision_events_max: Math.max(...perRequest),
      decision_events_per_request: round(perRequest.reduce((a, b) => a + b, 0) / perRequest.length),
    });
  } finally {
    await h.close();
  }
}

await main();
