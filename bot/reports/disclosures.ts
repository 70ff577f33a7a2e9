// `custos report disclosures`: the register of internal disclosures — every grant that let someone
// see another department's data (a group whose owning department is not the grantee's) and every
// export, with the approvers who let it happen. Starts from the log (`grant.start`, `export.complete`);
// the grant, request and directory supply groups, departments and approvers the event does not carry.
// Departments are the directory's today (the log keeps ids, not departments).
import type { AccessRequest } from '../core/approvals/types.ts';
import { CUSTOMER_FIELDS, FIELD_GROUP_NAMES, GROUP_OWNER, groupOf, type CustomerField, type FieldGroup } from '../core/domain.ts';
import type { GrantDoc } from '../store/grant-store.ts';
import type { ReportPeriod } from './period.ts';
import { departmentOf, nameOf, namesOf } from './people.ts';
import type { ReportEvent, ReportSource } from './source.ts';
import { isoTime, msgCell, type ReportTable } from './table.ts';

export const DISCLOSURE_COLUMNS = ['time', 'seq', 'kind', 'id', 'request', 'employee', 'name', 'department', 'owners', 'scope', 'customers',
  'purpose', 'rules', 'approvers', 'approverNames', 'until'] as const;

function owners(groups: readonly string[]): string[] {
  return [...new Set(groups.flatMap((g) => (FIELD_GROUP_NAMES.includes(g as FieldGroup) ? [GROUP_OWNER[g as FieldGroup]] : [])).filter((d): d is NonNullable<typeof d> => d !== null))];
}

function approversOf(e: ReportEvent, grant: GrantDoc | null, request: AccessRequest | null): string[] {
  if (grant?.grantedBy.length) return grant.grantedBy;
  if (request?.decidedBy?.length) return request.decidedBy;
  return typeof e.meta.by === 'string' && e.meta.by !== 'system' ? e.meta.by.split(' ') : [];
}

function segmentText(request: AccessRequest | null, e: ReportEvent): string {
  if (request?.kind === 'audit-export') return 'audit log';
  if (e.customerIds.length) return e.customerIds.join(' ');
  const conditions = Object.entries(request?.segment?.conditions ?? {}).map(([k, v]) => `${k}=${v}`);
  return conditions.length ? `segment ${conditions.join(' ')}` : '';
}

async function grantRow(source: ReportSource, e: ReportEvent): Promise<string[] | null> {
  const [grant, request] = [await source.grant(e.grantId), await source.request(e.requestId)];
  const kind = request?.kind ?? String(e.meta.kind ?? '');
  if (kind === 'export' || kind === 'audit-export') return null; // listed once, as its export
  const grantee = grant?.granteeId ?? request?.requesterId ?? e.actorId ?? '';
  const groups = grant?.groups ?? request?.groups ?? [];
  const department = await departmentOf(source, grantee);
  const owning = owners(groups);
  // Unknown department: listed (a register errs on the side of listing).
  if (department !== '' && owning.every((d) => d === department)) return null;
  const approvers = approversOf(e, grant, request);
  return [
    isoTime(e.occurredAt), String(e.seq), msgCell('report.kind.grant'), e.grantId ?? '', e.requestId ?? '', grantee, await nameOf(source, grantee), department,
    owning.join(' '), [...groups, ...(request?.field ? [request.field] : [])].join(' '), (grant?.customerIds ?? e.customerIds).join(' '),
    e.purpose ?? grant?.purpose ?? request?.purpose ?? '', e.ruleIds.join(' '), approvers.join(' '), await namesOf(source, approvers),
    grant ? isoTime(new Date(grant.expiresAt)) : String(e.meta.expiresAt ?? ''),
  ];
}

async function exportRow(source: ReportSource, e: ReportEvent): Promise<string[]> {
  const request = await source.request(e.requestId);
  const grant = await source.grant(e.grantId);
  const requester = e.actorId ?? request?.requesterId ?? '';
  const fields = e.fields.map((f) => f.name);
  const groups = fields.flatMap((f) => (CUSTOMER_FIELDS.includes(f as CustomerField) ? [groupOf(f as CustomerField)] : []));
  const approvers = approversOf(e, grant, request);
  return [
    isoTime(e.occurredAt), String(e.seq), msgCell('report.kind.export'), e.exportId ?? '', e.requestId ?? '', requester, await nameOf(source, requester),
    await departmentOf(source, requester), owners(groups).join(' '), fields.join(' '), segmentText(request, e),
    e.purpose ?? request?.purpose ?? '', e.ruleIds.join(' '), approvers.join(' '), await namesOf(source, approvers), String(e.meta.rows ?? ''),
  ];
}

export async function disclosuresReport(source: ReportSource, period: ReportPeriod): Promise<ReportTable> {
  const rows: string[][] = [];
  for (const e of await source.actionEvents(['grant.start', 'export.complete'], period)) {
    if (e.decision !== 'allowed') continue;
    const row = e.action === 'grant.start' ? await grantRow(source, e) : await exportRow(source, e);
    if (row) rows.push(row);
  }
  return { file: 'disclosures.csv', columns: DISCLOSURE_COLUMNS, rows };
}
