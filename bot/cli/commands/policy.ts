// `custos policy check|test|explain`: validate policy files, run their test matrices, and explain one
// decision for a real employee and customer from the database. Explain prints outcomes and the rules
// behind them, never customer values.
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { CUSTOMER_FIELDS, groupOf } from '../../core/domain.ts';
import { CustosError, ErrorCode } from '../../core/errors.ts';
import { systemClock } from '../../core/ports.ts';
import { EmployeeStore } from '../../store/employee-store.ts';
import { CustomerStore } from '../../store/customer-store.ts';
import { MongoGrantStore } from '../../store/grant-store.ts';
import { openDataStores } from '../../store/open.ts';
import { checkPolicy, createPolicyEngine, formatProblem, loadPolicy, principalOf } from '../../../policies/index.ts';
import { runMatrices } from '../../../policies/matrix.ts';
import { ACTIONS, CHANNEL_KINDS, type Action, type ChannelKind, type Decision } from '../../../policies/types.ts';

function policyDir(): string {
  return loadConfig(process.env, { require: [] }).policyDir;
}

function check(target: string | undefined): void {
  const where = target ?? policyDir();
  const { policy, problems } = checkPolicy(where);
  if (!policy) {
    for (const p of problems) process.stdout.write(`${formatProblem(p)}\n`);
    process.stdout.write(`${problems.length} problem${problems.length === 1 ? '' : 's'} in ${where}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${where}: OK — ${policy.rules.length} rules, ${policy.context.length} context rules, `
    + `${policy.approvals.length} approval rules in ${policy.files.length} file(s); version ${policy.version}\n`);
}

function test(dir: string | undefined, flags: { policy?: string }): void {
  const policyPath = flags.policy ?? policyDir();
  const engine = createPolicyEngine(loadPolicy(policyPath));
  const target = dir ?? path.join(policyPath, 'tests');
  const engines = new Map<string, ReturnType<typeof createPolicyEngine>>();
  const engineFor = (p: string) => engines.get(p) ?? engines.set(p, createPolicyEngine(loadPolicy(p))).get(p)!;
  const { results, problems } = runMatrices(engine, target, engineFor);
  for (const p of problems) process.stdout.write(`problem: ${p}\n`);
  const failed = results.filter((r) => !r.passed);
  for (const r of failed) {
    process.stdout.write(`FAIL ${path.basename(r.file)}: ${r.name}\n`);
    for (const d of r.diffs) process.stdout.write(`  - ${d}\n`);
  }
  process.stdout.write(`${results.length} cases, ${results.length - failed.length} passed, ${failed.length} failed\n`);
  if (failed.length || problems.length || results.length === 0) process.exitCode = 1;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/** The explanation as text: a header, then one row per field (field, group, outcome, rule ids, reason). */
export function explanation(decision: Decision, header: string[]): string {
  const lines = [...header, `decision: ${decision.allowed ? 'allowed' : `refused (${decision.denyReason})`}`,
    `rules: ${decision.ruleIds.join(', ') || '(none)'}`, `scope: ${JSON.stringify(decision.scope)}`];
  if (decision.purposeRequired) lines.push('purpose: required');
  if (decision.grantIds.length) lines.push(`grants: ${decision.grantIds.join(', ')}`);
  if (Object.keys(decision.fields).length) {
    const rows = [['FIELD', 'GROUP', 'OUTCOME', 'RULES', 'REASON']];
    for (const field of CUSTOMER_FIELDS) {
      const f = decision.fields[field];
      if (f) rows.push([field, groupOf(field), f.outcome, f.ruleIds.join(',') || '-', f.reason]);
    }
    lines.push('', table(rows));
  }
  const approvals = Object.entries(decision.approvals);
  if (approvals.length) {
    lines.push('', 'to widen, ask for approval:');
    for (const [group, a] of approvals) {
      const who = a.approvers.map((x) => (x.kind === 'department_head' ? `head of ${x.department}` : x.kind === 'role' ? `any ${x.role}` : 'manager')).join(' / ');
      lines.push(`  ${group}: ${a.quorum} of ${who}; up to ${a.maxDurationMinutes} min${a.reasonRequired ? '; reason required' : ''}; no self-approval`);
    }
  }
  return `${lines.join('\n')}\n`;
}

interface ExplainFlags { as: string; customer: string; action: Action; channel: ChannelKind; at?: Date; purpose?: string; policy?: string }

async function explain(flags: ExplainFlags): Promise<void> {
  const engineOf = (grants: MongoGrantStore) => createPolicyEngine(loadPolicy(flags.policy ?? policyDir()), { grants });
  const stores = await openDataStores();
  try {
    const grants = new MongoGrantStore(stores.conn);
    const employee = await new EmployeeStore(stores.conn).byEmail(flags.as);
    if (!employee) throw new CustosError(ErrorCode.EmployeeUnknown, `no employee with e-mail ${flags.as}`);
    const customer = await new CustomerStore(stores.conn, stores.cipher).get(flags.customer);
    if (!customer) throw new CustosError(ErrorCode.NotFound, `no customer ${flags.customer}`);
    const at = flags.at ?? systemClock.now();
    const principal = principalOf(employee);
    const decision = await engineOf(grants).decide(principal, flags.action, { channel: flags.channel, at, ...(flags.purpose ? { purpose: flags.purpose } : {}) }, customer);
    process.stdout.write(explanation(decision, [
      `employee: ${employee.employeeId} (${employee.department}, ${employee.roles.join('+')}, ${employee.region}, ${employee.timezone}${employee.external ? ', external' : ''}, ${employee.status})`,
      `customer: ${customer.customerId}`,
      `action: ${flags.action} in a ${flags.channel} channel at ${at.toISOString()}`,
    ]));
    if (employee.status !== 'active') process.stdout.write(`note: this employee is ${employee.status}; the bot refuses them before any policy decision\n`);
  } finally {
    await stores.close();
  }
}

function oneOf<T extends string>(values: readonly T[], what: string) {
  return (v: string): T => {
    if (!(values as readonly string[]).includes(v)) throw new InvalidArgumentError(`${what} must be one of ${values.join(', ')}`);
    return v as T;
  };
}

function time(v: string): Date {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError('expected an ISO 8601 time, e.g. 2026-03-02T10:00:00+08:00');
  return d;
}

// Help a newcomer can follow: what each command reads, what it prints, and examples to copy.
const CHECK_HELP = `
Reads the policy: one file, or every .yaml / .yml file directly inside a directory (its tests/ folder
is not policy). Needs no database. Prints "<path>: OK — N rules …", or one line per problem naming the file, the path inside
it and the rule id, and exits with status 1.

Examples:
  $ custos policy check                        # CUSTOS_POLICY_DIR (default: policies/)
  $ custos policy check policies/default.yaml
`;

const TEST_HELP = `
Each case gives a principal, a customer, an action and a context (channel, time, purpose, grants) and
the expected decision, per-field outcomes and approval requirement (see policies/tests/*.test.yaml).
Needs no database. Prints a diff for each failing case and "N cases, N passed, N failed"; exits 1 on
any failure, on a malformed matrix, or when no case was found.

Examples:
  $ custos policy test                         # <CUSTOS_POLICY_DIR>/tests against CUSTOS_POLICY_DIR
  $ custos policy test my-cases/ --policy policies/
`;

const EXPLAIN_HELP = `
Reads the employee and the customer from the database (needs MONGODB_URI, CUSTOS_DATA_KEYS and
CUSTOS_BLIND_INDEX_KEY; see README: Configuration) and prints the decision: allowed or refused and why,
the scope, then one row per field with its outcome (show, mask:<preset>, hide), the rule ids behind it
and the reason, and what an approval would need. It never prints customer values.

Examples:
  $ custos policy explain --as zhang.wei@demo.custos.local --customer C-000001
  $ custos policy explain --as zhang.wei@demo.custos.local --customer C-000001 --at 2026-03-01T23:30:00+08:00
  $ custos policy explain --as zhang.wei@demo.custos.local --customer C-000001 --action reveal --channel public
`;

export function register(program: Command): void {
  const policy = program.command('policy').description('validate, test and explain access policies');
  policy.command('check').argument('[path]', 'policy file or directory (default: CUSTOS_POLICY_DIR)')
    .description('validate policy files; print every problem (file, path, rule id) and exit 1 on any')
    .addHelpText('after', CHECK_HELP)
    .action(check);
  policy.command('test').argument('[dir]', 'test matrix file or directory (default: <policy dir>/tests)')
    .option('--policy <path>', 'policy file or directory to test (default: CUSTOS_POLICY_DIR)')
    .description('run YAML test matrices; print a diff for each failing case and exit 1 on any failure')
    .addHelpText('after', TEST_HELP)
    .action(test);
  policy.command('explain')
    .requiredOption('--as <email>', 'the employee, by e-mail')
    .requiredOption('--customer <id>', 'the customer id, e.g. C-000123')
    .option('--action <action>', `one of ${ACTIONS.join(', ')}`, oneOf(ACTIONS, 'action'), 'lookup')
    .option('--channel <kind>', `one of ${CHANNEL_KINDS.join(', ')}`, oneOf(CHANNEL_KINDS, 'channel'), 'dm')
    .option('--at <time>', 'decision time, ISO 8601 (default: now)', time)
    .option('--purpose <text>', 'the purpose the employee would state')
    .option('--policy <path>', 'policy file or directory (default: CUSTOS_POLICY_DIR)')
    .description('explain the decision for one employee and customer from the database: each field, its outcome and the rules behind it')
    .addHelpText('after', EXPLAIN_HELP)
    .action(explain);
}
