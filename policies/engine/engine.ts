// The policy engine: explained decisions built on CASL. Per principal and action the policy is compiled
// once (compile.ts); a decision then checks context rules, matches the record against the compiled
// CASL rules, and looks the field outcomes up in a memo keyed by which conditional rules matched.
// Decisions are frozen and may be shared between calls: treat them as read-only.
import type { Customer } from '../../bot/domain/domain.ts';
import type { ScopeFilter } from '../../bot/domain/scope.ts';
import { variablesIn } from '../conditions.ts';
import { isGrantActive, type Grant, type GrantSource } from '../grants.ts';
import type { Policy } from '../load.ts';
import type { Action, Decision, DecisionContext, PolicyEngine, Principal } from '../types.ts';
import { mergeAudience } from './audience.ts';
import { FIELD_ACTIONS, compiledAction, compilePrincipal, ruleMatches, type CompiledAction, type CompiledPrincipal, ALWAYS_FALSE } from './compile.ts';
import { approvalsFor, hiddenFields, resolveFields } from './fields.ts';
import { withGrants } from './grants.ts';
import { withinWorkingHours } from './hours.ts';
import { principalKey } from './principal.ts';
import { predicateOf, registerPredicate } from './predicates.ts';


export interface EngineOptions {
  /** Where active grants come from; without it, decisions ignore grants. */
  grants?: GrantSource;
}

