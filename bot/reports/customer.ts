// `custos report customer ID`: every audit event naming one customer in the period — who looked at,
// revealed, exported or was granted access to their data, when, under which rules and for which
// purpose (a person's request to know, PIPL Art. 45). Rows are the log's own events, in chain order;
// where an event lacks the purpose or the approvers (a lookup under a grant, a grant's use), they come
// from the grant or request it names.
import type { AuditAction } from '../core/audit.ts';
import { CUSTOMER_ID_RE } from '../core/audit-event.ts';
import { CustosError, ErrorCode } from '../core/errors.ts';
import type { ReportPeriod } from './period.ts';
import { departmentOf, nameOf } from './people.ts';
import type { ReportEvent, ReportSource } from './source.ts';
import { isoTime, msgCell, type ReportTable } from './table.ts';

export const CUSTOMER_COLUMNS = ['time', 'seq', 'category', 'action', 'decision', 'employee', 'name', 'department', 'platform', 'channel',
  'fields', 'rules', 'purpose', 'approvers', 'grant', 'request', 'export'] as const;

const CATEGORY: Partial<Record<AuditAction, string>> = {
  'lookup': 'viewed', 'share': 'viewed', 'grant.use': 'viewed', 'reveal': 'revealed',
  'export.start': 'exported', 'export.complete': 'exported', 'export.download': 'exported',
  'grant.start': 'granted', 'grant.expire': 'grantEnded', 'grant.revoke': 'grantEnded',
  'lookup.refused': 'refused', 'interaction.refused': 'refused', 'customer.erase': 'erased', 'report.generate': 'reported',
};

export function categoryOf(action: AuditAction): string {
  return CATEGORY[action] ?? (action.startsWith('request.') ? 'requested' : 'other');
}

/** A customer id as typed, normalised (c-123 → C-123), or a clear refusal. */
export function customerIdArg(text: string): string {
  const id = text.trim().toUpperCase();
  if (!CUSTOMER_ID_RE.test(id)) throw new CustosError(ErrorCode.ReportInvalid, `"${text.slice(0, 20)}" is not a customer id: give one like C-000123`, { field: 'customer' });
  return id;
}

/** Purpose and approvers of an event: its own, else those of the grant or request it names. */
async function context(source: ReportSource, e: ReportEvent): Promise<{ purpose: string; approvers: string[] }> {
  const grant = await source.grant(e.grantId);
  const request = grant ? null : await source.request(e.requestId);
  const approvers = grant?.grantedBy ?? (request?.status === 'approved' ? request.decidedBy ?? [] : []);
  return { purpose: e.purpose ?? grant?.purpose ?? request?.purpose ?? '', approvers };
}

export async function customerReport(source: ReportSource, customerId: string, period: ReportPeriod): Promise<ReportTable> {
  if (!(await source.customerKnown(customerId))) {
    throw new CustosError(ErrorCode.ReportInvalid, `there is no customer ${customerId}: custos neither stores it, nor erased it, nor names it in the audit log`, { customerId });
  }
  const rows: string[][] = [];
  for (const e of await source.customerEvents(customerId, period)) {
    const { purpose, approvers } = await context(source, e);
    rows.push([
      isoTime(e.occurredAt), String(e.seq), msgCell(`report.cat.${categoryOf(e.action)}`), e.action, e.decision,
      e.actorId ?? '', await nameOf(source, e.actorId), await departmentOf(source, e.actorId), e.platform, e.channelKind,
      e.fields.map((f) => `${f.name}:${f.outcome}`).join(' '), e.ruleIds.join(' '), purpose, approvers.join(' '),
      e.grantId ?? '', e.requestId ?? '', e.exportId ?? '',
    ]);
  }
  return { file: `customer-${customerId}.csv`, columns: CUSTOMER_COLUMNS, rows };
}
