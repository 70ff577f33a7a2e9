// The audit-query scenario of the shared list (run.ts runs it on every platform): an auditor asks for one
// employee's lookups, pages Older and back Newer, and a sales rep is refused; every query is audited.
// Rows name ids and codes only; their times, sequence numbers and the footer's event id are placeholders.
import { placeholders } from './approvals.ts';
import type { SeenTable } from './driver.ts';
import type { Scenario } from './lookup.ts';

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
  },
];