export interface PolicyEngineImpl extends PolicyEngine {
  readonly policy: Policy;
  /** The decision given the grantee's grants already fetched (pure and synchronous). */
  decideWith(principal: Principal, action: Action, context: DecisionContext, customer: Customer | undefined, grants: Grant[]): Decision;
  /** How many principals have compiled abilities (for tests of the cache). */
  readonly cacheSize: number;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Which context rule refuses, if any (the first in policy order). */
function contextRefusal(policy: Policy, a: CompiledAction, principal: Principal, context: DecisionContext): { reason: string; ruleId: string } | undefined {
  for (const rule of a.context) {
    if (rule.channels && !rule.channels.includes(context.channel)) return { reason: 'channel_denied', ruleId: rule.id };
    if (rule.workingHours && !withinWorkingHours(policy.settings, principal.timezone, context.at)) return { reason: 'off_hours', ruleId: rule.id };
    if (rule.purpose && !context.purpose?.trim()) return { reason: 'purpose_required', ruleId: rule.id };
  }
  return undefined;
}

interface Memo { allowed: Map<number, Decision>; denied: Map<string, Decision> }

interface Snapshot {
  department: string; region: string; external: boolean; employeeId: string; managerId: string | undefined; roles: string[];
  compiled: CompiledPrincipal;
}

function sameRoles(a: string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function createPolicyEngine(policy: Policy, options: EngineOptions = {}): PolicyEngineImpl {
  const allVariables = new Set([...policy.rules.map((r) => r.scope)].flatMap((s) => [...variablesIn(s)]));
  const keyHasEmployee = allVariables.has('$principal.employeeId');
  const keyHasManager = allVariables.has('$principal.managerId');
  const cache = new Map<string, CompiledPrincipal>();
  // Principal objects seen before, with a snapshot of the attributes their compilation depended on:
  // repeated requests with the same object skip building the cache key. The snapshot is compared field
  // by field, so a principal object changed in place is recompiled rather than trusted.
  const seen = new WeakMap<Principal, Snapshot>();

  function principalCompiled(principal: Principal): CompiledPrincipal {
    const s = seen.get(principal);
    if (s && s.department === principal.department && s.region === principal.region && s.external === principal.external
      && s.employeeId === principal.employeeId && s.managerId === principal.managerId && sameRoles(s.roles, principal.roles)) {
      return s.compiled;
    }
    const key = principalKey(principal, keyHasEmployee, keyHasManager);
    let p = cache.get(key);
    if (!p) {
      if (cache.size >= 10_000) cache.clear(); // bounded: the directory is small, this only guards against churn
      p = compilePrincipal(policy, principal, key);
      cache.set(key, p);
    }
    seen.set(principal, {
      department: principal.department, region: principal.region, external: principal.external, employeeId: principal.employeeId,
      managerId: principal.managerId, roles: [...principal.roles], compiled: p,
    });
    return p;
  }

  function compiled(principal: Principal, action: Action): { p: CompiledPrincipal; a: CompiledAction; memo: Memo } {
    const p = principalCompiled(principal);
    const a = compiledAction(policy, principal, p, action);
    let memo = a.memo;
    if (!memo) {
      memo = { allowed: new Map(), denied: new Map() };
      a.memo = memo;
    }
    return { p, a, memo };
  }

  function purposeRequired(a: CompiledAction): boolean {
    return a.context.some((c) => c.purpose);
  }

  function denied(p: CompiledPrincipal, a: CompiledAction, memo: Memo, reason: string, extraRuleIds: string[], withApprovals: boolean): Decision {
    const key = extraRuleIds.length === 0 ? reason : `${reason}|${extraRuleIds.join(',')}`;
    const hit = memo.denied.get(key);
    if (hit) return hit;
    const fields = FIELD_ACTIONS.has(a.action) ? hiddenFields(`not allowed: ${reason}`) : {};
    const decision: Decision = deepFreeze({
      allowed: false, action: a.action, scope: ALWAYS_FALSE, fields, ruleIds: [...extraRuleIds],
      denyReason: reason, purposeRequired: purposeRequired(a),
      approvals: withApprovals && p.canRequest && FIELD_ACTIONS.has(a.action) ? approvalsFor(fields, p.approvals) : {},
      grantIds: [],
    });
    memo.denied.set(key, registerPredicate(decision, () => false));
    return memo.denied.get(key)!;
  }

  function allowedDecision(p: CompiledPrincipal, a: CompiledAction, memo: Memo, mask: number): Decision {
    const hit = memo.allowed.get(mask);
    if (hit) return hit;
    const applying = [...a.unconditional, ...a.conditional.filter((_, i) => mask >= 0 && (mask & (1 << i)) !== 0)];
    const fields = FIELD_ACTIONS.has(a.action) ? resolveFields(applying) : {};
    const decision: Decision = deepFreeze({
      allowed: true, action: a.action, scope: a.scope, fields,
      ruleIds: [...applying.map((r) => r.id), ...a.context.map((c) => c.id)],
      purposeRequired: purposeRequired(a),
      approvals: p.canRequest && FIELD_ACTIONS.has(a.action) ? approvalsFor(fields, p.approvals) : {},
      grantIds: [],
    });
    const predicate = (c: Customer) => a.unconditional.length > 0 || a.conditional.some((r) => ruleMatches(r.casl!, c));
    if (a.conditional.length <= 30) memo.allowed.set(mask, registerPredicate(decision, predicate));
    else registerPredicate(decision, predicate);
    return decision;
  }

  function decideWith(principal: Principal, action: Action, context: DecisionContext, customer: Customer | undefined, grants: Grant[]): Decision {
    const { p, a, memo } = compiled(principal, action);
    const usable = grants.length === 0 ? grants : grants.filter((g) => g.granteeId === principal.employeeId && g.actions.includes(action) && isGrantActive(g, context.at));
    if (a.ruleIds.length === 0 && usable.length === 0) return denied(p, a, memo, principal.external ? 'external_denied' : 'no_rule', [], true);
    const refusal = contextRefusal(policy, a, principal, context);
    if (refusal) return denied(p, a, memo, refusal.reason, [refusal.ruleId], false);
    if (usable.length) return withGrants(a, p, customer, usable, (reason) => denied(p, a, memo, reason, [], true));
    if (!customer) return allowedDecision(p, a, memo, -1);
    let mask = 0;
    for (let i = 0; i < a.conditional.length; i++) if (ruleMatches(a.conditional[i]!.casl!, customer)) mask |= 1 << i;
    if (mask === 0 && a.unconditional.length === 0) return denied(p, a, memo, 'out_of_scope', [], true);
    return allowedDecision(p, a, memo, mask);
  }

  const NO_GRANTS: Grant[] = [];
  function decide(principal: Principal, action: Action, context: DecisionContext, customer?: Customer): Promise<Decision> {
    const source = options.grants;
    if (!source) {
      try {
        return Promise.resolve(decideWith(principal, action, context, customer, NO_GRANTS));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return source.activeFor(principal.employeeId, context.at).then((grants) => decideWith(principal, action, context, customer, grants));
  }

  return {
    policy,
    version: policy.version,
    get cacheSize() { return cache.size; },
    decide,
    decideWith,
    async decideAs(principal, at) {
      const grants = options.grants ? await options.grants.activeFor(principal.employeeId, at) : NO_GRANTS;
      return (action, context, customer) => decideWith(principal, action, context, customer, grants);
    },
    async decideForAudience(principals, action, context, customer) {
      const decisions = await Promise.all(principals.map((pr) => (pr ? decide(pr, action, context, customer) : null)));
      return mergeAudience(action, decisions, predicateOf);
    },
    inScope(decision: Decision, customer: Customer): boolean {
      return predicateOf(decision)(customer);
    },
  };
}

export type { ScopeFilter };
