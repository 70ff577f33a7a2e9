// A model-based test of the approval state machine (fast-check asyncModelRun) against the real stores
// (MongoRequestStore and MongoGrantStore on the test database) and the real policy engine, with a policy
// GENERATED per run: the groups contact / identity / finance each get their own approvers (manager,
// department heads, roles), quorum 1–3 and maximum duration. Generated histories submit requests (with
// empty, single and multi-group selections), click Approve / Deny (alone and in concurrent bursts, by
// eligible approvers, by people with no say, by the requester), cancel, offboard people mid-flight, move
// the clock and sweep (reminders, escalation, expiry), and lose the audit queue exactly between a won
// compare-and-swap and its decision event. After EVERY command:
//   (a) a grant covers group G only if ≥ quorum(G) distinct approvers eligible for G (by the generated
//       policy, computed here independently of the service) approved the request while active, and it
//       covers exactly the groups asked;
//   (b) each request has at most one decision, and the audit log's decision events equal the stored
//       decisions one for one (and every approved request has its grant: no half-done decision survives
//       a sweep);
//   (c) nobody approves their own request;
//   (d) every refused click has an audit event (`request.vote` denied or `request.lost`);
//   (e) no grant is usable after its expiry (the engine's decision at now never cites an expired grant).
// Runs: FC_RUNS (default 100) and FC_COMMANDS (default 25); FC_SEED replays a failure. For a longer hunt:
//   FC_RUNS=500 npm test -- test/approval-model.test.ts
import test from 'ava';
import fc from 'fast-check';
import type { Connection } from 'mongoose';
import type { AuditEventInput, AuditRecorder } from '../bot/core/audit.ts';
import { parseAuditEvent } from '../bot/core/audit-event.ts';
import { AlreadyDecided, AlreadyPending, ApprovalRefused } from '../bot/core/approvals/errors.ts';
import { ApprovalService, type ApprovalNotifier } from '../bot/core/approvals/service.ts';
import { approvalSettingsOf } from '../bot/core/approvals/settings.ts';
import type { AccessRequest } from '../bot/core/approvals/types.ts';
import { type Customer, type Department, type Employee, type FieldGroup, type Role } from '../bot/core/domain.ts';
import { CustosError, ErrorCode } from '../bot/core/errors.ts';
import { principalOf } from '../bot/core/identity.ts';
import type { CustomerReader } from '../bot/core/ports.ts';
import { GRANT_COLLECTION, MongoGrantStore, REVOCATION_COLLECTION } from '../bot/store/grant-store.ts';
import { ASK_COLLECTION, DECISION_COLLECTION, MongoRequestStore, NOTICE_COLLECTION, REQUEST_COLLECTION, VOTE_COLLECTION } from '../bot/store/request-store.ts';
import { createPolicyEngine, type PolicyEngineImpl } from '../policies/index.ts';
import { checkPolicyTexts } from '../policies/load.ts';
import { testDatabase } from './helpers/services.ts';

const RUNS = Number(process.env.FC_RUNS ?? 100);
const COMMANDS = Number(process.env.FC_COMMANDS ?? 25);
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const MINUTE = 60_000;
const GROUPS = ['contact', 'identity', 'finance'] as const satisfies readonly FieldGroup[];
type Group = (typeof GROUPS)[number];
const DECISION_ACTIONS: Record<string, AccessRequest['status']> = { 'request.approve': 'approved', 'request.deny': 'denied', 'request.cancel': 'cancelled', 'request.expire': 'expired' };

// ---- the generated policy ------------------------------------------------------------------------------

type Spec = { kind: 'manager' } | { kind: 'department_head'; department: Department } | { kind: 'role'; role: Role };
interface Requirement { approvers: Spec[]; quorum: number; maxDurationMinutes: number }
type PolicySpec = Record<Group, Requirement>;

