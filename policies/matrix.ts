// Policy test matrices: YAML files of cases (principal × customer × action × context [× grants] →
// expected allowed / deny reason / per-field outcomes / approvals). `custos policy test` and the test
// suite run them. Principals and customers are described inline (or by name, optionally extended with
// `like:`), so a matrix does not depend on the seed data.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { CUSTOMER_FIELDS, DEPARTMENTS, FIELD_GROUP_NAMES, REGIONS, ROLES, type Customer, type CustomerField } from '../bot/domain/domain.ts';
import { applyDecision } from './view.ts';
import type { Grant } from './grants.ts';
import type { PolicyEngineImpl } from './engine/engine.ts';
import { outcomeSchema } from './schema.ts';
import { ACTIONS, CHANNEL_KINDS, type Decision, type DecisionContext, type Principal } from './types.ts';

const isoDate = z.union([z.date(), z.string()]).transform((v, ctx) => {
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime())) {
    ctx.addIssue({ code: 'custom', message: `"${String(v)}" is not a date/time (use ISO 8601, e.g. 2026-03-02T10:00:00+08:00)` });
    return z.NEVER;
  }
  return d;
});

const principalSpec = z.object({
  like: z.string().optional(),
  employeeId: z.string().optional(),
  department: z.enum(DEPARTMENTS).optional(),
  roles: z.array(z.enum(ROLES)).optional(),
  region: z.enum(REGIONS).optional(),
  external: z.boolean().optional(),
  timezone: z.string().optional(),
  managerId: z.string().optional(),
}).strict();

const customerSpec = z.record(z.string(), z.unknown());

const grantSpec = z.object({
  grantId: z.string().optional(),
  granteeId: z.string().optional(),
  customers: z.array(z.string()).optional(),
  segment: z.record(z.string(), z.unknown()).optional(),
  groups: z.array(z.enum(FIELD_GROUP_NAMES as [string, ...string[]])).min(1),
  actions: z.array(z.enum(ACTIONS)).min(1),
  expiresAt: isoDate,
  revoked: z.boolean().default(false),
}).strict();

const approvalSpec = z.object({
  quorum: z.number().int().optional(),
  maxDurationMinutes: z.number().int().optional(),
  approvers: z.array(z.record(z.string(), z.string())).optional(),
}).strict();

const caseSpec = z.object({
  name: z.string().min(1),
  as: z.union([z.string(), principalSpec]),
  customer: z.union([z.string(), customerSpec]).optional(),
  action: z.enum(ACTIONS).default('lookup'),
  context: z.object({ channel: z.enum(CHANNEL_KINDS).default('dm'), at: isoDate.optional(), purpose: z.string().optional() }).strict().default({ channel: 'dm' }),
  grants: z.array(z.union([z.string(), grantSpec])).default([]),
  expect: z.object({
    allowed: z.boolean(),
    denyReason: z.string().optional(),
    purposeRequired: z.boolean().optional(),
    fields: z.record(z.string(), outcomeSchema).optional(),
    approvals: z.union([z.literal('none'), z.record(z.string(), approvalSpec)]).optional(),
    grantIds: z.array(z.string()).optional(),
    /** The rendered (masked) text of fields, as a card would show it; `null` = not shown at all. */
    values: z.record(z.string(), z.string().nullable()).optional(),
  }).strict(),
}).strict();

const matrixSpec = z.object({
  description: z.string().optional(),
  /** Policy file or directory to test, relative to the matrix file; default: the policy being tested. */
  policy: z.string().optional(),
  at: isoDate,
  principals: z.record(z.string(), principalSpec).default({}),
  customers: z.record(z.string(), customerSpec).default({}),
  grants: z.record(z.string(), grantSpec).default({}),
  cases: z.array(caseSpec).min(1),
}).strict();

export type Matrix = z.infer<typeof matrixSpec>;
export interface CaseResult {
  file: string;
  name: string;
  passed: boolean;
  diffs: string[];
  /** The outcomes of the fields this case checked (fields or values): for coverage reports. */
  checked: string[];
  department?: string;
  external?: boolean;
  denyReason?: string;
  grants: number;
}

/** The matrix files at `target`: the file itself or every *.yaml directly inside the directory. */
export function matrixFilesAt(target: string): string[] {
  if (!statSync(target).isDirectory()) return [target];
  return readdirSync(target).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(target, f));
}

