// The framework's shared connector test suite (issue 16): every CRM connector runs these same tests,
// unchanged, through its own fake CRM (test/fakes/) — backfill, incremental, deletion, owner change,
// crash and resume, a missed change caught by reconciliation, quota exhaustion and recovery, forged
// notifications without side effect — and the framework's property test: any sequence of source
// changes, syncs, dropped or duplicated notifications and crashes ends, after one reconciliation, with
// custos equal to the mapped source. A connector's test file only supplies a ConnectorHarness: how to
// start its fake, build the connector as a fresh process would (from CUSTOS_SYNC_<SOURCE>_… settings),
// and drive the CRM the way its users do. Records are described neutrally (SuiteRecord) and each harness
// writes them in its CRM's own fields; its mapping maps them back.
//
// Everything runs on real FerretDB through the real runner, stores and webhook route (bot/http/server.ts),
// on one manual clock that the rate budget's waits move (no real sleeping, no timed assertion).
// SYNC_SUITE_RUNS sets the property test's number of generated histories (default 6; each is a long-lived world).
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import type { AddressInfo } from 'node:net';
import { closeServer, createHttpServer, listen } from '../../bot/http/server.ts';
import { createLogger } from '../../bot/logger.ts';
import { FieldCipher } from '../../bot/store/crypto.ts';
import { CustomerStore } from '../../bot/store/customer-store.ts';
import { StoreCustomerRevoker } from '../../bot/sync/customer-revoker.ts';
import type { SyncMapping } from '../../bot/sync/mapping.ts';
import { RateBudget } from '../../bot/sync/rate-budget.ts';
import { SyncRunner } from '../../bot/sync/runner.ts';
import type { ConnectorFactory } from '../../bot/sync/setup.ts';
import { SyncStore } from '../../bot/sync/sync-store.ts';
import type { Connector } from '../../bot/sync/types.ts';
import { WEBHOOK_PATH, webhookRoutes } from '../../bot/sync/webhook-route.ts';
import { RecordingAudit } from './sync-model-source.ts';
import { syncDatabase } from './sync-db.ts';

export type Region = 'north' | 'east' | 'south';
/** A customer as the suite thinks of it; each harness writes it in its CRM's own fields. */
export interface SuiteRecord { number: number; name: string; region: Region; ownerEmail: string; phone: string }

export const OWNERS: Record<string, string> = { 'ann@example.com': 'E-0001', 'bob@example.com': 'E-0002' };

/** One clock for custos and the fake CRM; only the suite (and the rate budget's waits) move it. */
export class SuiteClock {
  t = Date.parse('2026-06-01T02:00:00Z');
  now = (): Date => new Date(this.t);
  advance(ms: number): void { this.t += ms; }
}

/** A change notification as the CRM would send it; `send` can be called again (a duplicate delivery). */
export interface Notification { send(url: string): Promise<Response> }

/** A running fake CRM with its connector's settings, driven as the CRM's users and admins would. */
export interface FakeCrm {
  env: Record<string, string>;
  create(r: SuiteRecord): string;
  update(id: string, patch: Partial<Pick<SuiteRecord, 'name' | 'region' | 'phone'>>): void;
  moveOwner(id: string, email: string): void;
  remove(id: string): void;
  /** A deletion the incremental read cannot see (the CRM's deletion log purged, or none exists). */
  removeUnseen(id: string): void;
  /** Lets time pass so the changes made are within what an incremental read covers (windows, second precision). */
  settle(): void;
  /** The CRM's API quota runs out (its own refusal: 403, 429, a code in the body…) / comes back. */
  exhaustQuota(): void;
  restoreQuota(): void;
  /**
   * A genuine change notification for `ids`; absent when the CRM sends none to custos, null when it would
   * send none right now (Zoho: no live channel yet — the connector subscribes on its first run).
   */
  notification?(ids: string[], op: 'create' | 'update' | 'delete'): Notification | null;
  /** Forged notifications (bad signature or token, stale, altered): each must be refused. */
  forgeries(ids: string[]): Notification[];
  close(): Promise<void>;
}

