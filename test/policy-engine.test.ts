// The engine's decisions as a caller sees them: fail-closed refusals with stable reasons, explained
// field outcomes, context rules in the employee's timezone, approvals, grants, audiences and the cache.
import test from 'ava';
import { createPolicyEngine, loadPolicy, principalOf, ALWAYS_FALSE, MemoryGrantStore, type Grant } from '../policies/index.ts';
import { checkPolicyTexts, type Policy } from '../policies/load.ts';
import { demoEmployee } from '../bot/store/demo-company.ts';
import type { Customer } from '../bot/core/domain.ts';
import type { DecisionContext, Principal } from '../policies/types.ts';

const policy = loadPolicy('policies');
const engine = createPolicyEngine(policy);
const MON_10_SHANGHAI = new Date('2026-03-02T02:00:00Z');
const dm = (at = MON_10_SHANGHAI, purpose?: string): DecisionContext => ({ channel: 'dm', at, ...(purpose ? { purpose } : {}) });

const rep = principalOf(demoEmployee('salesRep')); // E-0012, sales staff, east
const base: Customer = { customerId: 'C-000001', name: '张三', type: 'person', region: 'east', tier: 'gold', ownerId: 'E-0099', status: 'active', phone: '13800135678', idNumber: '110101199003071234' };
const own: Customer = { ...base, customerId: 'C-000002', ownerId: rep.employeeId, region: 'west' };
const elsewhere: Customer = { ...base, customerId: 'C-000003', region: 'south' };

function inline(yaml: string): Policy {
  const { policy: p, problems } = checkPolicyTexts([{ file: 'inline.yaml', text: yaml }]);
  if (!p) throw new Error(problems.map((x) => x.message).join('; '));
  return p;
}

test('no rule: refused with no_rule, an always-false scope and every field hidden', async (t) => {
  const itStaff: Principal = { ...rep, department: 'it', roles: ['staff'] };
  const d = await engine.decide(itStaff, 'lookup', dm(), base);
  t.false(d.allowed);
  t.is(d.denyReason, 'no_rule');
  t.deepEqual(d.scope, ALWAYS_FALSE);
  t.true(Object.values(d.fields).every((f) => f.outcome === 'hide'));
  t.false(engine.inScope(d, base));
});

test('external users get nothing no rule names them for: external_denied', async (t) => {
  const guest = principalOf(demoEmployee('guestPartner'));
  const d = await engine.decide(guest, 'export', dm(undefined, 'x'));
  t.is(d.denyReason, 'external_denied');
});

test('each field is explained with the rule that decided it', async (t) => {
  const mine = await engine.decide(rep, 'lookup', dm(), own);
  t.deepEqual(mine.fields.phone, { outcome: 'show', ruleIds: ['sales.own-accounts'], reason: 'shown by sales.own-accounts' });
  const region = await engine.decide(rep, 'lookup', dm(), base);
  t.deepEqual(region.fields.phone, { outcome: 'mask:phone', ruleIds: ['sales.region'], reason: 'masked as phone by sales.region' });
  t.deepEqual(region.fields.idNumber, { outcome: 'hide', ruleIds: [], reason: 'no rule shows this field' });
  t.true(region.ruleIds.includes('sales.region'));
  const out = await engine.decide(rep, 'lookup', dm(), elsewhere);
  t.false(out.allowed);
  t.is(out.denyReason, 'out_of_scope');
});

test('the scope filter is what CASL derives from the applying rules, with variables substituted', async (t) => {
  const d = await engine.decide(rep, 'lookup', dm());
  t.deepEqual(d.scope, { $or: [{ ownerId: 'E-0012' }, { region: 'east' }] });
  t.true(engine.inScope(d, base));
  t.true(engine.inScope(d, own));
  t.false(engine.inScope(d, elsewhere));
  t.false(engine.inScope(JSON.parse(JSON.stringify(d)), base), 'a decision the engine did not make proves nothing');
});