export function parseMatrix(file: string, text: string): { matrix?: Matrix; problems: string[] } {
  let raw: unknown;
  try {
    raw = parse(text, { uniqueKeys: true });
  } catch (err) {
    return { problems: [`${file}: ${(err as Error).message.split('\n')[0]}`] };
  }
  const parsed = matrixSpec.safeParse(raw);
  if (parsed.success) return { matrix: parsed.data, problems: [] };
  return {
    problems: parsed.error.issues.map((i) => {
      const [section, index] = i.path;
      const cases = (raw as { cases?: { name?: unknown }[] } | null)?.cases;
      const caseName = section === 'cases' && typeof index === 'number' ? cases?.[index]?.name : undefined;
      return `${file}: ${i.path.map(String).join('.')}${typeof caseName === 'string' ? ` [case "${caseName}"]` : ''}: ${i.message}`;
    }),
  };
}

type PrincipalSpec = z.infer<typeof principalSpec>;

function resolvePrincipal(spec: string | PrincipalSpec, named: Record<string, PrincipalSpec>, seen: string[] = []): Principal {
  const own = typeof spec === 'string' ? named[spec] : spec;
  if (!own) throw new Error(`unknown principal "${String(spec)}"`);
  const { like, ...fields } = own;
  if (like && seen.includes(like)) throw new Error(`principal "${like}" extends itself`);
  const parent = like ? resolvePrincipal(like, named, [...seen, like]) : undefined;
  const p: Principal = {
    employeeId: 'E-TEST', department: 'sales', roles: ['staff'], region: 'east', external: false, timezone: 'Asia/Shanghai',
    ...parent, ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
  };
  return p;
}

function reviveDates(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    out[k] = typeof v === 'string' && ['lastContactAt', 'lastTicketAt'].includes(k) ? new Date(v) : v;
  }
  return out;
}

function resolveCustomer(spec: string | Record<string, unknown>, named: Record<string, Record<string, unknown>>, seen: string[] = []): Customer {
  const own = typeof spec === 'string' ? named[spec] : spec;
  if (!own) throw new Error(`unknown customer "${String(spec)}"`);
  const { like, ...fields } = own;
  if (typeof like === 'string' && seen.includes(like)) throw new Error(`customer "${like}" extends itself`);
  const parent = typeof like === 'string' ? resolveCustomer(like, named, [...seen, like]) : undefined;
  return {
    customerId: 'C-TEST', name: '测试', type: 'person', region: 'east', tier: 'standard', ownerId: 'E-NONE', status: 'active',
    ...parent, ...reviveDates(fields),
  } as Customer;
}

function resolveGrant(spec: string | z.infer<typeof grantSpec>, named: Record<string, z.infer<typeof grantSpec>>, principal: Principal, at: Date, i: number): Grant {
  const g = typeof spec === 'string' ? named[spec] : spec;
  if (!g) throw new Error(`unknown grant "${String(spec)}"`);
  const grant: Grant = {
    grantId: g.grantId ?? (typeof spec === 'string' ? spec : `grant-${i + 1}`),
    granteeId: g.granteeId ?? principal.employeeId,
    target: g.segment ? { kind: 'segment', segmentId: 'matrix', conditions: g.segment } : { kind: 'customers', customerIds: g.customers ?? [] },
    groups: g.groups as Grant['groups'], actions: g.actions, expiresAt: g.expiresAt,
    grantedBy: ['E-APPROVER'], purpose: 'matrix', createdAt: new Date(at.getTime() - 60_000),
  };
  if (g.revoked) grant.revokedAt = new Date(at.getTime() - 1);
  return grant;
}