export interface ConnectorHarness {
  /** The source name (the settings' <SOURCE>) and the connector's factory (CONNECTORS entry). */
  source: string;
  factory: ConnectorFactory;
  mapping: SyncMapping;
  /** Records per page of a backfill (the crash test needs more than one page). */
  pageSize: number;
  /** Whether an incremental run sees deletions (简道云's data list never shows them: reconciliation does). */
  deletionsInIncremental: boolean;
  start(clock: SuiteClock): Promise<FakeCrm>;
}

const cipher = new FieldCipher({ dataKeys: [{ id: 'k1', key: Buffer.alloc(32, 41) }], blindIndexKey: Buffer.alloc(32, 42) });
const NAMES = ['张伟', '李娜', 'Acme Ltd', '王芳'];
const REGIONS: Region[] = ['north', 'east', 'south'];
export const customerIdOf = (n: number) => `C-${String(n).padStart(6, '0')}`;

/** Crashes armed by a test: after the page is written, before the cursor moves. */
class CrashingSyncStore extends SyncStore {
  crashBeforeAdvance = false;
  override async advance(source: string, from: number, cursor: string | null, at: Date): Promise<boolean> {
    if (this.crashBeforeAdvance) { this.crashBeforeAdvance = false; throw new Error('crash (test)'); }
    return super.advance(source, from, cursor, at);
  }
}

let numbers = 0;
/** A fresh record with a customer number unique in this process. */
export function record(extra: Partial<SuiteRecord> = {}): SuiteRecord {
  const n = ++numbers;
  return { number: 100000 + n, name: NAMES[n % NAMES.length]!, region: REGIONS[n % 3]!, ownerEmail: 'ann@example.com', phone: `139${String(n).padStart(8, '0')}`, ...extra };
}

async function world(t: ExecutionContext, h: ConnectorHarness) {
  const clock = new SuiteClock();
  const crm = await h.start(clock);
  t.teardown(() => crm.close());
  const { db, grants, requests } = await syncDatabase(t, `${h.source}-suite`);
  const store = new CrashingSyncStore(db.conn);
  const customers = new CustomerStore(db.conn, cipher);
  const audit = new RecordingAudit();
  const logger = createLogger({ level: 'silent' });
  const connectorOf = (): Connector => h.factory({
    source: h.source, mapping: h.mapping, env: crm.env, clock, logger,
    budget: (perSecond) => new RateBudget({ source: h.source, perSecond, share: 1, clock, random: () => 0.5, sleep: async (ms) => clock.advance(ms) }),
  });
  const deps = {
    customers, store, recorder: audit, clock, employees: { byEmail: async (e: string) => (OWNERS[e] ? { employeeId: OWNERS[e] } : null) },
    revoker: new StoreCustomerRevoker(grants, requests),
  };
  /** A runner with a connector of its own: a fresh process, as after a restart. */
  const runnerOf = () => new SyncRunner(deps, connectorOf(), h.mapping);
  const connector = connectorOf();
  const runner = new SyncRunner(deps, connector, h.mapping);
  const server = createHttpServer({ routes: webhookRoutes([{ source: h.source, connector, runner }], { store, clock, logger }), readiness: [], logger });
  const address: AddressInfo = await listen(server, '127.0.0.1', 0);
  t.teardown(() => closeServer(server, 100));
  const hook = `http://127.0.0.1:${address.port}${WEBHOOK_PATH(h.source)}`;
  const seen = async (n: number) => {
    const c = await customers.get(customerIdOf(n));
    return c ? { name: c.name, region: c.region, ownerId: c.ownerId, phone: c.phone } : null;
  };
  return { clock, crm, store, customers, audit, runner, runnerOf, connector, hook, seen };
}

const mapped = (r: SuiteRecord) => ({ name: r.name, region: r.region, ownerId: OWNERS[r.ownerEmail], phone: r.phone });
const errorCode = (e: unknown) => (e as { code?: unknown }).code;

