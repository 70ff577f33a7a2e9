// `custos report pack`: the compliance pack for an audit (PIPL Art. 54) as tables — the chain's
// verification and its checkpoint signatures, the policy versions in force, access-review outcomes,
// freezes and unfreezes, erasures, the rate of refusals and the disclosure register — plus the summary
// figures the HTML pages lead with. Everything is read from the audit log (ids and codes).
import type { AuditCheckpoint } from '../core/audit-event.ts';
import type { VerifyResult } from '../core/audit-verify.ts';
import { policyLoadFacts } from '../runtime/policy-load.ts';
import { disclosuresReport } from './disclosures.ts';
import type { ReportPeriod } from './period.ts';
import type { ReportEvent, ReportSource } from './source.ts';
import { isoTime, msgCell, type ReportTable } from './table.ts';

export interface PackInput { period: ReportPeriod; verify: VerifyResult; checkpoints: readonly AuditCheckpoint[] }

/** A summary line: label key and value (a message key with params, or plain text). */
export interface SummaryItem { label: string; value: string | { key: string; params: Record<string, string | number> } }

export interface Pack { tables: ReportTable[]; summary: SummaryItem[] }

function checkpointsTable(input: PackInput): ReportTable {
  const inPeriod = input.checkpoints.filter((c) => new Date(c.createdAt) >= input.period.from && new Date(c.createdAt) < input.period.end);
  return {
    file: 'checkpoints.csv', columns: ['checkpoint', 'time', 'lastSeq', 'count', 'signature'],
    rows: inPeriod.map((c) => [String(c.n), isoTime(new Date(c.createdAt)), String(c.lastSeq), String(c.count), c.sig]),
  };
}

async function policiesTable(source: ReportSource, period: ReportPeriod): Promise<{ table: ReportTable; loads: ReportEvent[]; current: string }> {
  const before = await source.lastBefore('policy.load', period.from);
  const during = await source.actionEvents(['policy.load'], period);
  const rows: string[][] = [];
  for (const [e, status] of [...(before ? [[before, 'inForceAtStart'] as const] : []), ...during.map((d) => [d, 'loaded'] as const)]) {
    const facts = policyLoadFacts(e.ruleIds);
    for (const f of facts.files.length ? facts.files : [{ file: '', sha256: '' }]) {
      rows.push([isoTime(e.occurredAt), String(e.seq), msgCell(`report.status.${status}`), String(e.meta.component ?? ''), facts.version, f.file, f.sha256]);
    }
  }
  const last = during.at(-1) ?? before;
  return {
    table: { file: 'policies.csv', columns: ['time', 'seq', 'inForce', 'component', 'version', 'file', 'sha256'], rows },
    loads: during, current: last ? policyLoadFacts(last.ruleIds).version : '',
  };
}

function reviewsTable(events: ReportEvent[]): ReportTable {
  return {
    file: 'access-reviews.csv', columns: ['time', 'seq', 'action', 'decision', 'employee', 'grantee', 'grant', 'cycle', 'review', 'revoked'],
    rows: events.map((e) => [isoTime(e.occurredAt), String(e.seq), e.action, e.decision, e.actorId ?? '', String(e.meta.subject ?? ''), e.grantId ?? '',
      String(e.meta.cycleId ?? ''), String(e.meta.reviewId ?? ''), e.meta.revoked === undefined ? '' : String(e.meta.revoked)]),
  };
}

function freezesTable(events: ReportEvent[]): ReportTable {
  const how = (e: ReportEvent) => (e.meta.detector ? `detector:${String(e.meta.detector)}` : e.meta.button ? `button:${String(e.meta.button)}` : '');
  return {
    file: 'freezes.csv', columns: ['time', 'seq', 'action', 'decision', 'subject', 'employee', 'how'],
    rows: events.map((e) => [isoTime(e.occurredAt), String(e.seq), e.action, e.decision, String(e.meta.subject ?? ''), e.actorId ?? 'system', how(e)]),
  };
}

