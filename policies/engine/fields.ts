// Per-field outcomes from the rules that apply to one principal and record, with the rule ids and a
// one-line reason behind each, plus what an approval would need for the groups not fully shown.
import { CUSTOMER_FIELDS, FIELD_GROUPS, FIELD_GROUP_NAMES, GROUP_OWNER, groupOf, type CustomerField, type FieldGroup } from '../../bot/domain/domain.ts';
import type { ApprovalRule, PolicyRule } from '../schema.ts';
import type { ApprovalRequirement, FieldDecision, FieldOutcome } from '../types.ts';
import { wider } from './outcomes.ts';

export type FieldMap = Partial<Record<CustomerField, FieldDecision>>;

/** Each field's outcome under one rule: a field entry beats its group's entry, which beats "*". */
export function ruleOutcomes(rule: PolicyRule): Map<CustomerField, FieldOutcome> {
  const out = new Map<CustomerField, FieldOutcome>();
  const entries = rule.fields ?? {};
  for (const field of CUSTOMER_FIELDS) {
    const outcome = entries[field] ?? entries[groupOf(field)] ?? entries['*'];
    if (outcome) out.set(field, outcome as FieldOutcome);
  }
  return out;
}

function reasonFor(outcome: FieldOutcome, ids: string[]): string {
  const by = ids.join(', ');
  if (outcome === 'show') return `shown by ${by}`;
  if (outcome === 'hide') return `hidden by ${by}`;
  return `masked as ${outcome.slice(5)} by ${by}`;
}

/** Combines the outcomes of every applying rule: the most revealing one wins for each field. */
export function resolveFields(applying: { id: string; outcomes: Map<CustomerField, FieldOutcome> }[]): FieldMap {
  const fields: FieldMap = {};
  for (const field of CUSTOMER_FIELDS) {
    let best: FieldOutcome | undefined;
    for (const r of applying) {
      const o = r.outcomes.get(field);
      if (o) best = best ? wider(best, o) : o;
    }
    if (!best) {
      fields[field] = { outcome: 'hide', ruleIds: [], reason: 'no rule shows this field' };
      continue;
    }
    const ids = applying.filter((r) => r.outcomes.get(field) === best).map((r) => r.id);
    fields[field] = { outcome: best, ruleIds: ids, reason: reasonFor(best, ids) };
  }
  return fields;
}

/** Every field hidden, for refusals. */
export function hiddenFields(reason: string): FieldMap {
  const fields: FieldMap = {};
  for (const field of CUSTOMER_FIELDS) fields[field] = { outcome: 'hide', ruleIds: [], reason };
  return fields;
}

function requirement(rule: ApprovalRule, group: FieldGroup): ApprovalRequirement {
  return {
    approvers: rule.approvers.map((a) => {
      if (a.kind === 'department_head') return { kind: 'department_head', department: a.department === 'owner' ? (GROUP_OWNER[group] ?? 'compliance') : a.department };
      if (a.kind === 'role') return { kind: 'role', role: a.role };
      return { kind: 'manager' };
    }),
    quorum: rule.quorum,
    maxDurationMinutes: rule.maxDurationMinutes,
    reasonRequired: rule.reasonRequired,
    selfApproval: false,
    ruleId: rule.id,
  };
}

/** For each group with a field not fully shown, the first approval rule (of this principal's) covering it. */
export function approvalsFor(fields: FieldMap, rules: ApprovalRule[]): Partial<Record<FieldGroup, ApprovalRequirement>> {
  const out: Partial<Record<FieldGroup, ApprovalRequirement>> = {};
  for (const group of FIELD_GROUP_NAMES) {
    const narrowed = FIELD_GROUPS[group].some((f) => fields[f]?.outcome !== 'show');
    const rule = narrowed ? rules.find((r) => r.groups.includes(group)) : undefined;
    if (rule) out[group] = requirement(rule, group);
  }
  return out;
}