const specArb = fc.constantFrom<Spec>(
  { kind: 'manager' }, { kind: 'department_head', department: 'sales' }, { kind: 'department_head', department: 'legal' },
  { kind: 'department_head', department: 'finance' }, { kind: 'role', role: 'dpo' }, { kind: 'role', role: 'auditor' },
);
const requirementArb: fc.Arbitrary<Requirement> = fc.record({
  approvers: fc.uniqueArray(specArb, { minLength: 1, maxLength: 3, selector: (s) => JSON.stringify(s) }),
  quorum: fc.constantFrom(1, 1, 2, 3),
  maxDurationMinutes: fc.constantFrom(30, 60, 240, 1440),
});
const policyArb: fc.Arbitrary<PolicySpec> = fc.record({ contact: requirementArb, identity: requirementArb, finance: requirementArb });

function policyText(p: PolicySpec): string {
  return JSON.stringify({
    version: 1,
    rules: [
      { id: 'staff.request', description: 'anyone may ask', actions: ['request'] },
      { id: 'lookup.profile', description: 'everyone sees profiles; the rest needs a grant', actions: ['lookup'], fields: { profile: 'show' } },
      { id: 'approve.all', description: 'the approval requirement says who decides', actions: ['approve'] },
    ],
    approvals: GROUPS.map((g) => ({ id: `approval.${g}`, description: `${g} needs approval`, groups: [g], ...p[g] })),
  });
}

// ---- staff and customers -------------------------------------------------------------------------------

function person(employeeId: string, department: Department, roles: Role[], managerId?: string): Employee {
  return {
    employeeId, email: `${employeeId.toLowerCase()}@example.test`, name: `N${employeeId.slice(2)}`, department, roles, region: 'east',
    timezone: 'Asia/Shanghai', locale: 'en', status: 'active', external: false, chat: {}, ...(managerId ? { managerId } : {}),
  };
}

const ROSTER: Employee[] = [
  person('E-0101', 'sales', ['staff'], 'E-0201'),
  person('E-0102', 'sales', ['staff'], 'E-0202'),
  person('E-0103', 'support', ['staff'], 'E-0203'),
  person('E-0201', 'sales', ['lead'], 'E-0301'),
  person('E-0202', 'sales', ['lead'], 'E-0301'),
  person('E-0203', 'support', ['lead']),
  person('E-0301', 'sales', ['head']),
  person('E-0302', 'legal', ['head']),
  person('E-0303', 'legal', ['head']),
  person('E-0304', 'finance', ['head']),
  person('E-0401', 'compliance', ['dpo']),
  person('E-0402', 'compliance', ['dpo']),
  person('E-0403', 'compliance', ['auditor']),
  person('E-0501', 'marketing', ['staff']),
];
// Two of the requesters are approvers themselves (a legal head, a DPO): their own clicks are self-approvals.
const REQUESTERS = ['E-0101', 'E-0102', 'E-0103', 'E-0302', 'E-0401'];
const CUSTOMERS: Customer[] = ['C-000001', 'C-000002'].map((customerId) => ({
  customerId, name: 'Acme', type: 'company', region: 'east', tier: 'gold', ownerId: 'E-0999', status: 'active',
  phone: '13800000000', email: 'a@acme.test', idNumber: '110101199001011234', bankAccount: '6222020000000000000',
}));

class Directory {
  readonly people = new Map<string, Employee>();
  constructor() { for (const e of ROSTER) this.people.set(e.employeeId, structuredClone(e)); }
  async byId(id: string): Promise<Employee | null> { const e = this.people.get(id); return e ? structuredClone(e) : null; }
  async all(): Promise<Employee[]> { return [...this.people.values()].map((e) => structuredClone(e)); }
}

const customers: CustomerReader = {
  find: async (q) => CUSTOMERS.filter((c) => q.kind === 'id' && c.customerId === q.value),
  stream: async function* () { /* exports are not part of this model */ },
};

