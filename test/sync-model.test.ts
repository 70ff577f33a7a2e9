// Model test of the sync framework: for any generated history of source changes (creates, updates,
// deletes, owner moves) interleaved with sync runs, webhooks (some dropped, some duplicated), crashes
// between storing a page and moving the cursor, and a source that is down, one reconciliation leaves
// custos's customers exactly the mapped source. After every step: the cursor never passes a change
// that is not stored, no customer exists that the source deleted, and audit events carry no PII.
import test from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import type { Connection } from 'mongoose';
import { FieldCipher } from '../bot/store/crypto.ts';
import { CustomerStore } from '../bot/store/customer-store.ts';
import { ensureIndexes } from '../bot/store/db.ts';
import { MongoGrantStore } from '../bot/store/grant-store.ts';
import { MongoRequestStore } from '../bot/store/request-store.ts';
import { StoreCustomerRevoker } from '../bot/sync/customer-revoker.ts';
import { parseMapping } from '../bot/sync/mapping.ts';
import { SyncRunner } from '../bot/sync/runner.ts';
import { SyncStore } from '../bot/sync/sync-store.ts';
import { ModelSource, RecordingAudit } from './helpers/sync-model-source.ts';
import { testDatabase } from './helpers/services.ts';

const mapping = parseMapping(readFileSync(new URL('./fixtures/sync/model.yaml', import.meta.url), 'utf8'));
const cipher = new FieldCipher({ dataKeys: [{ id: 'k1', key: Buffer.alloc(32, 5) }], blindIndexKey: Buffer.alloc(32, 6) });
const OWNERS: Record<string, string> = { 'ann@example.com': 'E-0001', 'bo@example.com': 'E-0002', 'legacy-owner-7': 'E-0007' };
const REGIONS: Record<string, string> = { 'CN-N': 'north', 'CN-E': 'east', 'CN-S': 'south' };
const NAMES = ['张伟', '李娜', 'Acme Ltd', '王芳'];
const RUNS = Number(process.env.SYNC_MODEL_RUNS ?? 25);

/** Crashes armed by the history: after the page is written, before the cursor moves. */
class CrashingSyncStore extends SyncStore {
  crashBeforeAdvance = false;
  override async advance(source: string, from: number, cursor: string | null, at: Date): Promise<boolean> {
    if (this.crashBeforeAdvance) { this.crashBeforeAdvance = false; throw new Error('crash (test)'); }
    return super.advance(source, from, cursor, at);
  }
}

type Cmd =
  | { k: 'create'; name: number; region: string; owner: string; phone: boolean }
  | { k: 'update'; pick: number; name: number; region: string }
  | { k: 'move'; pick: number; owner: string }
  | { k: 'delete'; pick: number }
  | { k: 'sync' }
  | { k: 'crashSync' }
  | { k: 'down' }
  | { k: 'webhook'; pick: number; copies: 0 | 1 | 2 };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant('create' as const), name: fc.nat(3), region: fc.constantFrom(...Object.keys(REGIONS)), owner: fc.constantFrom(...Object.keys(OWNERS)), phone: fc.boolean() }) },
  fc.record({ k: fc.constant('update' as const), pick: fc.nat(), name: fc.nat(3), region: fc.constantFrom(...Object.keys(REGIONS)) }),
  fc.record({ k: fc.constant('move' as const), pick: fc.nat(), owner: fc.constantFrom(...Object.keys(OWNERS)) }),
  fc.record({ k: fc.constant('delete' as const), pick: fc.nat() }),
  { weight: 3, arbitrary: fc.constant({ k: 'sync' as const }) },
  { weight: 2, arbitrary: fc.constant({ k: 'crashSync' as const }) },
  fc.constant({ k: 'down' as const }),
  { weight: 2, arbitrary: fc.record({ k: fc.constant('webhook' as const), pick: fc.nat(), copies: fc.constantFrom(0 as const, 1 as const, 2 as const) }) },
);

interface World { conn: Connection; customers: CustomerStore; store: CrashingSyncStore; runner: SyncRunner; source: ModelSource; audit: RecordingAudit }

async function world(conn: Connection, n: number): Promise<World> {
  const source = new ModelSource(`model${n}`);
  const customers = new CustomerStore(conn, cipher);
  const store = new CrashingSyncStore(conn);
  const audit = new RecordingAudit();
  const runner = new SyncRunner({
    customers, store, recorder: audit, clock: { now: () => new Date('2026-06-01T00:00:00Z') },
    employees: { byEmail: async (e) => (OWNERS[e] ? { employeeId: OWNERS[e] } : null) },
    revoker: new StoreCustomerRevoker(new MongoGrantStore(conn), new MongoRequestStore(conn)),
  }, source, { ...mapping, source: `model${n}` });
  return { conn, customers, store, runner, source, audit };
}

const idOf = (sourceId: string) => `C-${sourceId.slice(1).padStart(6, '0')}`;

