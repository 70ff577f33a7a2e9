// Approval scenarios of the shared list (run.ts runs them on every platform): a request made
// from the lookup card, the approver's card, the decision on every copy, and the lookup under the grant.
// Request and grant ids are random and times are the harness clock's: both are replaced by placeholders
// before comparing.
import type { Customer } from '../../bot/core/domain.ts';
import { ZERO_WIDTH } from '../../bot/core/export-watermark.ts';
import type { SeenApproval, SeenCard } from './driver.ts';
import { observed, type Scenario, type ScenarioContext } from './lookup.ts';

/** An east-region customer with a phone that salesRep does not own (their card masks it). */
export function notOwnEastCustomer(ctx: ScenarioContext, skip: number): Customer {
  const list = ctx.customers.filter((c) => c.region === 'east' && c.ownerId !== ctx.employeeId('salesRep') && c.phone && c.status !== 'blocked');
  const c = list[skip];
  if (!c) throw new Error('no suitable customer in the seed');
  return c;
}

export function approval(card: SeenApproval): unknown {
  return { title: card.title, fields: [...card.fields], status: card.status, buttons: card.buttons };
}

/** Ids and times differ from run to run (the minute a step lands in depends on the machine's load); what users read around them must not. */
export function withoutIdsAndTimes(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)
    .replace(/\bR-[A-P]{10}\b/g, 'R-…').replace(/\bG-[A-P]{10}\b/g, 'G-…')
    // A UTC time, or a reader's local one (`2026-06-30 10:31 (Asia/Shanghai)`): the harness clock runs in real time.
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d( UTC)?/g, '<time>')) as unknown;
}

export const APPROVAL_SCENARIOS: Scenario[] = [
  {
    name: 'request access from the card → the manager approves → every copy says so → the next lookup shows the phone under the grant',
    auditRecords: 11,
    async run(d, ctx) {
      const c = notOwnEastCustomer(ctx, 0);
      const beforeCard = await d.lookupInDm('salesRep', c.customerId);
      if (beforeCard.fields.get('电话') === c.phone) throw new Error(`${d.platform}: the phone should be masked before the grant`);
      const before = observed(beforeCard);
      const { requestId, approverCard } = await d.requestAccess('salesRep', c.customerId, ['contact'], '续约跟进', 60, 'salesLeadEast');
      const decision = await d.approve('salesLeadEast', requestId);
      const afterCard = await d.lookupInDm('salesRep', c.customerId);
      if (afterCard.fields.get('电话') !== c.phone) throw new Error(`${d.platform}: the phone is not shown under the grant`);
      const after = observed(afterCard);
      return withoutIdsAndTimes({
        before, approverCard: approval(approverCard),
        decision: { answer: decision.answer, copies: decision.copies.map(approval).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) },
        after,
      });
    },
  },
];

/** What must match of two exports of the same rows: the column header line and how many lines the file has (the watermark and canary differ by export). */
function csvShape(csv: string): { bom: boolean; columns: string | undefined; lines: number } {
  const lines = csv.replace(new RegExp(ZERO_WIDTH.join('|'), 'g'), '').split(/\r?\n/).filter(Boolean);
  return { bom: csv.charCodeAt(0) === 0xfeff, columns: lines.find((l) => l.includes(',') && !/X-[A-P]{10}/.test(l)), lines: lines.length };
}

APPROVAL_SCENARIOS.push({
  name: 'export: `export region:east fields:…` → the manager\'s head approves → the same CSV shape arrives in the DM',
  auditRecords: 7,
  async run(d) {
    const csv = await d.exportApproved('salesLeadEast', 'export region:east fields:name,phone,stage', '季度客户回访', 120, 'salesHead');
    const shape = csvShape(csv);
    if (!shape.bom || !shape.columns || shape.lines < 4) throw new Error(`${d.platform}: not a complete export: ${JSON.stringify(shape)}`);
    return shape;
  },
});

/** The line of `card` whose value is `value`, if any (its label differs when shown under a grant). */
function shows(card: SeenCard, value: string | undefined): boolean {
  return value !== undefined && [...card.fields.values()].some((v) => v === value);
}

APPROVAL_SCENARIOS.push({
  name: 'identity needs two approvers: the legal head\'s Approve is a vote shown on every copy, the DPO\'s completes it; the ID number shows only then',
  auditRecords: 14,
  async run(d, ctx) {
    const c = ctx.customers.filter((x) => x.region === 'east' && x.ownerId !== ctx.employeeId('salesRep') && x.idNumber && x.status !== 'blocked')[2];
    if (!c) throw new Error('no suitable customer in the seed');
    const before = await d.lookupInDm('salesRep', c.customerId);
    const { requestId, approverCard } = await d.requestAccess('salesRep', c.customerId, ['identity'], '实名核验', 30, 'legalHead');
    const vote = await d.approve('legalHead', requestId);
    const between = await d.lookupInDm('salesRep', c.customerId);
    if (shows(between, c.idNumber)) throw new Error(`${d.platform}: one approval of two revealed the ID number`);
    const decision = await d.approve('dpo', requestId);
    const after = await d.lookupInDm('salesRep', c.customerId);
    if (shows(before, c.idNumber) || !shows(after, c.idNumber)) throw new Error(`${d.platform}: the ID number is not shown exactly under the grant`);
    const sorted = (copies: SeenApproval[]) => copies.map(approval).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    return withoutIdsAndTimes({
      before: observed(before), approverCard: approval(approverCard),
      vote: { answer: vote.answer, copies: sorted(vote.copies) }, between: observed(between),
      decision: { answer: decision.answer, copies: sorted(decision.copies) }, after: observed(after),
    });
  },
});

APPROVAL_SCENARIOS.push({
  name: 'deny with a reason: every copy says who denied and why, the requester is told, the phone stays masked',
  auditRecords: 7,
  async run(d, ctx) {
    const c = notOwnEastCustomer(ctx, 3);
    const { requestId, approverCard } = await d.requestAccess('salesRep', c.customerId, ['contact'], '续约跟进', 60, 'salesLeadEast');
    const denied = await d.deny('salesLeadEast', requestId, '不属于本区域', 'salesRep');
    const after = await d.lookupInDm('salesRep', c.customerId);
    if (shows(after, c.phone)) throw new Error(`${d.platform}: a denied request showed the phone`);
    return withoutIdsAndTimes({
      approverCard: approval(approverCard),
      copies: denied.copies.map(approval).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      told: denied.told, after: observed(after),
    });
  },
});

/**
 * `withoutIdsAndTimes` and the rest that differs by run in the operations' views: an audit row's time
 * (`2026-07-01 10:31:05`), audit event ids (UUIDs),
 * audit rows' sequence numbers (the order of the rows is what is compared).
 */
export function placeholders(value: unknown): unknown {
  return JSON.parse(JSON.stringify(withoutIdsAndTimes(value))
    .replace(/<time>:\d\d/g, '<time>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '<event>')
    .replace(/#\d+ · /g, '#… · ')) as unknown;
}
