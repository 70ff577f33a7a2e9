// Detectors are independent (issue 13, defect 6: the off-hours detector tripping first took the user's
// single alert slot, so `distinctCustomers` never froze a night-time harvester). A model-based test over
// generated histories — lookups showing distinct and repeated customers inside and outside working
// hours, refusals, exports, unfreezes, time moving on an injected clock — with generated thresholds,
// windows and freeze flags, against the real SecurityService, the real Redis counters and the real
// employee store. After every step: the user is frozen exactly when some detector with `freeze: true`
// crossed its threshold within its window (since the last unfreeze), whatever the other detectors did;
// the alerts are exactly the model's, at most one per detector and window.
import test from 'ava';
import fc from 'fast-check';
import type { Connection } from 'mongoose';
import type { AuditEventInput } from '../bot/core/audit.ts';
import { newEventId, parseAuditEvent } from '../bot/core/audit-event.ts';
import type { Employee } from '../bot/core/domain.ts';
import { SecurityService, type AnomalyAlert, type SecurityCounters } from '../bot/core/security/guard.ts';
import { DETECTORS, type DetectorName, type SecuritySettings } from '../bot/core/security/settings.ts';
import { ensureIndexes } from '../bot/store/db.ts';
import { demoEmployee, demoEmployeeList } from '../bot/store/demo-company.ts';
import { EmployeeStore } from '../bot/store/employee-store.ts';
import { RedisSecurityCounters } from '../bot/store/ratelimit.ts';
import { withinWorkingHours } from '../policies/engine/hours.ts';
import { createPolicyEngine, loadPolicy } from '../policies/index.ts';
import { dropPrefix, testDatabase, testRedis, uniqueName } from './helpers/services.ts';

const policy = loadPolicy('policies');
const engine = createPolicyEngine(policy);
const prefix = uniqueName(import.meta.url, 'prefix');
const redis = testRedis();
const counters = new RedisSecurityCounters(redis, prefix);
let db: Awaited<ReturnType<typeof testDatabase>>;
let directory: EmployeeStore;
let users = 0;

test.before(async () => {
  db = await testDatabase(import.meta.url);
  await ensureIndexes(db.conn as Connection);
  directory = new EmployeeStore(db.conn);
  await directory.upsertMany(demoEmployeeList());
});
test.after.always(async () => {
  redis.disconnect();
  await db?.drop();
  await dropPrefix(prefix);
});

/** Tuesday 2026-06-30, 19:40 in Shanghai: twenty minutes before the working day ends. */
const START = Date.parse('2026-06-30T11:40:00Z');
const MINUTE = 60_000;

/** Working hours as the model sees them, independently of the policy code: Mon–Fri 08:00–20:00, UTC+8. */
function offHoursInShanghai(ms: number): boolean {
  const local = new Date(ms + 8 * 60 * MINUTE);
  const day = local.getUTCDay();
  const minutes = local.getUTCHours() * 60 + local.getUTCMinutes();
  return day === 0 || day === 6 || minutes < 8 * 60 || minutes >= 20 * 60;
}

// ---- the model --------------------------------------------------------------------------------------

interface Model {
  now: number;
  status: 'active' | 'frozen';
  /** Per detector: member → when last seen (a sliding window of distinct members). */
  windows: Record<DetectorName, Map<string, number>>;
  /** Per detector: until when it trips no more (the end of the window its last alert opened). */
  quietUntil: Record<DetectorName, number>;
  alerts: { detector: DetectorName; frozen: boolean }[];
  freezes: number;
  settings: SecuritySettings;
}

function freshWindows(): Model['windows'] {
  return { distinctCustomers: new Map(), refusals: new Map(), exports: new Map(), offHours: new Map() };
}

function modelNote(m: Model, detector: DetectorName, member: string): void {
  const d = m.settings.detectors[detector];
  const w = m.windows[detector];
  w.set(member, m.now);
  for (const [k, at] of w) if (at <= m.now - d.windowMinutes * MINUTE) w.delete(k);
  if (w.size <= d.max) return;
  if (m.quietUntil[detector] > m.now) return; // tripped earlier in its window (the freeze happened then)
  m.quietUntil[detector] = m.now + d.windowMinutes * MINUTE;
  if (d.freeze && m.status === 'active') { m.status = 'frozen'; m.freezes++; }
  m.alerts.push({ detector, frozen: d.freeze && m.status === 'frozen' });
}

// ---- the real system --------------------------------------------------------------------------------

interface Real {
  user: Employee;
  admin: Employee;
  service: SecurityService;
  clock: { ms: number };
  alerts: AnomalyAlert[];
  /** Alerts and unfreezes in the order they happened. */
  log: (AnomalyAlert | 'unfreeze')[];
  events: AuditEventInput[];
  errors: unknown[];
}