/** Eligibility by the generated policy, computed here and not taken from the service. */
function eligibleFor(req: Requirement, approver: Employee, requester: Employee): boolean {
  if (approver.employeeId === requester.employeeId || approver.external) return false;
  return req.approvers.some((s) => (s.kind === 'manager' ? requester.managerId === approver.employeeId
    : s.kind === 'role' ? approver.roles.includes(s.role) : approver.roles.includes('head') && approver.department === s.department));
}

// ---- the audit log: one record per event id, validated like the real producer ---------------------------

class RecordingAudit implements AuditRecorder {
  readonly events = new Map<string, AuditEventInput>();
  /** Fails decision events only: the audit queue lost between the compare-and-swap and its event. */
  failDecisions = false;
  async record(event: AuditEventInput): Promise<void> {
    const parsed = parseAuditEvent(event);
    if (this.failDecisions && parsed.action in DECISION_ACTIONS) throw new CustosError(ErrorCode.AuditUnavailable, 'audit queue down (test)');
    if (!this.events.has(parsed.eventId)) this.events.set(parsed.eventId, parsed);
  }
  list(): AuditEventInput[] { return [...this.events.values()]; }
}

const notifier: ApprovalNotifier = { postCard: async () => null, updateCard: async () => undefined, tell: async () => undefined, showReveal: async () => undefined };

// ---- model and real system -----------------------------------------------------------------------------

interface ModelRequest { id: string; requester: string; customerId: string; groups: Group[]; approvedBy: Set<string> }
interface Model { policy: PolicySpec; requests: ModelRequest[]; refused: Map<string, number> }
interface Real { svc: ApprovalService; requests: MongoRequestStore; engine: PolicyEngineImpl; dir: Directory; audit: RecordingAudit; clock: { t: number; now(): Date }; conn: Connection }

const refusedKey = (actor: string, requestId: string) => `${actor}|${requestId}`;

/** What a click came to: counted (voted or decided), refused (a refusal or "already decided"), or the audit failed. */
async function click(run: () => Promise<unknown>): Promise<'counted' | 'refused' | 'unrecorded'> {
  try {
    await run();
    return 'counted';
  } catch (err) {
    if (err instanceof ApprovalRefused || err instanceof AlreadyDecided) return 'refused';
    if (err instanceof CustosError && err.code === ErrorCode.AuditUnavailable) return 'unrecorded';
    throw err;
  }
}

function noteClick(m: Model, r: ModelRequest, clicker: Employee, vote: 'approve' | 'deny', outcome: Awaited<ReturnType<typeof click>>): void {
  const requester = ROSTER.find((e) => e.employeeId === r.requester)!;
  const mayDecide = clicker.status === 'active' && r.groups.some((g) => eligibleFor(m.policy[g], clicker, requester));
  if (outcome !== 'refused' && !mayDecide) throw new Error(`${vote} by ${clicker.employeeId} (${clicker.status}) on ${r.id} was accepted, but they have no say`);
  if (outcome === 'refused') m.refused.set(refusedKey(clicker.employeeId, r.id), (m.refused.get(refusedKey(clicker.employeeId, r.id)) ?? 0) + 1);
  // A click that reached the compare-and-swap counts even when its decision event could not be written yet.
  if (outcome !== 'refused' && vote === 'approve') r.approvedBy.add(clicker.employeeId);
}

const pick = <T>(list: readonly T[], i: number): T => list[i % list.length]!;

type Cmd = fc.AsyncCommand<Model, Real>;

