// Compiles the policy for one principal and action: the applying rules with their variables
// substituted, a CASL ability over their record conditions, the scope filter CASL derives from the
// same rules, and the context rules to check. Done once per principal and policy version.
import { createMongoAbility, type MongoAbility, type RawRuleOf } from '@casl/ability';
import { rulesToCondition } from '@casl/ability/extra';
import type { Customer, CustomerField } from '../../bot/domain/domain.ts';
import type { ScopeFilter } from '../../bot/domain/scope.ts';
import { interpolate, withExplicitExistence, type Conditions } from '../conditions.ts';
import type { Policy } from '../load.ts';
import type { ApprovalRule, ContextRule } from '../schema.ts';
import type { Action, Decision, FieldOutcome, Principal } from '../types.ts';
import { matchesWho } from './principal.ts';
import { ruleOutcomes } from './fields.ts';

export type CustomerAbility = MongoAbility<[string, 'Customer']>;
export type CaslRule = ReturnType<CustomerAbility['rulesFor']>[number];

/**
 * Matches nothing, on MongoDB and FerretDB alike (`$expr` is not supported by FerretDB 1.24).
 * Used whenever nothing allows: fail closed.
 */
export const ALWAYS_FALSE: ScopeFilter = Object.freeze({ customerId: Object.freeze({ $in: Object.freeze([]) }) }) as ScopeFilter;

/** Actions that show customer fields; decisions for the others carry no field outcomes. */
export const FIELD_ACTIONS: ReadonlySet<Action> = new Set<Action>(['lookup', 'reveal', 'export']);

export interface CompiledRule {
  id: string;
  outcomes: Map<CustomerField, FieldOutcome>;
  /** CASL's compiled rule (its matcher is the in-memory scope check); absent for rules without scope. */
  casl?: CaslRule;
}

export interface CompiledAction {
  action: Action;
  unconditional: CompiledRule[];
  conditional: CompiledRule[];
  ruleIds: string[];
  ability: CustomerAbility;
  /** CASL's record rules for this action, highest priority first (input to rulesToCondition). */
  caslRules: readonly CaslRule[];
  scope: ScopeFilter;
  context: ContextRule[];
  /** Decisions already built for this principal and action (engine.ts), keyed by which rules matched. */
  memo?: { allowed: Map<number, Decision>; denied: Map<string, Decision> };
}

export interface CompiledPrincipal {
  key: string;
  actions: Map<Action, CompiledAction>;
  approvals: ApprovalRule[];
  canRequest: boolean;
}

const HOOKS = {
  and: (c: ScopeFilter[]): ScopeFilter => ({ $and: c }),
  or: (c: ScopeFilter[]): ScopeFilter => ({ $or: c }),
  empty: (): ScopeFilter => ({}),
};

/** The scope filter CASL derives from record rules; ALWAYS_FALSE when there are none. */
export function scopeOf(rules: readonly CaslRule[]): ScopeFilter {
  return rulesToCondition(rules, (r) => (r.conditions ?? {}) as ScopeFilter, HOOKS) ?? ALWAYS_FALSE;
}

/** CASL's in-memory check of one rule's conditions against a plain customer record. */
export function ruleMatches(rule: CaslRule, customer: Customer): boolean {
  return rule.matchesConditions(customer as never);
}

export function buildAbility(raw: RawRuleOf<CustomerAbility>[]): CustomerAbility {
  return createMongoAbility<CustomerAbility>(raw);
}

function compileAction(policy: Policy, principal: Principal, action: Action): CompiledAction {
  const rules = policy.rules.filter((r) => r.actions.includes(action) && matchesWho(r.who, principal));
  // One CASL rule per policy rule; `reason` carries the policy rule id so CASL's rules map back to ours.
  const raw: RawRuleOf<CustomerAbility>[] = rules.map((r) => ({
    action, subject: 'Customer', reason: r.id,
    ...(r.scope ? { conditions: withExplicitExistence(interpolate(r.scope, principal) as Conditions) } : {}),
  }));
  const ability = buildAbility(raw);
  const caslRules = ability.rulesFor(action, 'Customer');
  const caslById = new Map(caslRules.map((c) => [c.reason, c]));
  const compiled: CompiledRule[] = rules.map((r) => ({ id: r.id, outcomes: ruleOutcomes(r), ...(r.scope ? { casl: caslById.get(r.id) } : {}) }));
  return {
    action,
    unconditional: compiled.filter((c) => !c.casl),
    conditional: compiled.filter((c) => c.casl),
    ruleIds: rules.map((r) => r.id),
    ability,
    caslRules,
    scope: scopeOf(caslRules),
    context: policy.context.filter((c) => c.actions.includes(action) && matchesWho(c.who, principal)),
  };
}

export function compilePrincipal(policy: Policy, principal: Principal, key: string): CompiledPrincipal {
  const compiled: CompiledPrincipal = {
    key,
    actions: new Map(),
    approvals: policy.approvals.filter((a) => matchesWho(a.who, principal)),
    canRequest: policy.rules.some((r) => r.actions.includes('request') && matchesWho(r.who, principal)),
  };
  return compiled;
}

export function compiledAction(policy: Policy, principal: Principal, compiled: CompiledPrincipal, action: Action): CompiledAction {
  let a = compiled.actions.get(action);
  if (!a) {
    a = compileAction(policy, principal, action);
    compiled.actions.set(action, a);
  }
  return a;
}
