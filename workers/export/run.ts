// One approved export: stream the scoped rows, keep only the permitted columns, mask each value as the
// policy (widened by the export's grant) says, and write a watermarked UTF-8 CSV with BOM to a file.
// Memory stays flat: rows go from the database cursor through one line of text to the file stream.
//
// Scope = the requester's own export scope (when their policy has one) AND the requested segment; a
// grant alone (no export rule) scopes to the segment the approver saw. Columns = requested fields the
// requester's export rules let through, plus fields of the groups the grant widens. Each cell is the
// policy engine's per-row `export` decision with the export's grant, exactly as a lookup decides with
// its grants: the rules that match that customer (so own-account rules apply), widened only in the
// groups the grant names, which are the groups whose approval was asked and given (approvals/
// export-fields.ts). A row neither the rules nor a widening grant cover is skipped: a scope bug can only hide.
import type { AccessRequest } from '../../bot/core/approvals/types.ts';
import { FIELD_GROUPS, groupOf, type Customer, type CustomerField, type Employee } from '../../bot/core/domain.ts';
import { canaryPosition, csvCell, encodeMarker, UTF8_BOM } from '../../bot/core/export-watermark.ts';
import { principalOf } from '../../bot/core/identity.ts';
import { byRevealing, exportableFields, type ExportFieldOutcome } from '../../bot/core/approvals/export-fields.ts';
import { t } from '../../bot/core/messages.ts';
import type { ScopeFilter } from '../../bot/core/ports.ts';
import { formatValue } from '../../bot/core/view.ts';
import { mask } from '../../policies/mask/index.ts';
import { isGrantActive, type Grant } from '../../policies/grants.ts';
import type { PolicyEngineImpl } from '../../policies/index.ts';
import type { DecisionContext, FieldOutcome, Principal } from '../../policies/types.ts';
import '../../bot/core/lookup-messages.ts';
import { openCsvFile } from './csv-file.ts';

export interface ExportSource {
  stream(scope: ScopeFilter): AsyncIterable<Customer>;
  count(scope: ScopeFilter): Promise<number>;
}

export interface ExportPlan {
  exportId: string;
  request: Pick<AccessRequest, 'requestId' | 'fields' | 'segment' | 'purpose' | 'fieldOutcomes'>;
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

export interface ExportResult {
  rows: number; realRows: number; capped: boolean; columns: CustomerField[]; bytes: number;
  /** Each column with every outcome its written cells got (the canary's included), most revealing first. */
  delivered: ExportFieldOutcome[];
}

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

/**
 * One record's column outcomes: the engine's `export` decision for this customer with the export's
 * grant. Null when the row is not the requester's to export: neither their rules cover it nor does a
 * grant that widens some group (a grant that widens nothing only authorises the export itself).
 */
export function rowOutcomes(engine: PolicyEngineImpl, principal: Principal, ctx: DecisionContext, grant: Grant | null, columns: readonly CustomerField[], c: Customer): FieldOutcome[] | null {
  const byRule = engine.decideWith(principal, 'export', ctx, c, []);
  const ruled = byRule.allowed && engine.inScope(byRule, c);
  if (!ruled && !(grant && grant.groups.length > 0)) return null;
  const d = grant ? engine.decideWith(principal, 'export', ctx, c, [grant]) : byRule;
  if (!d.allowed || !engine.inScope(d, c)) return null;
  return columns.map((f) => d.fields[f]?.outcome ?? 'hide');
}

/** One CSV line: the customer id with the invisible marker, then each column's cell at its outcome. */
export function rowLine(c: Customer, marker: string, columns: readonly CustomerField[], outcomes: readonly FieldOutcome[]): string {
  return `${[`${c.customerId}${marker}`, ...columns.map((f, i) => cellValue(c, f, outcomes[i]!))].map(csvCell).join(',')}\r\n`;
}

/** Collects the outcomes written per column, for the `export.complete` event. */
function deliveredOutcomes(columns: readonly CustomerField[]): { add(outcomes: readonly FieldOutcome[]): void; list(): ExportFieldOutcome[] } {
  const seen = columns.map(() => new Set<FieldOutcome>());
  return {
    add: (outcomes) => outcomes.forEach((o, i) => seen[i]!.add(o)),
    list: () => columns.map((field, i) => ({ field, outcomes: [...seen[i]!].sort(byRevealing) })),
  };
}

export async function runExport(engine: PolicyEngineImpl, source: ExportSource, plan: ExportPlan, file: string): Promise<ExportResult> {
  const locale = plan.requester.locale;
  const ctx: DecisionContext = { channel: 'dm', at: plan.at, purpose: plan.request.purpose };
  const principal = principalOf(plan.requester);
  const { scope, columns } = exportScope(engine, plan, ctx);
  const widened = new Set(plan.grant && isGrantActive(plan.grant, plan.at) ? plan.grant.groups : []);
  const delivered = deliveredOutcomes(columns);
  const marker = encodeMarker(plan.key, plan.tagId, plan.exportId, plan.requester.employeeId);
  const total = Math.min(await source.count(scope), plan.maxRows);
  const canaryAt = canaryPosition(plan.key, plan.exportId, total);

  const out = openCsvFile(file);
  const write = (line: string) => out.write(line);
  const header = `# custos export ${plan.exportId} · ${plan.requester.employeeId} ${plan.requester.name} · ${plan.at.toISOString()}`;
  await write(`${UTF8_BOM}${csvCell(header)}\r\n`);
  await write(`${[t('export.column.customerId', locale), ...columns.map((f) => t(`field.${f}`, locale))].map(csvCell).join(',')}\r\n`);

  const line = (c: Customer, outcomes: FieldOutcome[]) => {
    delivered.add(outcomes);
    return rowLine(c, marker, columns, outcomes);
  };
  const outcomesFor = (c: Customer): FieldOutcome[] | null => rowOutcomes(engine, principal, ctx, plan.grant, columns, c);

  let realRows = 0;
  let capped = false;
  let canaryWritten = false;
  let lastOutcomes: FieldOutcome[] | null = null;
  const every = plan.progressEvery ?? 5000;
  for await (const c of source.stream(scope)) {
    if (realRows >= plan.maxRows) { capped = true; break; }
    const outcomes = outcomesFor(c);
    if (!outcomes) continue;
    lastOutcomes = outcomes;
    if (!canaryWritten && realRows === canaryAt) {
      await write(line(plan.canary, outcomes));
      canaryWritten = true;
    }
    await write(line(c, outcomes));
    realRows++;
    if (realRows % every === 0) await plan.onProgress?.(realRows);
  }
  // A canary not yet placed looks like the last real row; in a file without real rows, like what the
  // approver was told (the least revealing outcome each column may have), so the file holds nothing
  // the card did not announce.
  if (!canaryWritten) await write(line(plan.canary, lastOutcomes ?? columns.map((f): FieldOutcome => (widened.has(groupOf(f)) ? 'show'
    : plan.request.fieldOutcomes?.find((x) => x.field === f)?.outcomes.at(-1) ?? 'hide'))));
  const rows = realRows + 1;
  await write(`${csvCell(`# end of export ${plan.exportId} · ${rows} rows${capped ? ` (cut at ${plan.maxRows})` : ''} · ${plan.requester.employeeId}`)}\r\n`);
  await out.close();
  return { rows, realRows, capped, columns, bytes: out.bytes, delivered: delivered.list() };
}

export { FIELD_GROUPS };