class Submit implements Cmd {
  constructor(readonly requester: number, readonly customer: number, readonly groups: Group[], readonly minutes: number) {}
  check(): boolean { return true; }
  async run(m: Model, r: Real): Promise<void> {
    const who = (await r.dir.byId(pick(REQUESTERS, this.requester)))!;
    if (who.status !== 'active') return;
    const customerId = pick(CUSTOMERS, this.customer).customerId;
    const same = await pendingIdentical(m, r, who.employeeId, customerId, this.groups);
    let created: AccessRequest;
    try {
      created = await r.svc.submit(who, { target: { kind: 'access', customerId }, purpose: 'customer callback', durationMinutes: this.minutes, groups: this.groups }, { platform: 'slack', channel: 'D1', channelKind: 'dm' });
    } catch (err) {
      if (!(err instanceof ApprovalRefused)) throw err;
      if (this.groups.length === 0 && err.reason !== 'groups_required') throw new Error(`an empty selection was refused as ${err.reason}, not groups_required`, { cause: err });
      if (err instanceof AlreadyPending && err.existing.requestId !== same?.id) throw new Error(`refused as a duplicate of ${err.existing.requestId}, but the pending identical one is ${same?.id ?? 'none'}`, { cause: err });
      const valid = this.groups.length > 0 && this.minutes <= Math.min(...this.groups.map((g) => m.policy[g].maxDurationMinutes));
      if (same && valid && !(err instanceof AlreadyPending)) throw new Error(`an identical pending request ${same.id} was refused as ${err.reason}, not returned`, { cause: err });
      return;
    }
    if (this.groups.length === 0) throw new Error('an empty group selection was accepted');
    const max = Math.min(...this.groups.map((g) => m.policy[g].maxDurationMinutes));
    if (this.minutes > max) throw new Error(`${this.minutes} minutes accepted above the maximum ${max}`);
    if (same) throw new Error(`an identical pending request ${same.id} was duplicated as ${created.requestId}`);
    m.requests.push({ id: created.requestId, requester: who.employeeId, customerId, groups: [...new Set(this.groups)].sort(), approvedBy: new Set() });
  }
  toString(): string { return `submit(${pick(REQUESTERS, this.requester)}, ${this.groups.join('+') || '∅'}, ${this.minutes}m)`; }
}

async function pendingIdentical(m: Model, r: Real, requester: string, customerId: string, groups: Group[]): Promise<ModelRequest | undefined> {
  const wanted = [...new Set(groups)].sort().join(',');
  for (const x of m.requests) {
    if (x.requester !== requester || x.customerId !== customerId || x.groups.join(',') !== wanted) continue;
    if ((await r.requests.get(x.id))?.status === 'pending') return x;
  }
  return undefined;
}

/** A clicker: mostly someone the policy lets decide on some group of the request, else anyone on the roster. */
interface Clicker { who: number; vote: 'approve' | 'deny'; eligible: boolean }
function clickerOf(m: Model, r: ModelRequest, c: Clicker): Employee {
  const requester = ROSTER.find((e) => e.employeeId === r.requester)!;
  const eligible = ROSTER.filter((e) => r.groups.some((g) => eligibleFor(m.policy[g], e, requester)));
  return pick(c.eligible && eligible.length ? eligible : ROSTER, c.who);
}

class Vote implements Cmd {
  constructor(readonly clickers: Clicker[], readonly request: number, readonly auditDropsDecision = false) {}
  check(m: Model): boolean { return m.requests.length > 0; }
  async run(m: Model, r: Real): Promise<void> {
    const target = pick(m.requests, this.request);
    const clickers = await Promise.all(this.clickers.map(async (c) => ({ ...c, e: (await r.dir.byId(clickerOf(m, target, c).employeeId))! })));
    r.audit.failDecisions = this.auditDropsDecision;
    let outcomes: Awaited<ReturnType<typeof click>>[];
    try {
      outcomes = await Promise.all(clickers.map((c) => click(() => (c.vote === 'approve' ? r.svc.approve(c.e, target.id) : r.svc.deny(c.e, target.id, 'not needed')))));
    } finally {
      r.audit.failDecisions = false;
    }
    clickers.forEach((c, i) => noteClick(m, target, c.e, c.vote, outcomes[i]!));
    if (this.auditDropsDecision) {
      // The sweeper finishes a decision whose event could not be written, once the audit queue is back.
      r.clock.t += 5 * MINUTE;
      await r.svc.sweep();
    }
  }
  toString(): string {
    return `${this.auditDropsDecision ? 'auditDropsDecision:' : ''}votes(#${this.request}: ${this.clickers.map((c) => `${c.vote} by ${c.who}${c.eligible ? '(eligible)' : ''}`).join(', ')})`;
  }
}