async function check(m: Model, r: Real): Promise<void> {
  if (r.errors.length) throw new Error(`detector failed: ${String(r.errors[0])}`);
  const stored = await directory.byId(r.user.employeeId);
  if (stored?.status !== m.status) throw new Error(`status ${stored?.status}, model says ${m.status}`);
  const got = r.alerts.map((a) => `${a.detector}:${a.frozen}`);
  const want = m.alerts.map((a) => `${a.detector}:${a.frozen}`);
  if (got.join() !== want.join()) throw new Error(`alerts ${got.join()} but the model says ${want.join()}`);
  // At most one alert per detector and window (an unfreeze starts the user afresh).
  const last = new Map<DetectorName, number>();
  for (const entry of r.log) {
    if (entry === 'unfreeze') { last.clear(); continue; }
    const before = last.get(entry.detector);
    if (before !== undefined && entry.at.getTime() - before < m.settings.detectors[entry.detector].windowMinutes * MINUTE) throw new Error(`${entry.detector} alerted twice in one window`);
    last.set(entry.detector, entry.at.getTime());
  }
  const freezes = r.events.filter((e) => e.action === 'admin.freeze' && e.meta?.subject === r.user.employeeId && e.meta?.automatic === true);
  if (freezes.length !== m.freezes) throw new Error(`${freezes.length} freeze events, model says ${m.freezes}`);
}

type Cmd = fc.AsyncCommand<Model, Real>;
const cmd = (name: string, act: (m: Model, r: Real) => Promise<void>): Cmd => ({
  check: () => true,
  async run(m, r) { await act(m, r); await check(m, r); },
  toString: () => name,
});

let minted = 0;
const lookup = (ids: number[]): Cmd => cmd(`lookup(${ids.join(',')})`, async (m, r) => {
  const eventId = newEventId(new Date(m.now));
  const customers = ids.map((i) => `C-${String(i).padStart(6, '0')}`);
  await r.service.noteShown(r.user, customers, eventId);
  for (const c of customers) modelNote(m, 'distinctCustomers', c);
  if (offHoursInShanghai(m.now)) modelNote(m, 'offHours', eventId);
});
const refusal = (): Cmd => cmd('refusal', async (m, r) => {
  const eventId = newEventId(new Date(m.now));
  await r.service.noteRefusal(r.user, eventId);
  modelNote(m, 'refusals', eventId);
});
const exported = (): Cmd => cmd('export', async (m, r) => {
  const exportId = `X-EXPORT${++minted}`;
  await r.service.noteExport(r.user, exportId);
  modelNote(m, 'exports', exportId);
});
const advance = (ms: number): Cmd => cmd(`advance(${ms / 1000}s)`, async (m, r) => {
  m.now += ms;
  r.clock.ms = m.now;
});
const unfreeze = (): Cmd => cmd('unfreeze', async (m, r) => {
  const outcome = await r.service.decide(r.admin, 'slack', 'U1', 'unfreeze', r.user.employeeId);
  if (outcome.kind === 'done') r.log.push('unfreeze');
  if (m.status === 'frozen') {
    if (outcome.kind !== 'done') throw new Error(`unfreeze: ${outcome.kind}`);
    // The user starts afresh: every detector's window and trip mark is cleared.
    m.status = 'active';
    m.windows = freshWindows();
    for (const d of DETECTORS) m.quietUntil[d] = 0;
  } else if (outcome.kind !== 'not_frozen') throw new Error(`unfreeze of an active user: ${outcome.kind}`);
});

const detectorArb = fc.record({ max: fc.integer({ min: 1, max: 4 }), windowMinutes: fc.integer({ min: 1, max: 30 }), freeze: fc.boolean() });
const settingsArb: fc.Arbitrary<SecuritySettings> = fc.record({
  distinctCustomers: detectorArb, refusals: detectorArb, exports: detectorArb, offHours: detectorArb,
}).map((detectors) => ({ rateLimit: { perMinute: 60, burst: 40 }, detectors }));
const commandsArb = fc.commands([
  fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 3 }).map(lookup),
  fc.constant(null).map(refusal),
  fc.constant(null).map(exported),
  fc.constantFrom(5_000, 30_000, MINUTE, 4 * MINUTE, 11 * MINUTE, 45 * MINUTE, 3 * 60 * MINUTE).map(advance),
  fc.constant(null).map(unfreeze),
], { size: '+1', maxCommands: 40 });