test('working hours are checked in the employee\'s own timezone; unknown zones fail closed', async (t) => {
  const la = principalOf(demoEmployee('salesRepOverseas'));
  const mon9LA = new Date('2026-03-02T17:00:00Z'); // Mon 09:00 in Los Angeles, Tue 01:00 in Shanghai
  t.true((await engine.decide(la, 'lookup', dm(mon9LA))).allowed);
  const shanghai = await engine.decide(rep, 'lookup', dm(mon9LA));
  t.is(shanghai.denyReason, 'off_hours');
  t.deepEqual(shanghai.ruleIds, ['ctx.staff-working-hours']);
  t.is((await engine.decide({ ...rep, timezone: 'Mars/Olympus' }, 'lookup', dm())).denyReason, 'off_hours');
  const lead = principalOf(demoEmployee('salesLeadEast'));
  t.true((await engine.decide(lead, 'lookup', dm(mon9LA))).allowed, 'leads are not bound to working hours');
  t.true((await engine.decide(principalOf(demoEmployee('supportAgent')), 'lookup', dm(new Date('2026-03-01T18:00:00Z')))).allowed, 'support is 24/7');
});

test('channel rules: guests only in DMs, reveals never in public', async (t) => {
  const guest = principalOf(demoEmployee('guestPartner'));
  const customer: Customer = { ...base, region: 'overseas', type: 'company', company: 'Acme' };
  const at = new Date('2026-03-02T02:00:00Z');
  t.true((await engine.decide(guest, 'lookup', { channel: 'dm', at }, customer)).allowed);
  t.is((await engine.decide(guest, 'lookup', { channel: 'private', at }, customer)).denyReason, 'channel_denied');
  t.is((await engine.decide(rep, 'reveal', { channel: 'public', at }, own)).denyReason, 'channel_denied');
});

test('purpose: required for marketing lookups; blank does not count', async (t) => {
  const mk = principalOf(demoEmployee('marketingStaff'));
  const none = await engine.decide(mk, 'lookup', dm());
  t.is(none.denyReason, 'purpose_required');
  t.true(none.purposeRequired);
  t.is((await engine.decide(mk, 'lookup', { channel: 'dm', at: MON_10_SHANGHAI, purpose: '   ' })).denyReason, 'purpose_required');
  const ok = await engine.decide(mk, 'lookup', dm(undefined, 'spring campaign'), base);
  t.true(ok.allowed);
  t.true(ok.purposeRequired);
  t.is(ok.fields.phone?.outcome, 'mask:mobile.strict');
});

test('approvals say who must approve widening each group that is not fully shown', async (t) => {
  const d = await engine.decide(rep, 'lookup', dm(), base);
  t.deepEqual(d.approvals.identity, {
    approvers: [{ kind: 'department_head', department: 'legal' }, { kind: 'role', role: 'dpo' }],
    quorum: 2, maxDurationMinutes: 60, reasonRequired: true, selfApproval: false, ruleId: 'approval.identity',
  });
  t.deepEqual(d.approvals.contact?.approvers, [{ kind: 'manager' }, { kind: 'department_head', department: 'sales' }]);
  t.is(d.approvals.profile, undefined, 'profile is fully shown');
  const guest = await engine.decide(principalOf(demoEmployee('guestPartner')), 'lookup', dm(), { ...base, region: 'overseas', type: 'company' });
  t.deepEqual(guest.approvals, {}, 'guests cannot ask');
});

function grant(extra: Partial<Grant>): Grant {
  return {
    grantId: 'G-1', granteeId: rep.employeeId, target: { kind: 'customers', customerIds: [elsewhere.customerId] },
    groups: ['identity', 'contact'], actions: ['lookup'], expiresAt: new Date(MON_10_SHANGHAI.getTime() + 3_600_000),
    grantedBy: ['E-0060', 'E-0003'], purpose: 'dispute', createdAt: MON_10_SHANGHAI, ...extra,
  };
}

test('a grant widens scope and fields for its customers, groups and actions only', async (t) => {
  const withGrants = createPolicyEngine(policy, { grants: new MemoryGrantStore([grant({})]) });
  const scoped = await withGrants.decide(rep, 'lookup', dm());
  t.deepEqual(scoped.grantIds, ['G-1']);
  t.true(withGrants.inScope(scoped, elsewhere));
  t.deepEqual(scoped.scope, { $or: [{ customerId: { $in: ['C-000003'] } }, { region: 'east' }, { ownerId: 'E-0012' }] });
  const d = await withGrants.decide(rep, 'lookup', dm(), elsewhere);
  t.true(d.allowed);
  t.deepEqual(d.fields.idNumber, { outcome: 'show', ruleIds: ['grant:G-1'], reason: 'shown by grant G-1 until 2026-03-02T03:00:00.000Z', grantId: 'G-1' });
  t.is(d.fields.contractAmount?.outcome, 'hide', 'groups outside the grant stay as policy says');
  t.false((await withGrants.decide(rep, 'reveal', dm(), elsewhere)).allowed, 'other actions are not widened');
  const offHours = await withGrants.decide(rep, 'lookup', dm(new Date('2026-03-02T14:00:00Z')), elsewhere);
  t.is(offHours.denyReason, 'off_hours', 'grants do not bypass context rules');
});

