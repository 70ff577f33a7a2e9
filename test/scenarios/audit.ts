// The audit-query scenario of the shared list (run.ts runs it on every platform): an auditor asks for one
// employee's lookups, pages Older and back Newer, and a sales rep is refused; every query is audited.
// Rows name ids and codes only; their times, sequence numbers and the footer's event id are placeholders.
// The rows are the rep's lookups in every earlier scenario, so they are derived from those scenarios'
// golden trails (`fromHistory`): a platform where one does not apply lists the others' rows.
import { auditRowCells, auditTimeFormat } from '../../bot/core/audit-query-views.ts';
import { demoEmployee } from '../../bot/store/demo-company.ts';
import { placeholders } from './approvals.ts';
import type { SeenTable, TrailEntry } from './driver.ts';
import type { Scenario } from './lookup.ts';

const PAGE = 15;

/** `employeeId`'s lookup records, newest first, as the table's rows: the product's own cells (zh-CN, the auditor's), seq and time placeholders. */
function lookupRows(trail: TrailEntry[], employeeId: string): string[] {
  const fmt = auditTimeFormat('Asia/Shanghai');
  const rows = trail.filter((e) => e.employeeId === employeeId && e.action === 'lookup').reverse().map((e) => auditRowCells({
    seq: 0, occurredAt: new Date(0), actorId: e.employeeId, action: e.action, decision: e.decision, channelKind: e.channelKind,
    customerIds: e.customerIds, ...(e.reasonCode ? { reasonCode: e.reasonCode } : {}),
  }, 'zh-CN', fmt, 3).join(' · '));
  return placeholders(rows) as string[];
}

/** What is compared of an audit answer: the table as read, or the notice's text. */
export function tableObserved(table: SeenTable): unknown {
  return table.title
    ? { title: table.title, header: table.header, rows: table.rows, footer: table.footer, buttons: table.buttons }
    : { notice: table.text };
}

export const AUDIT_SCENARIOS: Scenario[] = [
  {
    name: 'audit query: an auditor lists a rep\'s lookups newest first, pages Older and back Newer; a rep is refused; each query is audited',
    // audit.query for the query and each page turn (3), the rep's refused query (1, denied).
    auditRecords: 4,
    async run(d, ctx) {
      const query = `by ${ctx.employeeId('salesRep')} action:lookup purpose: 季度审计抽查`;
      const first = await d.auditQuery('auditor', query);
      if (first.rows.length !== 15 || !first.buttons.includes('older')) throw new Error(`${d.platform}: the first page is not a full page with Older: ${first.text}`);
      const older = await d.auditPage('auditor', 'older');
      const newer = await d.auditPage('auditor', 'newer');
      if (newer.rows.join('\n') !== first.rows.join('\n')) throw new Error(`${d.platform}: Newer does not return to the first page`);
      const refused = await d.auditQuery('salesRep', `who-viewed ${ctx.customers[0]!.customerId}`);
      if (refused.title || refused.rows.length) throw new Error(`${d.platform}: a sales rep saw audit rows`);
      return placeholders({ first: tableObserved(first), older: tableObserved(older), newer: tableObserved(newer), refused: tableObserved(refused) });
    },
    fromHistory(golden, earlier) {
      const rows = lookupRows(earlier, demoEmployee('salesRep').employeeId);
      // Titles, footers and buttons do not depend on which rows the pages hold, while a third page remains.
      if (rows.length <= 2 * PAGE) throw new Error('the rep\'s lookups fill fewer than three pages: the pages\' buttons would differ');
      const seen = golden.seen as Record<'first' | 'older' | 'newer', Record<string, unknown>>;
      const page = (n: number) => rows.slice(n * PAGE, (n + 1) * PAGE);
      return { ...seen, first: { ...seen.first, rows: page(0) }, older: { ...seen.older, rows: page(1) }, newer: { ...seen.newer, rows: page(0) } };
    },
  },
];
