// One approved export: stream the scoped rows, keep only the permitted columns, mask each value as the
// policy (widened by the export's grant) says, and write a watermarked UTF-8 CSV with BOM to a file.
// Memory stays flat: rows go from the database cursor through one line of text to the file stream.
//
// Scope = the requester's own export scope (when their policy has one) AND the requested segment; a
// grant alone (no export rule) scopes to the segment the approver saw. Columns = requested fields the
// requester's export decision does not hide, plus fields of the groups the grant widens. Per row, the
// requester's rule-based decision for that customer gives each outcome (so own-account rules apply),
// then the grant's groups are shown. A row the decision refuses is skipped: a scope bug can only hide.
import type { AccessRequest } from '../../bot/core/approvals/types.ts';
import { FIELD_GROUPS, groupOf, type Customer, type CustomerField, type Employee } from '../../bot/core/domain.ts';
import { canaryPosition, csvCell, encodeMarker, UTF8_BOM } from '../../bot/core/export-watermark.ts';
import { principalOf } from '../../bot/core/identity.ts';
import { exportableFields } from '../../bot/core/approvals/export-fields.ts';
import { t } from '../../bot/core/messages.ts';
import type { ScopeFilter } from '../../bot/core/ports.ts';
import { formatValue } from '../../bot/core/view.ts';
import { mask } from '../../policies/mask/index.ts';
import type { Grant } from '../../policies/grants.ts';
import type { PolicyEngineImpl } from '../../policies/index.ts';
import type { DecisionContext, FieldOutcome } from '../../policies/types.ts';
import '../../bot/core/lookup-messages.ts';
import { openCsvFile } from './csv-file.ts';

export interface ExportSource {
  stream(scope: ScopeFilter): AsyncIterable<Customer>;
  count(scope: ScopeFilter): Promise<number>;
}

export interface ExportPlan {
  exportId: string;
  request: Pick<AccessRequest, 'requestId' | 'fields' | 'segment' | 'purpose'>;
  grant: Grant | null;
  requester: Employee;
  at: Date;
  maxRows: number;
  key: Buffer; // watermark key
  tagId: string;
  canary: Customer; // synthetic, see canary.ts
  onProgress?: (rows: number) => Promise<void> | void;
  progressEvery?: number;
}

export interface ExportResult { rows: number; realRows: number; capped: boolean; columns: CustomerField[]; bytes: number }

export function exportScope(engine: PolicyEngineImpl, plan: ExportPlan, ctx: DecisionContext): { scope: ScopeFilter; columns: CustomerField[] } {
  const principal = principalOf(plan.requester);
  const base = engine.decideWith(principal, 'export', ctx, undefined, []);
  const seg = plan.request.segment;
  const segment: ScopeFilter = { ...(seg?.conditions ?? {}), ...(seg?.customerIds.length ? { customerId: { $in: seg.customerIds } } : {}) };
  const scope: ScopeFilter = base.allowed ? { $and: [base.scope, segment] } : segment;
  const widened = new Set(plan.grant?.groups ?? []);
  const exportable = exportableFields(engine.policy, principal);
  const columns = plan.request.fields.filter((f) => widened.has(groupOf(f)) || exportable.has(f));
  return { scope, columns };
}

function cellValue(c: Customer, field: CustomerField, outcome: FieldOutcome): string {
  const v: unknown = c[field];
  if (outcome === 'hide' || v === undefined || v === null) return '';
  return outcome === 'show' ? formatValue(v) : mask(v, outcome.slice(5));
}

export async function runExport(engine: PolicyEngineImpl, source: ExportSource, plan: ExportPlan, file: string): Promise<ExportResult> {
  const locale = plan.requester.locale;
  const ctx: DecisionContext = { channel: 'dm', at: plan.at, purpose: plan.request.purpose };
  const principal = principalOf(plan.requester);
  const { scope, columns } = exportScope(engine, plan, ctx);
  const widened = new Set(plan.grant && plan.grant.expiresAt > plan.at && !plan.grant.revokedAt ? plan.grant.groups : []);
  const marker = encodeMarker(plan.key, plan.tagId, plan.exportId, plan.requester.employeeId);
  const total = Math.min(await source.count(scope), plan.maxRows);
  const canaryAt = canaryPosition(plan.key, plan.exportId, total);

  const out = openCsvFile(file);
  const write = (line: string) => out.write(line);
  const header = `# custos export ${plan.exportId} · ${plan.requester.employeeId} ${plan.requester.name} · ${plan.at.toISOString()}`;
  await write(`${UTF8_BOM}${csvCell(header)}\r\n`);
  await write(`${[t('export.column.customerId', locale), ...columns.map((f) => t(`field.${f}`, locale))].map(csvCell).join(',')}\r\n`);

  const line = (c: Customer, outcomes: FieldOutcome[]) =>
    `${[`${c.customerId}${marker}`, ...columns.map((f, i) => cellValue(c, f, outcomes[i]!))].map(csvCell).join(',')}\r\n`;
  const outcomesFor = (c: Customer): FieldOutcome[] | null => {
    const d = engine.decideWith(principal, 'export', ctx, c, []);
    const byRule = d.allowed && engine.inScope(d, c);
    if (!byRule && widened.size === 0) return null;
    return columns.map((f) => (widened.has(groupOf(f)) ? 'show' : byRule ? d.fields[f]?.outcome ?? 'hide' : 'hide'));
  };

  let realRows = 0;
  let capped = false;
  let canaryWritten = false;
  const every = plan.progressEvery ?? 5000;
  for await (const c of source.stream(scope)) {
    if (realRows >= plan.maxRows) { capped = true; break; }
    const outcomes = outcomesFor(c);
    if (!outcomes) continue;
    if (!canaryWritten && realRows === canaryAt) {
      await write(line(plan.canary, outcomes));
      canaryWritten = true;
    }
    await write(line(c, outcomes));
    realRows++;
    if (realRows % every === 0) await plan.onProgress?.(realRows);
  }
  if (!canaryWritten) {
    const outcomes = columns.map((f) => (widened.has(groupOf(f)) ? 'show' as const : 'hide' as const));
    await write(line(plan.canary, outcomes));
  }
  const rows = realRows + 1;
  await write(`${csvCell(`# end of export ${plan.exportId} · ${rows} rows${capped ? ` (cut at ${plan.maxRows})` : ''} · ${plan.requester.employeeId}`)}\r\n`);
  await out.close();
  return { rows, realRows, capped, columns, bytes: out.bytes };
}

export { FIELD_GROUPS };