function expected(fields: Record<string, unknown>): Record<string, unknown> {
  return { name: fields.Name, region: REGIONS[fields.Region__c as string], ownerId: OWNERS[(fields.Owner as { Email: string }).Email], phone: fields.Phone };
}

async function actual(w: World, sourceId: string): Promise<Record<string, unknown> | null> {
  const c = await w.customers.get(idOf(sourceId));
  return c ? { name: c.name, region: c.region, ownerId: c.ownerId, phone: c.phone } : null;
}

/** Every record whose latest change is at or before the stored cursor is stored exactly as mapped. */
async function checkCursorInvariant(w: World, everSeen: Set<string>): Promise<void> {
  const { cursor } = await w.store.cursor(w.source.source);
  const upTo = cursor === null ? 0 : Number(cursor);
  for (const id of everSeen) {
    const live = w.source.records.get(id);
    const del = w.source.deletions.find((d) => d.sourceId === id);
    const lastSeq = live ? live.seq : del!.seq;
    if (lastSeq > upTo) continue;
    const got = await actual(w, id);
    if (live) {
      if (JSON.stringify(got) !== JSON.stringify(expected(live.fields))) throw new Error(`cursor ${upTo} passed ${id} (seq ${lastSeq}) but custos has ${JSON.stringify(got)}`);
    } else if (got !== null) throw new Error(`cursor ${upTo} passed the deletion of ${id} but custos still has it`);
  }
}

function checkAuditHasNoPii(w: World): void {
  const text = JSON.stringify(w.audit.events);
  for (const n of NAMES) if (text.includes(n)) throw new Error('an audit event carries a customer name');
  if (/@example\.com/.test(text)) throw new Error('an audit event carries an owner e-mail');
}

let counter = 0;
test('any history of changes, runs, webhooks and crashes ends, after one reconciliation, equal to the mapped source', async (t) => {
  const db = await testDatabase(import.meta.url);
  t.teardown(db.drop);
  await ensureIndexes(db.conn);
  await new SyncStore(db.conn).ensureIndexes();
  await fc.assert(fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 30 }), async (cmds) => {
    const w = await world(db.conn, counter++);
    const everSeen = new Set<string>();
    let next = 1;
    const pick = (i: number) => { const ids = [...w.source.records.keys()]; return ids.length ? ids[i % ids.length]! : null; };
    for (const c of cmds) {
      w.source.down = false;
      switch (c.k) {
        case 'create': {
          const id = `X${counter * 1000 + next++}`;
          everSeen.add(id);
          w.source.put(id, { Number__c: id.slice(1), Name: NAMES[c.name], Region__c: c.region, Owner: { Email: c.owner }, ...(c.phone ? { Phone: '13800138000' } : {}) });
          break;
        }
        case 'update': { const id = pick(c.pick); if (id) w.source.put(id, { ...w.source.records.get(id)!.fields, Name: NAMES[c.name], Region__c: c.region }); break; }
        case 'move': { const id = pick(c.pick); if (id) w.source.put(id, { ...w.source.records.get(id)!.fields, Owner: { Email: c.owner } }); break; }
        case 'delete': { const id = pick(c.pick); if (id) w.source.remove(id); break; }
        case 'sync': await w.runner.run(); break;
        case 'crashSync': w.store.crashBeforeAdvance = true; await w.runner.run().catch(() => undefined); w.store.crashBeforeAdvance = false; break;
        case 'down': { w.source.down = true; const err = await w.runner.run().then(() => null, (e: unknown) => e); if (!(err instanceof Error) || (err as { code?: string }).code !== 'custos_sync_source_failed') throw new Error(`a down source must fail the run as custos_sync_source_failed, got ${String(err)}`); break; }
        case 'webhook': {
          const id = [...everSeen][c.pick % Math.max(1, everSeen.size)];
          for (let i = 0; id && i < c.copies; i++) await w.runner.refresh([id]);
          break;
        }
      }
      await checkCursorInvariant(w, everSeen);
    }
    w.source.down = false;
    await w.runner.reconcile();
    for (const id of everSeen) {
      const live = w.source.records.get(id);
      t.deepEqual(await actual(w, id), live ? expected(live.fields) : null, `record ${id}`);
      if (!live && (await w.store.tombstoned(idOf(id))) === null) {
        // Deleted before it was ever stored: no tombstone needed, and no customer (checked above).
      }
    }
    const linked = await w.store.linkedIds(w.source.source);
    t.deepEqual(linked.map((l) => l.sourceId).sort(), [...w.source.records.keys()].sort());
    checkAuditHasNoPii(w);
    t.true(w.audit.events.filter((e) => e.action === 'sync.delete').every((e) => e.customerIds.length === 1 && Object.keys(e.meta ?? {}).join() === 'source'));
  }), { numRuns: RUNS, verbose: true });
});