class Cancel implements Cmd {
  constructor(readonly request: number) {}
  check(m: Model): boolean { return m.requests.length > 0; }
  async run(m: Model, r: Real): Promise<void> {
    const target = pick(m.requests, this.request);
    const requester = (await r.dir.byId(target.requester))!;
    const outcome = await click(() => r.svc.cancel(requester, target.id));
    if (outcome === 'refused') m.refused.set(refusedKey(requester.employeeId, target.id), (m.refused.get(refusedKey(requester.employeeId, target.id)) ?? 0) + 1);
  }
  toString(): string { return `cancel(#${this.request})`; }
}

class Offboard implements Cmd {
  constructor(readonly who: number) {}
  check(): boolean { return true; }
  async run(_m: Model, r: Real): Promise<void> {
    const e = r.dir.people.get(pick(ROSTER, this.who).employeeId)!;
    e.status = 'offboarded';
    await r.svc.cancelAllOf(e.employeeId, 'offboarded');
  }
  toString(): string { return `offboard(${pick(ROSTER, this.who).employeeId})`; }
}

class Advance implements Cmd {
  constructor(readonly minutes: number) {}
  check(): boolean { return true; }
  async run(_m: Model, r: Real): Promise<void> {
    r.clock.t += this.minutes * MINUTE;
    await r.svc.sweep();
  }
  toString(): string { return `advance(${this.minutes}m)+sweep`; }
}

// ---- the invariants ------------------------------------------------------------------------------------

async function invariants(m: Model, r: Real): Promise<void> {
  const now = r.clock.now();
  const events = r.audit.list();
  const grants = await r.conn.collection(GRANT_COLLECTION).find({}).toArray();
  for (const x of m.requests) {
    const stored = (await r.requests.get(x.id))!;
    const requester = ROSTER.find((e) => e.employeeId === x.requester)!;
    // (b) one decision, recorded once, equal to the stored one; an approved request has its grant.
    const decisions = events.filter((e) => e.requestId === x.id && e.action in DECISION_ACTIONS);
    const expected = stored.status === 'pending' ? 0 : 1;
    if (decisions.length !== expected) throw new Error(`(b) ${x.id} is ${stored.status} with ${decisions.length} decision events: ${decisions.map((e) => e.action).join(', ')}`);
    if (decisions[0] && DECISION_ACTIONS[decisions[0].action] !== stored.status) throw new Error(`(b) ${x.id} is ${stored.status} but its decision event is ${decisions[0].action}`);
    const grant = grants.find((g) => g.requestId === x.id);
    if (stored.status === 'approved' && !grant) throw new Error(`(b) ${x.id} is approved without its grant (a half-done decision)`);
    // (c) never approved by the requester.
    if (stored.decidedBy?.includes(x.requester) && stored.status === 'approved') throw new Error(`(c) ${x.id} approved by its requester`);
    if (grant) {
      if (stored.status !== 'approved') throw new Error(`(a) ${x.id} has a grant while ${stored.status}`);
      if ((grant.grantedBy as string[]).includes(x.requester)) throw new Error(`(c) ${x.id}'s grant was granted by its requester`);
      // (a) every covered group had its own quorum of its own eligible approvers; exactly the groups asked.
      if ([...(grant.groups as string[])].sort().join(',') !== x.groups.join(',')) throw new Error(`(a) ${x.id} asked ${x.groups.join('+')} but the grant covers ${(grant.groups as string[]).join('+')}`);
      for (const g of grant.groups as Group[]) {
        const req = m.policy[g];
        const approvers = [...x.approvedBy].filter((id) => eligibleFor(req, ROSTER.find((e) => e.employeeId === id)!, requester));
        if (approvers.length < req.quorum) {
          throw new Error(`(a) ${x.id}'s grant covers ${g}, which needs ${req.quorum} of ${JSON.stringify(req.approvers)}, but only ${approvers.length} such approved (approvals by ${[...x.approvedBy].join(', ')})`);
        }
      }
    }
  }
  // (d) every refused click is in the audit log, as a refused vote or a lost click.
  for (const [key, n] of m.refused) {
    const [actor, requestId] = key.split('|');
    const recorded = events.filter((e) => e.requestId === requestId && e.actor.employeeId === actor
      && ((e.action === 'request.vote' && e.decision === 'denied') || e.action === 'request.lost')).length;
    if (recorded < n) throw new Error(`(d) ${actor} was refused ${n} time(s) on ${requestId} but ${recorded} refusal event(s) are recorded`);
  }
  // (e) no decision at now rests on an expired grant.
  for (const id of REQUESTERS) {
    const e = r.dir.people.get(id)!;
    for (const c of CUSTOMERS) {
      const d = await r.engine.decide(principalOf(e), 'lookup', { channel: 'dm', at: now }, c);
      for (const [field, fd] of Object.entries(d.fields)) {
        if (!fd?.grantId) continue;
        const g = grants.find((x) => x.grantId === fd.grantId);
        if (!g || new Date(g.expiresAt as Date).getTime() <= now.getTime()) throw new Error(`(e) ${field} of ${c.customerId} shown to ${id} under ${fd.grantId}, expired or unknown at ${now.toISOString()}`);
      }
    }
  }
}