function erasuresTable(events: ReportEvent[]): ReportTable {
  return {
    file: 'erasures.csv', columns: ['time', 'seq', 'customer', 'reference', 'employee', 'platform'],
    rows: events.map((e) => [isoTime(e.occurredAt), String(e.seq), e.customerIds.join(' '), e.purpose ?? '', e.actorId ?? '', e.platform]),
  };
}

const rate = (denied: number, total: number) => (total === 0 ? '0.0%' : `${((100 * denied) / total).toFixed(1)}%`);

function refusalsTable(counts: Map<string, Record<string, number>>): { table: ReportTable; denied: number; total: number } {
  let [denied, total] = [0, 0];
  const rows = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([action, c]) => {
    const [a, d, e] = [c.allowed ?? 0, c.denied ?? 0, c.error ?? 0];
    denied += d; total += a + d + e;
    return [action, String(a), String(d), String(e), String(a + d + e), rate(d, a + d + e)];
  });
  rows.push(['*', '', String(denied), '', String(total), rate(denied, total)]);
  return { table: { file: 'refusals.csv', columns: ['action', 'allowed', 'denied', 'error', 'total', 'rate'], rows }, denied, total };
}

function chainSummary(v: VerifyResult): SummaryItem[] {
  const cp = v.latestCheckpoint;
  return [
    { label: 'report.sum.chain', value: v.ok ? { key: 'report.sum.chainOk', params: { events: v.events } }
      : { key: 'report.sum.chainBroken', params: { seq: v.problem?.seq ?? 0, problem: v.problem?.problem ?? '' } } },
    { label: 'report.sum.checkpoint', value: cp ? { key: 'report.sum.checkpointLine', params: { n: cp.n, lastSeq: cp.lastSeq, sig: cp.sig } } : { key: 'report.sum.noCheckpoint', params: {} } },
  ];
}

export async function buildPack(source: ReportSource, input: PackInput): Promise<Pack> {
  const { period } = input;
  const policies = await policiesTable(source, period);
  const reviews = await source.actionEvents(['review.keep', 'review.revoke'], period);
  const freezes = await source.actionEvents(['admin.freeze', 'admin.unfreeze'], period);
  const erasures = await source.actionEvents(['customer.erase'], period);
  const counts = await source.decisionCounts(period);
  const refusals = refusalsTable(counts);
  const disclosures = await disclosuresReport(source, period);
  const allowed = (list: ReportEvent[], action: string) => list.filter((e) => e.action === action && e.decision === 'allowed').length;
  const kinds = disclosures.rows.map((r) => r[2]);
  const summary: SummaryItem[] = [
    ...chainSummary(input.verify),
    { label: 'report.sum.events', value: String(refusals.total) },
    { label: 'report.sum.policy', value: policies.current ? policies.current : { key: 'report.sum.policyUnknown', params: {} } },
    { label: 'report.sum.policyLoads', value: String(policies.loads.length) },
    { label: 'report.sum.reviews', value: `${allowed(reviews, 'review.keep')} / ${allowed(reviews, 'review.revoke')}` },
    { label: 'report.sum.freezes', value: `${allowed(freezes, 'admin.freeze')} / ${allowed(freezes, 'admin.unfreeze')}` },
    { label: 'report.sum.erasures', value: String(erasures.length) },
    { label: 'report.sum.refusals', value: `${rate(refusals.denied, refusals.total)} (${refusals.denied} / ${refusals.total})` },
    { label: 'report.sum.disclosures', value: `${kinds.filter((k) => k === msgCell('report.kind.grant')).length} / ${kinds.filter((k) => k === msgCell('report.kind.export')).length}` },
  ];
  return {
    summary,
    tables: [checkpointsTable(input), policies.table, reviewsTable(reviews), freezesTable(freezes), erasuresTable(erasures), refusals.table, disclosures],
  };
}