/** One step of the property test's histories, after `gapMs` of the shared clock. */
type Cmd = ({ k: 'create' } | { k: 'update' | 'move' | 'delete' | 'notify'; pick: number; copies: 0 | 1 | 2 } | { k: 'sync' | 'crashSync' | 'settle' }) & { gapMs: number };

/**
 * Generated histories find the lost-edit pattern in about one run in three; this one, always tried
 * first, is it: a run ends on a record changed in its own second, then an older record is saved in that
 * second (Salesforce's (SystemModstamp, Id) cursor passed such a save by).
 */
const SAVED_AGAIN_IN_THE_RUNS_SECOND: Cmd[] = [{ k: 'create', gapMs: 0 }, { k: 'create', gapMs: 0 }, { k: 'sync', gapMs: 0 }, { k: 'update', pick: 0, copies: 0, gapMs: 0 }];

/** Registers the whole suite for one connector. */
export function connectorSuite(h: ConnectorHarness): void {
  const title = (s: string) => `${h.source} (shared connector suite): ${s}`;

  test(title('backfill stores every record as mapped; the run is audited with counts only'), async (t) => {
    const w = await world(t, h);
    const recs = Array.from({ length: 5 }, () => record());
    for (const r of recs) w.crm.create(r);
    w.crm.settle();
    const report = await w.runner.run();
    t.is(report.upserted, 5);
    for (const r of recs) t.deepEqual(await w.seen(r.number), mapped(r));
    const run = w.audit.events.find((e) => e.action === 'sync.run')!;
    t.like(run.meta, { source: h.source, upserted: 5 });
    t.false(JSON.stringify(w.audit.events).includes(recs[0]!.phone), 'no phone number in the audit');
  });

  test(title('incremental: a later run reads what changed since the cursor, and a run with no change stores nothing'), async (t) => {
    const w = await world(t, h);
    const a = record(); const b = record();
    const ida = w.crm.create(a); w.crm.create(b);
    w.crm.settle();
    await w.runner.run();
    w.crm.update(ida, { name: 'Renamed Ltd', region: 'south' });
    const c = record(); w.crm.create(c);
    w.crm.settle();
    const r = await w.runner.run();
    t.is(r.upserted, 2, 'the edited and the new record');
    t.deepEqual(await w.seen(a.number), mapped({ ...a, name: 'Renamed Ltd', region: 'south' }));
    t.deepEqual(await w.seen(c.number), mapped(c));
    w.crm.settle();
    const idle = await w.runner.run();
    t.is(idle.upserted, 0);
  });

  test(title('a deletion leaves a tombstone only, audited before it takes effect'), async (t) => {
    const w = await world(t, h);
    const a = record(); const b = record();
    const ida = w.crm.create(a); w.crm.create(b);
    w.crm.settle();
    await w.runner.run();
    w.crm.remove(ida);
    w.crm.settle();
    const r = h.deletionsInIncremental ? await w.runner.run() : await w.runner.reconcile();
    t.is(r.deleted, 1);
    t.is(await w.seen(a.number), null);
    t.truthy(await w.store.tombstoned(customerIdOf(a.number)));
    t.deepEqual(await w.seen(b.number), mapped(b));
    const del = w.audit.events.filter((e) => e.action === 'sync.delete');
    t.deepEqual(del.map((e) => e.customerIds), [[customerIdOf(a.number)]]);
  });

  test(title('an owner change in the CRM moves the customer to the new owner'), async (t) => {
    const w = await world(t, h);
    const a = record();
    const id = w.crm.create(a);
    w.crm.settle();
    await w.runner.run();
    t.is((await w.seen(a.number))!.ownerId, 'E-0001');
    w.crm.moveOwner(id, 'bob@example.com');
    w.crm.settle();
    await w.runner.run();
    t.is((await w.seen(a.number))!.ownerId, 'E-0002');
  });

  test(title('a crash after storing a page and before moving the cursor: a fresh process resumes, nothing lost or doubled'), async (t) => {
    const w = await world(t, h);
    const recs = Array.from({ length: h.pageSize + 3 }, () => record());
    for (const r of recs) w.crm.create(r);
    w.crm.settle();
    w.store.crashBeforeAdvance = true;
    await t.throwsAsync(w.runner.run());
    const before = await w.store.cursor(h.source);
    t.is(before.cursor, null, 'the cursor did not move past the crashed page');
    const r = await w.runnerOf().run();
    t.true(r.pages >= 2);
    t.is(await w.customers.model.countDocuments(), recs.length);
    for (const x of [recs[0]!, recs.at(-1)!]) t.deepEqual(await w.seen(x.number), mapped(x));
  });

  test(title('a change the incremental read cannot see is caught by reconciliation'), async (t) => {
    const w = await world(t, h);
    const a = record(); const b = record();
    const ida = w.crm.create(a); w.crm.create(b);
    w.crm.settle();
    await w.runner.run();
    w.crm.removeUnseen(ida);
    w.crm.settle();
    const r = await w.runner.reconcile();
    t.is(r.deleted, 1);
    t.is(await w.seen(a.number), null);
    t.deepEqual(await w.seen(b.number), mapped(b));
    t.deepEqual((await w.store.linkedIds(h.source)).length, 1);
  });

  test(title('quota exhausted: the run stops with custos_sync_budget_exhausted, the cursor kept; after recovery nothing is lost'), async (t) => {
    const w = await world(t, h);
    const a = record();
    w.crm.create(a);
    w.crm.settle();
    await w.runner.run();
    const cursor = (await w.store.cursor(h.source)).cursor;
    const b = record();
    w.crm.create(b);
    w.crm.settle();
    w.crm.exhaustQuota();
    const err = await t.throwsAsync(w.runner.run());
    t.is(errorCode(err), 'custos_sync_budget_exhausted');
    t.is((await w.store.cursor(h.source)).cursor, cursor);
    t.is(await w.seen(b.number), null);
    w.crm.restoreQuota();
    w.clock.advance(60_000);
    await w.runnerOf().run();
    t.deepEqual(await w.seen(b.number), mapped(b));
    t.deepEqual(await w.seen(a.number), mapped(a));
  });

  test(title('forged notifications are refused with no side effect; a genuine one is applied'), async (t) => {
    const w = await world(t, h);
    const a = record();
    const id = w.crm.create(a);
    w.crm.settle();
    await w.runner.run();
    w.crm.update(id, { name: 'Forged Name Ltd' }); // in the CRM, not yet synced: a re-read would store it
    const events = w.audit.events.length;
    for (const f of w.crm.forgeries([id])) {
      const res = await f.send(w.hook);
      // 401 from the webhook route; a connector without notifications has no route at all (404).
      t.is(res.status, w.connector.verifyWebhook ? 401 : 404);
    }
    t.deepEqual(await w.seen(a.number), mapped(a), 'nothing re-read, nothing stored');
    t.is(w.audit.events.length, events, 'nothing audited');
    if (!w.connector.verifyWebhook) { t.is(w.crm.notification, undefined); return; }
    const genuine = w.crm.notification!([id], 'update');
    if (!genuine) return t.fail('the CRM sends no notification after a run subscribed to them');
    t.is((await genuine.send(w.hook)).status, 200);
    t.is((await w.seen(a.number))!.name, 'Forged Name Ltd');
  });

  // Changes come 0 ms to a minute apart, so a record is often saved again within the second a run ended
  // on (the pattern that lost a Salesforce edit). An incremental run once the changes settle must already
  // show every live record as mapped: reconciliation repairs lost edits, so checking only after it would
  // hide them.
  test(title('property: any history of changes (some within one second), syncs, dropped or duplicated notifications and crashes: one incremental run once they settle shows every change, and reconciliation ends equal to the mapped source'), async (t) => {
    const w = await world(t, h);
    const live = new Map<string, SuiteRecord>();
    const everSeen = new Map<string, SuiteRecord>();
    const gapMs = fc.constantFrom(0, 0, 0, 0, 300, 1500, 61_000);
    const cmd: fc.Arbitrary<Cmd> = fc.tuple(fc.oneof(
      { weight: 4, arbitrary: fc.constant({ k: 'create' as const }) },
      { weight: 3, arbitrary: fc.record({ k: fc.constantFrom('update' as const, 'move' as const, 'delete' as const, 'notify' as const), pick: fc.nat(), copies: fc.constantFrom(0 as const, 1 as const, 2 as const) }) },
      { weight: 3, arbitrary: fc.constantFrom({ k: 'sync' as const }, { k: 'crashSync' as const }, { k: 'settle' as const }) },
    ), gapMs).map(([c, gap]) => ({ ...c, gapMs: gap }));
    const pick = (i: number) => { const ids = [...live.keys()]; return ids.length ? ids[i % ids.length]! : null; };
    await fc.assert(fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 14 }), async (cmds) => {
      for (const c of cmds) {
        w.clock.advance(c.gapMs);
        switch (c.k) {
          case 'create': { const r = record({ ownerEmail: numbers % 2 ? 'ann@example.com' : 'bob@example.com' }); const id = w.crm.create(r); live.set(id, r); everSeen.set(id, r); break; }
          case 'update': { const id = pick(c.pick); if (id) { const r = { ...live.get(id)!, name: NAMES[c.pick % 4]!, region: REGIONS[c.pick % 3]! }; w.crm.update(id, { name: r.name, region: r.region }); live.set(id, r); everSeen.set(id, r); } break; }
          case 'move': { const id = pick(c.pick); if (id) { const r = { ...live.get(id)!, ownerEmail: live.get(id)!.ownerEmail === 'ann@example.com' ? 'bob@example.com' : 'ann@example.com' }; w.crm.moveOwner(id, r.ownerEmail); live.set(id, r); everSeen.set(id, r); } break; }
          case 'delete': { const id = pick(c.pick); if (id) { w.crm.remove(id); live.delete(id); } break; }
          case 'notify': {
            const ids = [...everSeen.keys()];
            const id = ids[c.pick % Math.max(1, ids.length)];
            if (!id) break;
            if (w.crm.notification) {
              const n = w.crm.notification([id], live.has(id) ? 'update' : 'delete');
              for (let i = 0; n && i < c.copies; i++) { const res = await n.send(w.hook); if (res.status !== 200) throw new Error(`a genuine notification answered ${res.status}`); }
            } else if (c.copies > 0) await w.runner.refresh([id]);
            break;
          }
          case 'sync': await w.runner.run(); break;
          case 'crashSync': w.store.crashBeforeAdvance = true; await w.runner.run().catch(() => undefined); w.store.crashBeforeAdvance = false; break;
          case 'settle': w.crm.settle(); break;
        }
      }
      /** Every record ever created shows as the source maps it (deleted: absent), but for deletions when `deletions` is false. */
      const expectMapped = async (after: string, deletions: boolean) => {
        for (const [id, r] of everSeen) {
          const want = live.has(id) ? mapped(live.get(id)!) : null;
          if (want === null && !deletions) continue;
          const got = await w.seen(r.number);
          if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`record ${r.number} after ${after}: custos has ${JSON.stringify(got)}, the source maps to ${JSON.stringify(want)}`);
        }
      };
      w.crm.settle();
      await w.runner.run();
      await expectMapped('an incremental run', h.deletionsInIncremental); // a deletion the incremental read cannot see is reconciliation's
      await w.runner.reconcile();
      await expectMapped('reconciliation', true);
      const linked = (await w.store.linkedIds(h.source)).map((l) => l.sourceId).sort();
      if (JSON.stringify(linked) !== JSON.stringify([...live.keys()].sort())) throw new Error('linked ids differ from the live ids');
      const text = JSON.stringify(w.audit.events);
      if (NAMES.some((n) => text.includes(n)) || /@example\.com/.test(text)) throw new Error('an audit event carries personal data');
    }), { numRuns: Number(process.env.SYNC_SUITE_RUNS ?? 6), examples: [[SAVED_AGAIN_IN_THE_RUNS_SECOND]] });
    t.pass();
  });
}