// ---- the run -------------------------------------------------------------------------------------------

const who = fc.nat({ max: ROSTER.length - 1 });
const voteArb: fc.Arbitrary<Clicker> = fc.record({ who, vote: fc.constantFrom<'approve' | 'deny'>('approve', 'approve', 'approve', 'deny'), eligible: fc.constantFrom(true, true, true, false) });
// Selections lean to several groups (where requirements compose); an empty one is still generated.
const selectionArb = fc.oneof({ arbitrary: fc.subarray([...GROUPS], { minLength: 2 }), weight: 3 }, { arbitrary: fc.subarray([...GROUPS]), weight: 1 });
const submitArb = fc.tuple(fc.nat(), fc.nat(), selectionArb, fc.constantFrom(15, 15, 45, 200, 1000, 2000)).map(([a, b, g, d]) => new Submit(a, b, g, d));
const commandArbs = [
  submitArb,
  submitArb,
  fc.tuple(voteArb, fc.nat()).map(([v, req]) => new Vote([v], req)),
  fc.tuple(voteArb, fc.nat()).map(([v, req]) => new Vote([v], req)),
  fc.tuple(fc.array(voteArb, { minLength: 2, maxLength: 6 }), fc.nat()).map(([vs, req]) => new Vote(vs, req)),
  fc.tuple(voteArb, fc.nat()).map(([v, req]) => new Vote([v], req, true)),
  fc.nat().map((req) => new Cancel(req)),
  who.map((w) => new Offboard(w)),
  fc.constantFrom(5, 61, 241, 700, 1441).map((n) => new Advance(n)),
];

let db: Awaited<ReturnType<typeof testDatabase>>;
test.before(async () => { db = await testDatabase(import.meta.url); });
test.after.always(async () => { await db?.drop(); });

async function freshSystem(p: PolicySpec): Promise<Real> {
  for (const c of [REQUEST_COLLECTION, ASK_COLLECTION, DECISION_COLLECTION, VOTE_COLLECTION, NOTICE_COLLECTION, GRANT_COLLECTION, REVOCATION_COLLECTION]) await db.conn.collection(c).deleteMany({});
  const { policy, problems } = checkPolicyTexts([{ file: 'generated.yaml', text: policyText(p) }]);
  if (!policy) throw new Error(problems.map((x) => x.message).join('; '));
  const grants = new MongoGrantStore(db.conn);
  const requests = new MongoRequestStore(db.conn);
  await grants.ensureIndexes();
  await requests.ensureIndexes();
  const engine = createPolicyEngine(policy, { grants });
  const dir = new Directory();
  const audit = new RecordingAudit();
  const clock = { t: Date.parse('2026-06-30T02:30:00Z'), now(): Date { return new Date(this.t); } };
  const svc = new ApprovalService({ engine, customers, requests, grants, directory: dir, recorder: audit, clock, notifier, settings: approvalSettingsOf(policy), platform: 'slack' });
  return { svc, requests, engine, dir, audit, clock, conn: db.conn };
}

