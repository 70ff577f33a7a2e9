// Grants on the real database: round trip, validation, expiry at the exact boundary (clock injected),
// revocation as compare-and-swap, and the engine widening a decision only while a grant is active.
import test from 'ava';
import { testDatabase } from './helpers/services.ts';
import { MongoGrantStore } from '../bot/store/grant-store.ts';
import type { Grant } from '../policies/grants.ts';
import { createPolicyEngine, loadPolicy } from '../policies/index.ts';
import { isCustosError, ErrorCode } from '../bot/core/errors.ts';
import type { Customer } from '../bot/core/domain.ts';
import type { Principal } from '../policies/types.ts';

const db = await testDatabase(import.meta.url);
const store = new MongoGrantStore(db.conn);
await store.ensureIndexes();
test.after.always(db.drop);

const T0 = new Date('2026-03-02T02:00:00Z'); // 10:00 in Shanghai, a Monday
const later = (ms: number) => new Date(T0.getTime() + ms);
let n = 0;

function grant(extra: Partial<Grant> = {}): Grant {
  n++;
  return {
    grantId: `G-${n}-${Math.random().toString(36).slice(2, 8)}`, granteeId: `E-9${n}`,
    target: { kind: 'customers', customerIds: ['C-000001'] }, groups: ['identity'], actions: ['lookup'],
    expiresAt: later(60_000), grantedBy: ['E-0060', 'E-0003'], purpose: 'contract renewal check', createdAt: T0,
    ...extra,
  };
}

test('a grant round-trips, segment conditions included', async (t) => {
  const g = grant({ target: { kind: 'segment', segmentId: 'east-gold', conditions: { region: 'east', tier: { $in: ['gold', 'platinum'] } } } });
  await store.create(g);
  t.deepEqual(await store.byId(g.grantId), g);
});

test('invalid grants are refused with every problem and nothing is written', async (t) => {
  const bad = grant({ grantedBy: [], purpose: ' ', target: { kind: 'segment', segmentId: 's', conditions: { $or: [] } } });
  bad.grantedBy = [bad.granteeId];
  const err = await t.throwsAsync(store.create(bad));
  t.true(isCustosError(err, ErrorCode.GrantInvalid));
  t.regex(err!.message, /cannot approve their own grant/);
  t.regex(err!.message, /purpose is required/);
  t.regex(err!.message, /top-level "\$or" is not allowed/);
  t.is(await store.byId(bad.grantId), null);
});

test('a duplicate grant id is refused', async (t) => {
  const g = grant();
  await store.create(g);
  const err = await t.throwsAsync(store.create({ ...g, purpose: 'other' }));
  t.true(isCustosError(err, ErrorCode.GrantInvalid));
  t.is((await store.byId(g.grantId))?.purpose, g.purpose);
});

test('expiry boundary: active 1 ms before expiresAt, expired exactly at it', async (t) => {
  const g = grant();
  await store.create(g);
  t.deepEqual((await store.activeFor(g.granteeId, later(59_999))).map((x) => x.grantId), [g.grantId]);
  t.deepEqual(await store.activeFor(g.granteeId, later(60_000)), []);
  t.deepEqual(await store.activeFor(g.granteeId, later(60_001)), []);
});

test('concurrent revocations: exactly one wins, and revoked grants never count', async (t) => {
  for (let i = 0; i < 10; i++) {
    const g = grant();
    await store.create(g);
    const results = await Promise.all(['E-0001', 'E-0002', 'E-0003'].map((by) => store.revoke(g.grantId, by, later(1))));
    const winners = results.filter((r) => r !== null);
    t.is(winners.length, 1);
    t.is((await store.byId(g.grantId))?.revokedBy, winners[0]!.revokedBy);
    t.deepEqual(await store.activeFor(g.granteeId, later(10)), []);
  }
});

test('a revocation counts even if copying it onto the grant was interrupted', async (t) => {
  const g = grant();
  await store.create(g);
  await db.conn.collection('grant_revocations').insertOne({ grantId: g.grantId, granteeId: g.granteeId, revokedAt: later(1), revokedBy: 'E-0001' });
  t.deepEqual(await store.activeFor(g.granteeId, later(10)), []);
  t.is((await store.byId(g.grantId))?.revokedBy, 'E-0001');
  t.is(await store.revoke(g.grantId, 'E-0002', later(20)), null);
});

test('offboarding revokes every active grant of the grantee', async (t) => {
  const a = grant({ granteeId: 'E-7777' });
  const b = grant({ granteeId: 'E-7777', expiresAt: later(120_000) });
  const expired = grant({ granteeId: 'E-7777', expiresAt: later(1) });
  for (const g of [a, b, expired]) await store.create(g);
  t.is(await store.revokeAllFor('E-7777', 'E-0001', later(1000)), 2);
  t.deepEqual(await store.activeFor('E-7777', later(1000)), []);
});

test('expiredBetween lists grants whose expiry fell in the window', async (t) => {
  const g = grant({ granteeId: 'E-5555', expiresAt: new Date('2030-01-01T00:00:00Z') });
  await store.create(g);
  const found = await store.expiredBetween(new Date('2029-12-31T23:59:59Z'), new Date('2030-01-01T00:00:00Z'));
  t.deepEqual(found.map((x) => x.grantId), [g.grantId]);
  t.deepEqual(await store.expiredBetween(new Date('2030-01-01T00:00:00Z'), new Date('2030-01-02T00:00:00Z')), []);
});

test('the engine widens a decision through the stored grant until, and not at, expiresAt', async (t) => {
  const engine = createPolicyEngine(loadPolicy('policies'), { grants: store });
  const rep: Principal = { employeeId: 'E-4242', department: 'sales', roles: ['staff'], region: 'east', external: false, timezone: 'Asia/Shanghai' };
  const customer: Customer = { customerId: 'C-000042', name: '张三', type: 'person', region: 'east', tier: 'gold', ownerId: 'E-0099', status: 'active', idNumber: '110101199003071234' };
  const g = grant({ granteeId: rep.employeeId, target: { kind: 'customers', customerIds: ['C-000042'] }, expiresAt: later(30 * 60_000) });
  await store.create(g);
  const before = await engine.decide(rep, 'lookup', { channel: 'dm', at: later(30 * 60_000 - 1) }, customer);
  t.is(before.fields.idNumber?.outcome, 'show');
  t.is(before.fields.idNumber?.grantId, g.grantId);
  t.deepEqual(before.grantIds, [g.grantId]);
  const atExpiry = await engine.decide(rep, 'lookup', { channel: 'dm', at: later(30 * 60_000) }, customer);
  t.is(atExpiry.fields.idNumber?.outcome, 'hide');
  t.deepEqual(atExpiry.grantIds, []);
});
