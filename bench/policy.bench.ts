// Policy decisions per second for cached principals, against a baseline of bare CASL `can()` calls on
// the same (compiled, interpolated) rules in the same run. A "full decision" is engine.decide(): context
// rules (channel, working hours in the employee's timezone, purpose), the record check against every
// conditional rule, per-field outcomes with rule ids, approvals. Last line:
// {"bench":"policy","rate":…,"baseline_rate":…,"cost_ratio":baseline_rate/rate}
import { createMongoAbility, subject } from '@casl/ability';
import { demoEmployeeList } from '../bot/store/demo-company.ts';
import { REGIONS, CUSTOMER_STATUSES, CUSTOMER_TIERS, type Customer } from '../bot/core/domain.ts';
import { createPolicyEngine, loadPolicy, principalOf } from '../policies/index.ts';
import { interpolate } from '../policies/conditions.ts';
import type { DecisionContext } from '../policies/types.ts';
import { now, report, round } from './lib.ts';

const policy = loadPolicy('policies');
const engine = createPolicyEngine(policy);
const principals = demoEmployeeList().map(principalOf);
const owners = principals.filter((p) => p.department === 'sales').map((p) => p.employeeId);

// Deterministic customers spread over regions, owners, tiers and statuses.
const customers: Customer[] = Array.from({ length: 1000 }, (_, i) => ({
  customerId: `C-${String(i).padStart(6, '0')}`, name: '张三', type: i % 3 ? 'person' : 'company',
  region: REGIONS[i % REGIONS.length]!, tier: CUSTOMER_TIERS[i % CUSTOMER_TIERS.length]!, ownerId: owners[i % owners.length]!,
  status: CUSTOMER_STATUSES[i % CUSTOMER_STATUSES.length]!, paymentStatus: i % 5 ? 'current' : 'overdue', phone: '13800135678',
}));
const context: DecisionContext = { channel: 'dm', at: new Date('2026-03-02T02:00:00Z'), purpose: 'benchmark' };

// Baseline: one CASL ability per principal built from exactly the rules the engine compiles for lookups.
const abilities = principals.map((p) => createMongoAbility(policy.rules
  .filter((r) => r.actions.includes('lookup') && (r.who.external === 'any' || r.who.external === p.external)
    && (!r.who.departments || r.who.departments.includes(p.department)) && (!r.who.roles || r.who.roles.some((x) => p.roles.includes(x)))
    && (!r.who.regions || r.who.regions.includes(p.region)))
  .map((r) => ({ action: 'lookup', subject: 'Customer', ...(r.scope ? { conditions: interpolate(r.scope, p) as Record<string, unknown> } : {}) }))));
const subjects = customers.map((c) => subject('Customer', { ...c }));

const ITERATIONS = Number(process.env.POLICY_BENCH_ITERATIONS ?? 200_000);
const ROUNDS = 9;

function baseline(n: number): number {
  let allowed = 0;
  const t0 = now();
  for (let i = 0; i < n; i++) if (abilities[i % abilities.length]!.can('lookup', subjects[i % subjects.length]!)) allowed++;
  const ms = now() - t0;
  if (allowed < 0) throw new Error('unreachable'); // keeps the loop from being optimised away
  return n / (ms / 1000);
}

async function decisions(n: number): Promise<number> {
  let allowed = 0;
  const t0 = now();
  for (let i = 0; i < n; i++) {
    const d = await engine.decide(principals[i % principals.length]!, 'lookup', context, customers[i % customers.length]!);
    if (d.allowed) allowed++;
  }
  const ms = now() - t0;
  if (allowed === 0) throw new Error('no decision allowed anything: the bench is not measuring real work');
  return n / (ms / 1000);
}

// Warm up (JIT, ability cache, decision memo). Then alternate baseline and decision rounds, so both see
// the same machine load (the machine is shared), and report the medians.
baseline(100_000);
await decisions(100_000);
const baseRates: number[] = [];
const rates: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  baseRates.push(baseline(ITERATIONS));
  rates.push(await decisions(ITERATIONS));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rate = median(rates);
const baselineRate = median(baseRates);
console.log(`principals ${principals.length}, customers ${customers.length}, cached abilities ${engine.cacheSize}, ${ROUNDS} rounds x ${ITERATIONS}`);
console.log(`per-round cost ratios: ${baseRates.map((b, i) => round(b / rates[i]!)).join(' ')}`);
console.log(`full decisions/s ${Math.round(rate)} (target >= 200000); bare CASL can()/s ${Math.round(baselineRate)}; cost per decision ${round(baselineRate / rate)}x a bare check (target <= 5)`);
report({ bench: 'policy', rate: Math.round(rate), baseline_rate: Math.round(baselineRate), cost_ratio: round(baselineRate / rate) });