test.serial('the approval state machine keeps its invariants over generated policies and histories', async (t) => {
  await fc.assert(
    fc.asyncProperty(policyArb, fc.commands(commandArbs, { maxCommands: COMMANDS }), async (policy, cmds) => {
      const real = await freshSystem(policy);
      const model: Model = { policy, requests: [], refused: new Map() };
      // Every command is followed by the invariant check (wrapping keeps fast-check's shrinking intact).
      const checked = [...cmds].map((c): Cmd => ({ check: (m) => c.check(m) as boolean, run: async (m, r) => { await c.run(m, r); await invariants(m, r); }, toString: () => c.toString() }));
      await fc.asyncModelRun(() => ({ model, real }), checked);
    }),
    { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}), endOnFailure: false, includeErrorInReport: true },
  );
  t.pass();
});

// ---- focused cases on the same real stores -------------------------------------------------------------

/** contact: 1 of the manager; identity: 2 of the legal heads then the DPOs (two tiers). */
const FIXED: PolicySpec = {
  contact: { approvers: [{ kind: 'manager' }], quorum: 1, maxDurationMinutes: 240 },
  identity: { approvers: [{ kind: 'department_head', department: 'legal' }, { kind: 'role', role: 'dpo' }], quorum: 1, maxDurationMinutes: 60 },
  finance: { approvers: [{ kind: 'department_head', department: 'finance' }], quorum: 1, maxDurationMinutes: 480 },
};
const ORIGIN = { platform: 'slack', channel: 'D1', channelKind: 'dm' } as const;
const decisionEvents = (r: Real, id: string) => r.audit.list().filter((e) => e.requestId === id && e.action in DECISION_ACTIONS);

test.serial('a decision whose event cannot be recorded takes no effect; the sweeper finishes it once, under the same event id', async (t) => {
  const r = await freshSystem(FIXED);
  const requester = (await r.dir.byId('E-0101'))!;
  const req = await r.svc.submit(requester, { target: { kind: 'access', customerId: 'C-000001' }, purpose: 'callback', durationMinutes: 30, groups: ['contact'] }, ORIGIN);
  r.audit.failDecisions = true;
  const err = await t.throwsAsync(r.svc.approve((await r.dir.byId('E-0201'))!, req.requestId));
  r.audit.failDecisions = false;
  t.is((err as CustosError).code, ErrorCode.AuditUnavailable);
  t.is(await r.conn.collection(GRANT_COLLECTION).countDocuments({ requestId: req.requestId }), 0, 'no grant without the decision event');
  t.is(decisionEvents(r, req.requestId).length, 0);
  t.is(r.audit.list().filter((e) => e.requestId === req.requestId && e.action === 'request.vote').length, 1, 'the attempt was recorded');
  // A later click is told the request was decided (the compare-and-swap was won) and recorded as lost.
  await t.throwsAsync(r.svc.approve((await r.dir.byId('E-0201'))!, req.requestId), { instanceOf: AlreadyDecided });
  t.like(await r.svc.sweep(), { finished: 0 }, 'a fresh decision may still be finishing in its own process');
  r.clock.t += 2 * MINUTE;
  t.like(await r.svc.sweep(), { finished: 1 });
  t.like(await r.svc.sweep(), { finished: 0 }, 'finished once');
  const [decision] = decisionEvents(r, req.requestId);
  t.is(decisionEvents(r, req.requestId).length, 1);
  t.like(decision, { action: 'request.approve', decision: 'allowed', actor: { employeeId: 'E-0201', platform: 'slack' } });
  const grant = await r.conn.collection(GRANT_COLLECTION).findOne({ requestId: req.requestId });
  t.deepEqual(grant?.groups, ['contact']);
  t.is((await r.requests.get(req.requestId))?.status, 'approved');
  const lost = r.audit.list().filter((e) => e.requestId === req.requestId && e.action === 'request.lost');
  t.is(lost.length, 1);
  t.like(lost[0]?.meta, { vote: 'approve', outcome: 'approved' });
});

