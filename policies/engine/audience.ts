// The decision for everyone who will see a message: allowed only if every member is allowed, each field
// at the strictest outcome any member gets, and the scope the intersection of theirs. An unknown member
// (null) counts as the most restricted principal there is: an external guest no rule applies to.
import type { Customer } from '../../bot/domain/domain.ts';
import type { Action, Decision, FieldDecision } from '../types.ts';
import { ALWAYS_FALSE, FIELD_ACTIONS } from './compile.ts';
import { registerPredicate } from './predicates.ts';
import { hiddenFields, type FieldMap } from './fields.ts';
import { narrower } from './outcomes.ts';


function refused(action: Action, reason: string, ruleIds: string[]): Decision {
  return registerPredicate({
    allowed: false, action, scope: ALWAYS_FALSE, fields: FIELD_ACTIONS.has(action) ? hiddenFields(`not allowed for this audience: ${reason}`) : {},
    ruleIds, denyReason: reason, purposeRequired: false, approvals: {}, grantIds: [],
  }, () => false);
}

export function mergeAudience(action: Action, decisions: (Decision | null)[], predicateOf: (d: Decision) => (c: Customer) => boolean): Decision {
  if (decisions.length === 0) return refused(action, 'empty_audience', []);
  if (decisions.some((d) => d === null)) return refused(action, 'unknown_member', []);
  const members = decisions as Decision[];
  const refusedMember = members.find((d) => !d.allowed);
  // A member whose every read needs a stated purpose is not covered by someone else's (or none): a
  // purpose is the reader's own statement of why they process the data (PIPL Art. 6), so such a member
  // blocks the shared card, and says so with its own reason.
  if (refusedMember) return refused(action, refusedMember.denyReason === 'purpose_required' ? 'member_purpose_required' : 'audience_restricted', [...refusedMember.ruleIds]);
  const fields: FieldMap = {};
  const first = members[0]!;
  for (const field of Object.keys(first.fields) as (keyof FieldMap)[]) {
    let strictest: FieldDecision = first.fields[field]!;
    for (const d of members.slice(1)) {
      const other = d.fields[field] ?? { outcome: 'hide', ruleIds: [], reason: 'no rule shows this field' };
      const outcome = narrower(strictest.outcome, other.outcome);
      if (outcome === other.outcome && outcome !== strictest.outcome) strictest = other;
      else if (outcome !== strictest.outcome) strictest = { outcome, ruleIds: [...strictest.ruleIds, ...other.ruleIds], reason: 'members get different masks: redacted' };
    }
    fields[field] = { ...strictest, reason: `strictest in audience: ${strictest.reason}` };
  }
  const predicates = members.map(predicateOf);
  return registerPredicate({
    allowed: true, action,
    scope: members.length === 1 ? first.scope : { $and: members.map((d) => d.scope) },
    fields,
    ruleIds: [...new Set(members.flatMap((d) => d.ruleIds))],
    purposeRequired: members.some((d) => d.purposeRequired),
    approvals: {},
    grantIds: [...new Set(members.flatMap((d) => d.grantIds))],
  }, (c) => predicates.every((p) => p(c)));
}