function compare(decision: Decision, expect: z.infer<typeof caseSpec>['expect'], customer: Customer | undefined): string[] {
  const diffs: string[] = [];
  if (decision.allowed !== expect.allowed) diffs.push(`allowed: expected ${expect.allowed}, got ${decision.allowed}${decision.denyReason ? ` (${decision.denyReason})` : ''}`);
  if (expect.denyReason !== undefined && decision.denyReason !== expect.denyReason) diffs.push(`denyReason: expected ${expect.denyReason}, got ${decision.denyReason ?? '(none)'}`);
  if (expect.purposeRequired !== undefined && decision.purposeRequired !== expect.purposeRequired) diffs.push(`purposeRequired: expected ${expect.purposeRequired}, got ${decision.purposeRequired}`);
  for (const [field, outcome] of Object.entries(expect.fields ?? {})) {
    if (!(CUSTOMER_FIELDS as readonly string[]).includes(field)) {
      diffs.push(`fields.${field}: not a customer field`);
      continue;
    }
    const got = decision.fields[field as CustomerField];
    const actual = got?.outcome ?? 'hide';
    if (actual !== outcome) diffs.push(`fields.${field}: expected ${outcome}, got ${actual}${got?.ruleIds.length ? ` (${got.ruleIds.join(', ')})` : ''}`);
  }
  if (expect.approvals === 'none' && Object.keys(decision.approvals).length) diffs.push(`approvals: expected none, got ${Object.keys(decision.approvals).join(', ')}`);
  else if (expect.approvals && expect.approvals !== 'none') {
    for (const [group, want] of Object.entries(expect.approvals)) {
      const got = decision.approvals[group as keyof Decision['approvals']];
      if (!got) {
        diffs.push(`approvals.${group}: expected an approval requirement, got none`);
        continue;
      }
      if (want.quorum !== undefined && got.quorum !== want.quorum) diffs.push(`approvals.${group}.quorum: expected ${want.quorum}, got ${got.quorum}`);
      if (want.maxDurationMinutes !== undefined && got.maxDurationMinutes !== want.maxDurationMinutes) diffs.push(`approvals.${group}.maxDurationMinutes: expected ${want.maxDurationMinutes}, got ${got.maxDurationMinutes}`);
      if (want.approvers && JSON.stringify(want.approvers) !== JSON.stringify(got.approvers)) diffs.push(`approvals.${group}.approvers: expected ${JSON.stringify(want.approvers)}, got ${JSON.stringify(got.approvers)}`);
    }
  }
  if (expect.grantIds && JSON.stringify(expect.grantIds) !== JSON.stringify(decision.grantIds)) diffs.push(`grantIds: expected ${JSON.stringify(expect.grantIds)}, got ${JSON.stringify(decision.grantIds)}`);
  if (expect.values) {
    const view = customer ? applyDecision(customer, decision) : [];
    for (const [field, want] of Object.entries(expect.values)) {
      const got = view.find((f) => f.field === field)?.value ?? null;
      if (got !== want) diffs.push(`values.${field}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    }
  }
  return diffs;
}

/** Runs every case of one matrix against `engine`. */
export function runMatrix(engine: PolicyEngineImpl, file: string, matrix: Matrix): CaseResult[] {
  return matrix.cases.map((c) => {
    try {
      const principal = resolvePrincipal(c.as, matrix.principals);
      const customer = c.customer === undefined ? undefined : resolveCustomer(c.customer, matrix.customers);
      const at = c.context.at ?? matrix.at;
      const context: DecisionContext = { channel: c.context.channel, at, ...(c.context.purpose !== undefined ? { purpose: c.context.purpose } : {}) };
      const grants = c.grants.map((g, i) => resolveGrant(g, matrix.grants, principal, at, i));
      const decision = engine.decideWith(principal, c.action, context, customer, grants);
      const diffs = compare(decision, c.expect, customer);
      const checkedFields = new Set([...Object.keys(c.expect.fields ?? {}), ...Object.keys(c.expect.values ?? {})]);
      const checked = [...checkedFields].map((f) => decision.fields[f as CustomerField]?.outcome ?? 'hide');
      return {
        file, name: c.name, passed: diffs.length === 0, diffs, checked, department: principal.department, external: principal.external,
        grants: grants.length, ...(decision.denyReason ? { denyReason: decision.denyReason } : {}),
      };
    } catch (err) {
      return { file, name: c.name, passed: false, diffs: [(err as Error).message], checked: [], grants: 0 };
    }
  });
}

/**
 * Reads and runs every matrix at `target` against `engine`, or against the policy a matrix names
 * (`policy:`, loaded through `engineFor`). Problems are matrices or policies that could not be loaded.
 */
export function runMatrices(
  engine: PolicyEngineImpl, target: string, engineFor: (policyPath: string) => PolicyEngineImpl,
): { results: CaseResult[]; problems: string[] } {
  const results: CaseResult[] = [];
  const problems: string[] = [];
  for (const file of matrixFilesAt(target)) {
    const { matrix, problems: p } = parseMatrix(file, readFileSync(file, 'utf8'));
    problems.push(...p);
    if (!matrix) continue;
    try {
      const e = matrix.policy ? engineFor(path.resolve(path.dirname(file), matrix.policy)) : engine;
      results.push(...runMatrix(e, file, matrix));
    } catch (err) {
      problems.push(`${file}: policy ${matrix.policy}: ${(err as Error).message}`);
    }
  }
  return { results, problems };
}

