// Decisions widened by active grants. A grant becomes one more CASL rule (its customers or segment as
// conditions), so the widened scope filter and the in-memory check still come from the same rules.
// Grants do not bypass context rules: those were checked before we get here.
import { FIELD_GROUPS, type Customer } from '../../bot/domain/domain.ts';
import type { Grant } from '../grants.ts';
import { withExplicitExistence } from '../conditions.ts';
import type { Decision } from '../types.ts';
import { FIELD_ACTIONS, buildAbility, ruleMatches, scopeOf, type CompiledAction, type CompiledPrincipal, type CustomerAbility } from './compile.ts';
import { approvalsFor, resolveFields, type FieldMap } from './fields.ts';
import type { RawRuleOf } from '@casl/ability';
import { registerPredicate } from './predicates.ts';


function grantRule(grant: Grant, action: string): RawRuleOf<CustomerAbility> {
  const conditions = grant.target.kind === 'customers'
    ? { customerId: { $in: [...grant.target.customerIds] } }
    : withExplicitExistence(grant.target.conditions);
  return { action, subject: 'Customer', reason: `grant:${grant.grantId}`, conditions };
}

function widenFields(fields: FieldMap, grants: Grant[]): void {
  for (const grant of grants) {
    const reason = `shown by grant ${grant.grantId} until ${grant.expiresAt.toISOString()}`;
    for (const group of grant.groups) {
      for (const field of FIELD_GROUPS[group]) {
        fields[field] = { outcome: 'show', ruleIds: [`grant:${grant.grantId}`], reason, grantId: grant.grantId };
      }
    }
  }
}

export function withGrants(
  a: CompiledAction, p: CompiledPrincipal, customer: Customer | undefined, grants: Grant[],
  deny: (reason: string) => Decision,
): Decision {
  const ability = buildAbility([...a.caslRules.map((r) => r.origin), ...grants.map((g) => grantRule(g, a.action))]);
  const rules = ability.rulesFor(a.action, 'Customer');
  const baseApplying = customer ? [...a.unconditional, ...a.conditional.filter((r) => ruleMatches(r.casl!, customer))] : a.unconditional;
  const covering = customer
    ? grants.filter((g) => ruleMatches(rules.find((r) => r.reason === `grant:${g.grantId}`)!, customer))
    : [];
  if (customer && baseApplying.length === 0 && covering.length === 0) return deny('out_of_scope');
  const fields = FIELD_ACTIONS.has(a.action) ? resolveFields(baseApplying) : {};
  if (FIELD_ACTIONS.has(a.action)) widenFields(fields, covering);
  const decision: Decision = {
    allowed: true, action: a.action, scope: scopeOf(rules), fields,
    ruleIds: [...baseApplying.map((r) => r.id), ...(customer ? covering : grants).map((g) => `grant:${g.grantId}`), ...a.context.map((c) => c.id)],
    purposeRequired: a.context.some((c) => c.purpose),
    approvals: p.canRequest && FIELD_ACTIONS.has(a.action) ? approvalsFor(fields, p.approvals) : {},
    grantIds: (customer ? covering : grants).map((g) => g.grantId),
  };
  return registerPredicate(decision, (c) => rules.some((r) => ruleMatches(r, c)));
}