async function setup(settings: SecuritySettings, withCounters: SecurityCounters = counters): Promise<{ model: Model; real: Real }> {
  const n = ++users;
  const user: Employee = { ...demoEmployee('supportAgent'), employeeId: `E-${8000 + n}`, email: `harvester${n}@demo.custos.local`, chat: {} };
  await directory.upsertMany([user]);
  const clock = { ms: START };
  const real: Real = { user, admin: demoEmployee('admin'), clock, alerts: [], log: [], events: [], errors: [], service: undefined as unknown as SecurityService };
  real.service = new SecurityService({
    settings, counters: withCounters, directory, engine,
    alerts: { async alert(a) { real.alerts.push(a); real.log.push(a); } },
    recorder: { async record(e) { real.events.push(parseAuditEvent(e)); } },
    clock: { now: () => new Date(clock.ms) },
    revoker: { async revokeAll() { return { grants: 0, requests: 0 }; } },
    workingHours: (e, at) => withinWorkingHours(policy.settings, e.timezone, at),
    onError: (err) => { real.errors.push(err); },
  });
  const model: Model = {
    now: START, status: 'active', windows: freshWindows(), alerts: [], freezes: 0, settings,
    quietUntil: { distinctCustomers: 0, refusals: 0, exports: 0, offHours: 0 },
  };
  return { model, real };
}

test.serial('a user is frozen exactly when a freezing detector crosses its threshold in its window, whatever the others did', async (t) => {
  t.timeout(600_000);
  let crossings = 0;
  await fc.assert(fc.asyncProperty(settingsArb, commandsArb, async (settings, cmds) => {
    const { model, real } = await setup(settings);
    await fc.asyncModelRun(() => ({ model, real }), cmds);
    if (real.alerts.length > 1 && new Set(real.alerts.map((a) => a.detector)).size > 1) crossings++;
  }), { numRuns: Number(process.env.DETECTOR_PROPERTY_RUNS ?? 60), includeErrorInReport: true, seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined });
  t.log(`runs where several detectors alerted: ${crossings}`);
  t.true(crossings > 10, 'the histories made several detectors trip');
});

test.serial('the issue\'s night-time harvest: off-hours trips first, distinctCustomers still freezes (default thresholds)', async (t) => {
  const settings = policy.settings.security!;
  const { real } = await setup(settings);
  real.clock.ms = Date.parse('2026-06-30T15:00:00Z'); // 23:00 in Shanghai
  for (let i = 1; i <= 55; i++) {
    real.clock.ms += 1000;
    await real.service.noteShown(real.user, [`C-${String(i).padStart(6, '0')}`], newEventId(new Date(real.clock.ms)));
  }
  t.deepEqual(real.errors, []);
  t.deepEqual(real.alerts.map((a) => [a.detector, a.frozen]), [['offHours', false], ['distinctCustomers', true]], 'off-hours alerts at lookup 21, distinct customers freezes at 46');
  t.is(real.alerts[1]!.count, 46);
  t.is((await directory.byId(real.user.employeeId))?.status, 'frozen');
  t.is(real.events.filter((e) => e.action === 'admin.freeze').length, 1, 'the freeze is audited once');
});

test.serial('a pick\'s candidates are counted in one call: distinct across picks, and the detector trips once with the count it reached', async (t) => {
  const settings = policy.settings.security!;
  const calls: Array<{ detector: string; members: readonly string[] }> = [];
  const counting: SecurityCounters = {
    take: (...a) => counters.take(...a), tripOnce: (...a) => counters.tripOnce(...a), reset: (id) => counters.reset(id),
    note: (detector, employeeId, members, nowMs, windowMs) => { calls.push({ detector, members }); return counters.note(detector, employeeId, members, nowMs, windowMs); },
  };
  const { real } = await setup(settings, counting);
  const service = real.service;
  real.clock.ms = Date.parse('2026-06-30T03:00:00Z'); // 11:00 in Shanghai: no off-hours note
  const pick = (from: number) => Array.from({ length: 10 }, (_, i) => `C-${String(from + i).padStart(6, '0')}`);
  // Four picks of ten new names and one that repeats five of them: 45 distinct, the threshold, not over it.
  for (const from of [1, 11, 21, 31]) { real.clock.ms += 1000; await service.noteShown(real.user, pick(from), newEventId(new Date(real.clock.ms))); }
  await service.noteShown(real.user, pick(36), newEventId(new Date(real.clock.ms)));
  t.deepEqual(calls.map((c) => c.members.length), [10, 10, 10, 10, 10], 'one counter call per pick');
  t.deepEqual(real.alerts, [], '45 distinct customers are within the default threshold');
  real.clock.ms += 1000;
  await service.noteShown(real.user, pick(44), newEventId(new Date(real.clock.ms)));
  t.deepEqual(real.alerts.map((a) => [a.detector, a.count, a.frozen]), [['distinctCustomers', 53, true]], 'over it: one alert, with the count the pick reached');
  t.is((await directory.byId(real.user.employeeId))?.status, 'frozen');
  t.deepEqual(real.errors, []);
});
