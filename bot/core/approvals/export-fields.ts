// What an export's columns will hold, per requested field, before any row is read (issue 13, defect 8):
// the approver's card and the requester's form say it, and the `request.*` events record it.
//
// A cell's outcome is the requester's per-row `export` decision (the most revealing outcome of the
// export rules that apply to that record), except that a field group an approved grant widens is shown.
// Which rules apply depends on the record, so a field may get different outcomes on different rows.
// Rules only widen: the outcome on a row is the most revealing of the rules matching it. Every record
// matches all unscoped rules (outcome U) and some of the scoped ones; the most revealing of a set of
// outcomes is always one of them, so the possible outcomes are exactly U (when there are unscoped rules)
// and, for each scoped rule R, the more revealing of U and R. (Two scoped rules that can never match the
// same record only make the list longer than the file will be, never shorter.)
import { CUSTOMER_FIELDS, FIELD_GROUPS, groupOf, type CustomerField, type FieldGroup } from '../domain.ts';
import { auditOutcome } from '../lookup.ts';
import type { Policy } from '../../../policies/load.ts';
import { ruleOutcomes } from '../../../policies/engine/fields.ts';
import { rank, wider } from '../../../policies/engine/outcomes.ts';
import { matchesWho } from '../../../policies/engine/principal.ts';
import type { FieldOutcome, Principal } from '../../../policies/types.ts';
import type { AccessRequest } from './types.ts';

/** One requested column and every outcome its cells can have (most revealing first). */
export interface ExportFieldOutcome { field: CustomerField; outcomes: FieldOutcome[] }

interface ExportRule { scoped: boolean; outcomes: Map<CustomerField, FieldOutcome> }

function exportRules(policy: Pick<Policy, 'rules'>, principal: Principal): ExportRule[] {
  return policy.rules
    .filter((r) => r.actions.includes('export') && matchesWho(r.who, principal))
    .map((r) => ({ scoped: r.scope !== undefined, outcomes: ruleOutcomes(r) }));
}

/** Orders outcomes from most to least revealing (ties by name): lists are deterministic. */
export function byRevealing(a: FieldOutcome, b: FieldOutcome): number {
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** The outcomes one field can get on the rows by rule alone; `[]` when no export rule applies to the principal. */
function ruleOutcomesFor(rules: readonly ExportRule[], field: CustomerField): FieldOutcome[] {
  if (rules.length === 0) return [];
  const unscoped = rules.filter((r) => !r.scoped);
  const always = unscoped.reduce<FieldOutcome>((acc, r) => wider(acc, r.outcomes.get(field) ?? 'hide'), 'hide');
  const possible = new Set<FieldOutcome>(unscoped.length ? [always] : []);
  for (const r of rules.filter((x) => x.scoped)) possible.add(wider(always, r.outcomes.get(field) ?? 'hide'));
  return [...possible].sort(byRevealing);
}

/** Fields some applying export rule shows or masks on some rows: they need no approval to be exported. */
export function exportableFields(policy: Pick<Policy, 'rules'>, principal: Principal): Set<CustomerField> {
  const rules = exportRules(policy, principal);
  return new Set(CUSTOMER_FIELDS.filter((f) => ruleOutcomesFor(rules, f).some((o) => o !== 'hide')));
}

/**
 * What each requested field's column will hold if the request is approved: `show` for a field of a group
 * the grant widens, else the outcomes the export rules give (hidden when none applies: such an export
 * only carries rows the grant covers).
 */
export function planExportFields(policy: Pick<Policy, 'rules'>, principal: Principal, fields: readonly CustomerField[], widened: readonly FieldGroup[]): ExportFieldOutcome[] {
  const rules = exportRules(policy, principal);
  return [...new Set(fields)].map((field) => {
    if (widened.includes(groupOf(field))) return { field, outcomes: ['show'] };
    const byRule = ruleOutcomesFor(rules, field);
    return { field, outcomes: byRule.length ? byRule : ['hide'] };
  });
}

/** The outcomes in audit form, one entry per field and outcome (as lookups record theirs). */
export function auditFieldOutcomes(list: readonly ExportFieldOutcome[]): { name: string; outcome: string }[] {
  return list.flatMap((f) => f.outcomes.map((o) => ({ name: f.field, outcome: auditOutcome(o) })));
}

/**
 * The field list of a request's audit events: an export's planned outcome per field (what the file will
 * hold if approved); for a reveal or access, the fields the grant would show.
 */
export function requestAuditFields(r: Pick<AccessRequest, 'fields' | 'groups' | 'fieldOutcomes'>): { name: string; outcome: string }[] {
  if (r.fieldOutcomes?.length) return auditFieldOutcomes(r.fieldOutcomes);
  return (r.fields.length ? r.fields : r.groups.flatMap((g) => [...FIELD_GROUPS[g]])).map((name) => ({ name, outcome: 'show' }));
}