test('expired (exactly at expiresAt) and revoked grants never count', async (t) => {
  const store = new MemoryGrantStore([grant({}), grant({ grantId: 'G-2', revokedAt: MON_10_SHANGHAI, revokedBy: 'E-0001' })]);
  const e = createPolicyEngine(policy, { grants: store });
  const expiry = new Date(MON_10_SHANGHAI.getTime() + 3_600_000);
  t.true((await e.decide(rep, 'lookup', dm(new Date(expiry.getTime() - 1)), elsewhere)).allowed);
  const at = await e.decide(rep, 'lookup', dm(expiry), elsewhere);
  t.false(at.allowed);
  t.is(at.denyReason, 'out_of_scope');
  // A store that hands back stale grants still cannot widen: the engine re-checks with the decision's time.
  const stale = createPolicyEngine(policy, { grants: { activeFor: async () => [grant({}), grant({ grantId: 'G-2', revokedAt: MON_10_SHANGHAI })] } });
  t.false((await stale.decide(rep, 'lookup', dm(expiry), elsewhere)).allowed);
  t.deepEqual((await stale.decide(rep, 'lookup', dm(), elsewhere)).grantIds, ['G-1']);
});

test('decideAs: one grant read for a whole lookup, the same decisions as decide, expiry still exact', async (t) => {
  const store = new MemoryGrantStore([grant({})]);
  let reads = 0;
  const counting = { activeFor: (id: string, at: Date) => { reads++; return store.activeFor(id, at); } };
  const e = createPolicyEngine(policy, { grants: counting });
  const decideAs = await e.decideAs(rep, MON_10_SHANGHAI);
  t.deepEqual(decideAs('lookup', dm()), await e.decide(rep, 'lookup', dm()));
  t.deepEqual(decideAs('lookup', dm(), elsewhere), await e.decide(rep, 'lookup', dm(), elsewhere));
  t.is(reads, 3, 'decideAs read once, each decide once');
  decideAs('lookup', dm(), elsewhere);
  decideAs('reveal', dm(), elsewhere);
  t.is(reads, 3, 'further decisions on the snapshot read nothing');
  // The snapshot's grants are re-checked against each decision's own time: one taken before the expiry
  // cannot widen a decision made at it.
  const expiry = new Date(MON_10_SHANGHAI.getTime() + 3_600_000);
  t.false(decideAs('lookup', dm(expiry), elsewhere).allowed);
  // A grant created after the snapshot is not in it (the lookup's decisions stay consistent).
  await store.create(grant({ grantId: 'G-9', target: { kind: 'customers', customerIds: ['C-999999'] } }));
  t.deepEqual(decideAs('lookup', dm()).grantIds, ['G-1']);
  t.deepEqual((await e.decide(rep, 'lookup', dm())).grantIds, ['G-1', 'G-9']);
});

test('segment grants widen for the customers their conditions match', async (t) => {
  const seg = grant({ target: { kind: 'segment', segmentId: 'south-gold', conditions: { region: 'south', tier: 'gold' } } });
  const e = createPolicyEngine(policy, { grants: new MemoryGrantStore([seg]) });
  t.true((await e.decide(rep, 'lookup', dm(), elsewhere)).allowed);
  t.false((await e.decide(rep, 'lookup', dm(), { ...elsewhere, tier: 'silver' })).allowed);
});

test('audience: strictest outcome per field; an unknown member refuses the whole card', async (t) => {
  const support = principalOf(demoEmployee('supportAgent'));
  const finance = principalOf(demoEmployee('financeClerk'));
  const a = await engine.decideForAudience([rep, support], 'lookup', dm(), { ...own, region: 'east' });
  t.true(a.allowed);
  t.is(a.fields.phone?.outcome, 'mask:phone', 'rep alone sees it in full, support masked');
  t.is(a.fields.stage?.outcome, 'show');
  const b = await engine.decideForAudience([rep, finance], 'lookup', dm(), { ...own, region: 'east' });
  t.is(b.fields.phone?.outcome, 'hide');
  t.is(b.fields.email?.outcome, 'mask:email');
  const c = await engine.decideForAudience([rep, null], 'lookup', dm(), own);
  t.false(c.allowed);
  t.is(c.denyReason, 'unknown_member');
  t.deepEqual(c.scope, ALWAYS_FALSE);
  t.is((await engine.decideForAudience([], 'lookup', dm(), own)).denyReason, 'empty_audience');
  const scoped = await engine.decideForAudience([rep, principalOf(demoEmployee('salesRepSouth'))], 'lookup', dm());
  t.deepEqual(scoped.scope, { $and: [{ $or: [{ ownerId: 'E-0012' }, { region: 'east' }] }, { $or: [{ ownerId: 'E-0015' }, { region: 'south' }] }] });
  t.false(engine.inScope(scoped, base));
});

