// Record conditions (rule scopes, grant segments): a small, checked subset of MongoDB query syntax
// that the database and CASL's in-memory matcher evaluate identically. Principal variables such as
// `$principal.region` may appear only as values and are substituted before CASL sees the rule.
import { CUSTOMER_FIELDS, SENSITIVE_FIELDS } from '../bot/domain/domain.ts';
import type { Principal } from './types.ts';

/** Operators both CASL's matcher and MongoDB / FerretDB evaluate the same way. */
export const ALLOWED_OPERATORS = ['$eq', '$ne', '$in', '$nin', '$lt', '$lte', '$gt', '$gte', '$exists'] as const;

export const PRINCIPAL_VARIABLES = {
  '$principal.employeeId': (p: Principal) => p.employeeId,
  '$principal.department': (p: Principal) => p.department,
  '$principal.region': (p: Principal) => p.region,
  // No manager: a value no customer field holds, so the condition matches nothing in both MongoDB and CASL.
  '$principal.managerId': (p: Principal) => p.managerId ?? '\u0000no-manager',
  '$principal.roles': (p: Principal) => [...p.roles],
} as const;
export type PrincipalVariable = keyof typeof PRINCIPAL_VARIABLES;

/** Fields a scope may test: plaintext, top-level ones (sensitive fields are encrypted at rest). */
const SCOPABLE_FIELDS = new Set<string>(['customerId', ...CUSTOMER_FIELDS.filter((f) => !(SENSITIVE_FIELDS as readonly string[]).includes(f))]);

export type Conditions = Record<string, unknown>;
export interface ConditionProblem { path: (string | number)[]; message: string }

function isScalar(v: unknown): boolean {
  return ['string', 'number', 'boolean'].includes(typeof v); // no null: MongoDB and CASL treat missing fields differently
}

function checkValue(v: unknown, path: (string | number)[], problems: ConditionProblem[], allowArray: boolean): void {
  if (typeof v === 'string' && v.startsWith('$')) {
    if (!(v in PRINCIPAL_VARIABLES)) {
      problems.push({ path, message: `unknown variable "${v}"; known: ${Object.keys(PRINCIPAL_VARIABLES).join(', ')}` });
    } else if (v === '$principal.roles' && !allowArray) {
      problems.push({ path, message: '"$principal.roles" is a list: use it with $in or $nin' });
    }
    return;
  }
  if (Array.isArray(v) && allowArray) {
    v.forEach((item, i) => {
      if (typeof item === 'string' && item.startsWith('$')) problems.push({ path: [...path, i], message: 'variables cannot be list items: give the variable as the whole list' });
      else if (!isScalar(item)) problems.push({ path: [...path, i], message: 'list items must be plain values' });
    });
    return;
  }
  if (!isScalar(v)) problems.push({ path, message: 'expected a plain value (string, number or boolean)' });
}

function checkOperand(field: string, spec: unknown, path: (string | number)[], problems: ConditionProblem[]): void {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    checkValue(spec, path, problems, false);
    return;
  }
  const entries = Object.entries(spec);
  if (entries.length === 0) problems.push({ path, message: `empty condition for "${field}"` });
  for (const [op, operand] of entries) {
    if (!(ALLOWED_OPERATORS as readonly string[]).includes(op)) {
      problems.push({ path: [...path, op], message: `operator "${op}" is not allowed; use one of ${ALLOWED_OPERATORS.join(', ')}` });
    } else if (op === '$in' || op === '$nin') {
      if (!Array.isArray(operand) && operand !== '$principal.roles') problems.push({ path: [...path, op], message: `${op} needs a list (or $principal.roles)` });
      else checkValue(operand, [...path, op], problems, true);
    } else if (op === '$exists') {
      if (typeof operand !== 'boolean') problems.push({ path: [...path, op], message: '$exists needs true or false' });
    } else {
      checkValue(operand, [...path, op], problems, false);
    }
  }
}

/** Every problem with a conditions object, with paths relative to it. */
export function checkConditions(conditions: unknown): ConditionProblem[] {
  const problems: ConditionProblem[] = [];
  if (conditions === null || typeof conditions !== 'object' || Array.isArray(conditions)) {
    return [{ path: [], message: 'expected a mapping of field: condition' }];
  }
  for (const [field, spec] of Object.entries(conditions)) {
    if (field.startsWith('$')) {
      problems.push({ path: [field], message: `top-level "${field}" is not allowed (CASL cannot check it in memory): write one rule per alternative` });
    } else if ((SENSITIVE_FIELDS as readonly string[]).includes(field)) {
      problems.push({ path: [field], message: `"${field}" is encrypted at rest, so a scope cannot test it` });
    } else if (!SCOPABLE_FIELDS.has(field)) {
      problems.push({ path: [field], message: `unknown customer field "${field}"` });
    } else {
      checkOperand(field, spec, [field], problems);
    }
  }
  return problems;
}

/** The variables a conditions object uses (decides what the ability cache key must include). */
export function variablesIn(conditions: unknown, found = new Set<PrincipalVariable>()): Set<PrincipalVariable> {
  if (typeof conditions === 'string' && conditions in PRINCIPAL_VARIABLES) found.add(conditions as PrincipalVariable);
  else if (Array.isArray(conditions)) conditions.forEach((c) => variablesIn(c, found));
  else if (conditions && typeof conditions === 'object') Object.values(conditions).forEach((c) => variablesIn(c, found));
  return found;
}

/** Substitutes principal variables (values only; conditions were checked on load, so none is unknown). */
export function interpolate(conditions: unknown, principal: Principal): unknown {
  if (typeof conditions === 'string' && conditions.startsWith('$')) {
    const read = PRINCIPAL_VARIABLES[conditions as PrincipalVariable];
    if (!read) throw new Error(`unknown policy variable ${conditions}`);
    return read(principal);
  }
  if (Array.isArray(conditions)) return conditions.map((c) => interpolate(c, principal));
  if (conditions && typeof conditions === 'object') {
    return Object.fromEntries(Object.entries(conditions).map(([k, v]) => [k, interpolate(v, principal)]));
  }
  return conditions;
}

const COMPARISONS = new Set(['$lt', '$lte', '$gt', '$gte']);

/**
 * Makes range comparisons explicit about missing fields. MongoDB never matches a missing field with
 * $lt/$lte/$gt/$gte, but CASL's in-memory matcher does (found by the differential test), so each
 * comparison gets `$exists: true`, which means the same in both and keeps the query and the check equal.
 */
export function withExplicitExistence(conditions: Conditions): Conditions {
  const out: Conditions = {};
  for (const [field, spec] of Object.entries(conditions)) {
    const ops = spec && typeof spec === 'object' && !Array.isArray(spec) ? (spec as Record<string, unknown>) : undefined;
    out[field] = ops && Object.keys(ops).some((op) => COMPARISONS.has(op)) && !('$exists' in ops) ? { ...ops, $exists: true } : spec;
  }
  return out;
}
