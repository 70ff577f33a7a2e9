// Which fields an export may carry at all for a principal: every field some matching `export` rule
// shows or masks. (A customer-less decision only reflects unconditional rules, while export rules are
// usually scoped, e.g. `region: $principal.region`; per-row outcomes still come from per-row decisions.)
import { CUSTOMER_FIELDS, FIELD_GROUPS, FIELD_GROUP_NAMES, type CustomerField, type FieldGroup } from '../domain.ts';
import type { Policy } from '../../../policies/load.ts';
import { matchesWho } from '../../../policies/engine/principal.ts';
import type { Principal } from '../../../policies/types.ts';

export function exportableFields(policy: Pick<Policy, 'rules'>, principal: Principal): Set<CustomerField> {
  const out = new Set<CustomerField>();
  for (const rule of policy.rules) {
    if (!rule.actions.includes('export') || !matchesWho(rule.who, principal)) continue;
    for (const [key, outcome] of Object.entries(rule.fields ?? {})) {
      const fields: readonly CustomerField[] = key === '*' ? CUSTOMER_FIELDS
        : (FIELD_GROUP_NAMES as string[]).includes(key) ? FIELD_GROUPS[key as FieldGroup] : [key as CustomerField];
      for (const f of fields) {
        if (outcome === 'hide') out.delete(f); else out.add(f);
      }
    }
  }
  return out;
}
