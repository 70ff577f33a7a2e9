// Differential test on the real database: for random principals (and random record conditions using
// every allowed operator), the customers the scoped query returns are exactly the customers that pass
// the engine's in-memory check over the whole collection. Also: the always-false scope matches nothing.
import test from 'ava';
import fc from 'fast-check';
import { testDatabase } from './helpers/services.ts';
import { createPolicyEngine, loadPolicy, ALWAYS_FALSE, type Grant } from '../policies/index.ts';
import { checkPolicyTexts } from '../policies/load.ts';
import { DEPARTMENTS, REGIONS, ROLES, CUSTOMER_STATUSES, CUSTOMER_TIERS, SALES_STAGES, PAYMENT_STATUSES, CREDIT_RATINGS, type Customer } from '../bot/core/domain.ts';
import type { Principal, Action, PolicyEngine } from '../policies/types.ts';

const db = await testDatabase(import.meta.url);
test.after.always(db.drop);
const collection = db.conn.collection('customers_plain');

const OWNERS = ['E-0011', 'E-0012', 'E-0013', 'E-0015', 'E-0099'];
const customerArb: fc.Arbitrary<Customer> = fc.record({
  customerId: fc.constant(''),
  name: fc.constant('x'),
  type: fc.constantFrom('person', 'company'),
  company: fc.constantFrom('Acme', '星河科技'),
  industry: fc.constantFrom('retail', 'energy'),
  region: fc.constantFrom(...REGIONS),
  tier: fc.constantFrom(...CUSTOMER_TIERS),
  ownerId: fc.constantFrom(...OWNERS),
  status: fc.constantFrom(...CUSTOMER_STATUSES),
  stage: fc.constantFrom(...SALES_STAGES),
  pipelineValue: fc.integer({ min: 0, max: 2_000_000 }),
  paymentStatus: fc.constantFrom(...PAYMENT_STATUSES),
  creditRating: fc.constantFrom(...CREDIT_RATINGS),
  openTickets: fc.nat(5),
  satisfaction: fc.integer({ min: 1, max: 5 }),
}, { requiredKeys: ['customerId', 'name', 'type', 'region', 'tier', 'ownerId', 'status'] }) as fc.Arbitrary<Customer>;

/** Runs per property: each run queries FerretDB, which scans the 400 customers (POLICY_SCOPE_RUNS=500 for a longer search). */
const RUNS = Number(process.env.POLICY_SCOPE_RUNS ?? 40);
const customers = fc.sample(customerArb, { numRuns: 400, seed: 42 }).map((c, i) => ({ ...c, customerId: `C-${String(i).padStart(6, '0')}` }));
test.before(async () => {
  await collection.insertMany(customers.map((c) => ({ ...c })));
});

const principalArb: fc.Arbitrary<Principal> = fc.record({
  employeeId: fc.constantFrom(...OWNERS),
  department: fc.constantFrom(...DEPARTMENTS),
  roles: fc.subarray([...ROLES], { minLength: 1, maxLength: 2 }),
  region: fc.constantFrom(...REGIONS),
  external: fc.boolean(),
  timezone: fc.constant('Asia/Shanghai'),
  managerId: fc.constantFrom('E-0011', 'E-0012'),
});
const ACTIONS_WITH_SCOPE: Action[] = ['lookup', 'reveal', 'export'];
const ctx = { channel: 'dm' as const, at: new Date('2026-03-02T02:00:00Z'), purpose: 'differential test' };

async function agree(engine: PolicyEngine & { decideWith: (...a: never[]) => unknown }, decision: Awaited<ReturnType<PolicyEngine['decide']>>): Promise<string | undefined> {
  const fromDb = (await collection.find({ $and: [decision.scope] }, { projection: { customerId: 1 } }).toArray()).map((d) => d.customerId as string).sort();
  const inMemory = customers.filter((c) => engine.inScope(decision, c)).map((c) => c.customerId).sort();
  if (fromDb.join() === inMemory.join()) return undefined;
  return `scope ${JSON.stringify(decision.scope)}: database ${fromDb.length} vs memory ${inMemory.length}`;
}

test('the always-false scope matches nothing on the real database', async (t) => {
  t.is(await collection.countDocuments({ $and: [ALWAYS_FALSE] }), 0);
  t.is(await collection.countDocuments({}), customers.length);
});