test.serial('escalation is per part: only the part short of its quorum asks its next tier', async (t) => {
  const r = await freshSystem(FIXED);
  const requester = (await r.dir.byId('E-0101'))!;
  const req = await r.svc.submit(requester, { target: { kind: 'access', customerId: 'C-000002' }, purpose: 'callback', durationMinutes: 30, groups: ['contact', 'identity'] }, ORIGIN);
  t.deepEqual(req.parts.map((p) => [p.name, p.tiersAsked, p.approverTiers]), [['contact', 1, [['E-0201']]], ['identity', 1, [['E-0302', 'E-0303'], ['E-0401', 'E-0402']]]]);
  const voted = await r.svc.approve((await r.dir.byId('E-0201'))!, req.requestId);
  t.is(voted.kind, 'voted');
  await t.throwsAsync(r.svc.approve((await r.dir.byId('E-0401'))!, req.requestId), { instanceOf: ApprovalRefused, message: /not_approver/ }, 'the DPO is not asked yet');
  r.clock.t += 241 * MINUTE;
  t.like(await r.svc.sweep(), { escalated: 1 });
  const escalations = r.audit.list().filter((e) => e.requestId === req.requestId && e.action === 'request.escalate');
  t.deepEqual(escalations.map((e) => e.meta?.part), ['identity']);
  t.deepEqual((await r.requests.get(req.requestId))!.parts.map((p) => p.tiersAsked), [1, 2]);
  const done = await r.svc.approve((await r.dir.byId('E-0401'))!, req.requestId);
  t.is(done.kind, 'decided');
  t.deepEqual((await r.requests.get(req.requestId))!.decidedBy, ['E-0201', 'E-0401']);
});

test.serial('a request stored before per-part requirements is read as one part and still decided', async (t) => {
  const r = await freshSystem(FIXED);
  const at = r.clock.now();
  await r.conn.collection(REQUEST_COLLECTION).insertOne({
    requestId: 'R-AAAAAAAAAA', kind: 'access', requesterId: 'E-0101', customerIds: ['C-000001'], groups: ['contact', 'identity'], fields: [],
    purpose: 'callback', durationMinutes: 30, quorum: 2, approverTiers: [{ ids: ['E-0201'] }, { ids: ['E-0302'] }], tiersAsked: 2, ruleIds: ['approval.contact'],
    status: 'pending', createdAt: at, remindAt: new Date(at.getTime() + 60 * MINUTE), escalateAt: new Date(at.getTime() + 240 * MINUTE), expiresAt: new Date(at.getTime() + 1440 * MINUTE), cards: [],
  });
  const old = (await r.requests.get('R-AAAAAAAAAA'))!;
  t.deepEqual(old.parts, [{ name: 'request', approverTiers: [['E-0201'], ['E-0302']], tiersAsked: 2, quorum: 2, maxDurationMinutes: 30, ruleId: 'approval.contact' }]);
  t.is((await r.svc.approve((await r.dir.byId('E-0201'))!, 'R-AAAAAAAAAA')).kind, 'voted');
  t.is((await r.svc.approve((await r.dir.byId('E-0302'))!, 'R-AAAAAAAAAA')).kind, 'decided');
  t.deepEqual((await r.conn.collection(GRANT_COLLECTION).findOne({ requestId: 'R-AAAAAAAAAA' }))?.groups, ['contact', 'identity']);
});