test('abilities are compiled once per principal attributes, not per request', async (t) => {
  const e = createPolicyEngine(policy);
  for (let i = 0; i < 500; i++) await e.decide({ ...rep, roles: [...rep.roles] }, 'lookup', dm(), base);
  t.is(e.cacheSize, 1);
  await e.decide({ ...rep, employeeId: 'E-0013' }, 'lookup', dm(), base); // rules use employeeId, so it is part of the key
  t.is(e.cacheSize, 2);
  const first = await e.decide(rep, 'lookup', dm(), base);
  t.is(await e.decide(rep, 'lookup', dm(), { ...base, customerId: 'C-000009' }), first, 'same matching rules: the same frozen decision');
  t.throws(() => { (first.fields as Record<string, unknown>).phone = { outcome: 'show' }; });
});

test('a missing managerId matches nothing; roles work with $in', async (t) => {
  const p = inline(`version: 1
rules:
  - { id: mgr, description: d, who: {}, actions: [lookup], scope: { ownerId: $principal.managerId }, fields: { name: show } }
  - { id: roles, description: d, who: {}, actions: [reveal], scope: { tier: { $in: $principal.roles } }, fields: { name: show } }
`);
  const e = createPolicyEngine(p);
  const noManager: Principal = { ...rep, managerId: undefined };
  delete noManager.managerId;
  t.false((await e.decide(noManager, 'lookup', dm(), { ...base, ownerId: '' })).allowed);
  t.true((await e.decide({ ...rep, managerId: 'E-0011' }, 'lookup', dm(), { ...base, ownerId: 'E-0011' })).allowed);
  t.false((await e.decide({ ...rep, roles: ['staff'] }, 'reveal', dm(), base)).allowed);
});

test('other actions carry no fields; approve and admin follow their rules', async (t) => {
  const head = principalOf(demoEmployee('legalHead'));
  const d = await engine.decide(head, 'approve', dm());
  t.true(d.allowed);
  t.deepEqual(d.fields, {});
  t.false((await engine.decide(rep, 'approve', dm())).allowed);
  t.true((await engine.decide(principalOf(demoEmployee('admin')), 'admin', dm())).allowed);
  t.is((await engine.decide(principalOf(demoEmployee('auditor')), 'audit.query', dm())).denyReason, 'purpose_required');
});

test('a principal object changed in place is decided by its new attributes, not a cached compilation', async (t) => {
  const e = createPolicyEngine(policy);
  const p: Principal = { ...rep, roles: ['staff'] };
  t.false((await e.decide(p, 'approve', dm())).allowed);
  p.roles.push('head');
  t.true((await e.decide(p, 'approve', dm())).allowed);
  p.roles.splice(0, 2, 'staff');
  p.department = 'legal';
  const d = await e.decide(p, 'lookup', dm(), base);
  t.is(d.fields.contracts?.outcome, 'show');
  t.deepEqual(d.fields.contracts?.ruleIds, ['legal.all']);
});

test('working hours follow daylight saving time in the employee\'s zone', async (t) => {
  const la = principalOf(demoEmployee('salesRepOverseas'));
  // 2026-03-08: Los Angeles moves from UTC-8 to UTC-7. 15:30Z on Monday the 9th is 08:30 PDT (inside);
  // with the winter offset it would be 07:30 (outside).
  t.true((await engine.decide(la, 'lookup', dm(new Date('2026-03-09T15:30:00Z')))).allowed);
  // The Friday before, 15:30Z is 07:30 PST: outside.
  t.is((await engine.decide(la, 'lookup', dm(new Date('2026-03-06T15:30:00Z')))).denyReason, 'off_hours');
  // 20:00 local is the first minute outside; 19:59 the last inside.
  t.true((await engine.decide(rep, 'lookup', dm(new Date('2026-03-02T11:59:00Z')))).allowed);
  t.is((await engine.decide(rep, 'lookup', dm(new Date('2026-03-02T12:00:00Z')))).denyReason, 'off_hours');
});