test('shipped policy: the scoped query and the in-memory check agree for random principals and grants', async (t) => {
  const engine = createPolicyEngine(loadPolicy('policies'));
  const grantArb = fc.option(fc.record({
    ids: fc.subarray(customers.map((c) => c.customerId), { minLength: 1, maxLength: 5 }),
    segment: fc.option(fc.record({ region: fc.constantFrom(...REGIONS), tier: fc.constantFrom(...CUSTOMER_TIERS) }), { nil: undefined }),
  }), { nil: undefined });
  let nonTrivial = 0;
  await fc.assert(fc.asyncProperty(principalArb, fc.constantFrom(...ACTIONS_WITH_SCOPE), grantArb, async (p, action, g) => {
    const grants: Grant[] = g ? [{
      grantId: 'G-x', granteeId: p.employeeId, groups: ['contact'], actions: [action], expiresAt: new Date('2030-01-01'),
      grantedBy: ['E-0001'], purpose: 'p', createdAt: new Date('2026-01-01'),
      target: g.segment ? { kind: 'segment', segmentId: 's', conditions: g.segment } : { kind: 'customers', customerIds: g.ids },
    }] : [];
    const decision = engine.decideWith(p, action, ctx, undefined, grants);
    const count = customers.filter((c) => engine.inScope(decision, c)).length;
    if (count > 0 && count < customers.length) nonTrivial++;
    const problem = await agree(engine, decision);
    if (problem) t.log(problem);
    return problem === undefined;
  }), { numRuns: RUNS });
  t.true(nonTrivial > RUNS / 4, `only ${nonTrivial} runs had a scope that was neither empty nor everything`);
});

// Random record conditions over every allowed operator, as policy YAML.
const condition = fc.oneof(
  fc.record({ region: fc.constantFrom(...REGIONS) }),
  fc.record({ tier: fc.record({ $in: fc.subarray([...CUSTOMER_TIERS]) }) }),
  fc.record({ status: fc.record({ $nin: fc.subarray([...CUSTOMER_STATUSES]) }) }),
  fc.record({ stage: fc.record({ $ne: fc.constantFrom(...SALES_STAGES) }) }),
  fc.record({ pipelineValue: fc.record({ $gte: fc.integer({ min: 0, max: 2_000_000 }) }) }),
  fc.record({ pipelineValue: fc.record({ $lt: fc.integer({ min: 0, max: 2_000_000 }) }) }),
  fc.record({ satisfaction: fc.record({ $gt: fc.integer({ min: 0, max: 5 }), $lte: fc.integer({ min: 1, max: 5 }) }) }),
  fc.record({ openTickets: fc.record({ $eq: fc.nat(5) }) }),
  fc.record({ industry: fc.record({ $exists: fc.boolean() }) }),
  fc.record({ stage: fc.record({ $exists: fc.boolean() }), creditRating: fc.constantFrom(...CREDIT_RATINGS) }),
  fc.constant({ ownerId: '$principal.employeeId' }),
  fc.constant({ region: '$principal.region' }),
  fc.constant({ ownerId: '$principal.managerId' }),
  fc.constant({ status: { $in: '$principal.roles' } }),
);

test('random record conditions: every allowed operator agrees between MongoDB and CASL', async (t) => {
  await fc.assert(fc.asyncProperty(fc.array(fc.option(condition, { nil: undefined }), { minLength: 1, maxLength: 3 }), principalArb, async (scopes, p) => {
    const rules = scopes.map((scope, i) => ({ id: `r${i}`, description: 'random', who: { external: 'any' }, actions: ['lookup'], ...(scope ? { scope } : {}) }));
    const { policy, problems } = checkPolicyTexts([{ file: 'random.yaml', text: JSON.stringify({ version: 1, rules }) }]);
    if (!policy) throw new Error(problems.map((x) => x.message).join('; '));
    const engine = createPolicyEngine(policy);
    const problem = await agree(engine, engine.decideWith(p, 'lookup', ctx, undefined, []));
    if (problem) t.log(problem);
    return problem === undefined;
  }), { numRuns: RUNS });
  t.pass();
});

test('frozen decision scopes go through mongoose casting unchanged (CustomerStore queries with them)', async (t) => {
  const { Schema } = await import('mongoose');
  const Model = db.conn.model('PlainCustomer', new Schema({ customerId: String, region: String, ownerId: String, pipelineValue: Number }, { collection: 'customers_plain', strict: false }));
  const engine = createPolicyEngine(loadPolicy('policies'));
  const rep: Principal = { employeeId: 'E-0012', department: 'sales', roles: ['staff'], region: 'east', external: false, timezone: 'Asia/Shanghai' };
  const decision = await engine.decide(rep, 'lookup', ctx);
  t.true(Object.isFrozen(decision.scope));
  const viaMongoose = (await Model.find({ $and: [decision.scope] }).lean()).map((d) => d.customerId as string).sort();
  t.deepEqual(viaMongoose, customers.filter((c) => engine.inScope(decision, c)).map((c) => c.customerId).sort());
  t.is(await Model.countDocuments({ $and: [ALWAYS_FALSE] }), 0);
});
