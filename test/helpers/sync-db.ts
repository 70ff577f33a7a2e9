// A fresh database with everything a sync test stores into: custos's indexes, the sync store, and the
// grant and request stores a deletion revokes and cancels through; and a connector's runner on it.
import type { ExecutionContext } from 'ava';
import type { FieldCipher } from '../../bot/store/crypto.ts';
import { CustomerStore } from '../../bot/store/customer-store.ts';
import { ensureIndexes } from '../../bot/store/db.ts';
import { MongoGrantStore } from '../../bot/store/grant-store.ts';
import { MongoRequestStore } from '../../bot/store/request-store.ts';
import { StoreCustomerRevoker } from '../../bot/sync/customer-revoker.ts';
import type { SyncMapping } from '../../bot/sync/mapping.ts';
import type { Connector } from '../../bot/sync/types.ts';
import { RateBudget } from '../../bot/sync/rate-budget.ts';
import { SyncRunner } from '../../bot/sync/runner.ts';
import { SyncStore } from '../../bot/sync/sync-store.ts';
import { testDatabase } from './services.ts';
import { RecordingAudit } from './sync-model-source.ts';

export async function syncDatabase(t: ExecutionContext, name: string) {
  const db = await testDatabase(name);
  t.teardown(db.drop);
  await ensureIndexes(db.conn);
  const store = new SyncStore(db.conn);
  await store.ensureIndexes();
  const grants = new MongoGrantStore(db.conn);
  await grants.ensureIndexes();
  const requests = new MongoRequestStore(db.conn);
  await requests.ensureIndexes();
  return { db, store, grants, requests };
}

/** A clock a connector test moves by hand (the rate budget's sleeps move it too). */
export class TestClock {
  t: number;
  constructor(start = '2026-06-01T00:00:00Z') { this.t = Date.parse(start); }
  now = (): Date => new Date(this.t);
  advance(ms: number): void { this.t += ms; }
}

/** What a connector test needs to build its connector: a rate budget that sleeps on the test clock. */
export type TestBudget = (perSecond: number) => RateBudget;

/**
 * A connector's runner on a fresh database, as the sync worker builds it: the customer store (under
 * `cipher`), the sync store, deletions revoking grants and cancelling requests, a recording audit, and a
 * rate budget whose every sleep is recorded in `sleeps` and moves `clock` instead of waiting.
 */
export async function connectorRunner(t: ExecutionContext, file: string, opts: {
  source: string; mapping: SyncMapping; cipher: FieldCipher; clock: TestClock; connector: (budget: TestBudget) => Connector;
}) {
  const { db, store, grants, requests } = await syncDatabase(t, file);
  const customers = new CustomerStore(db.conn, opts.cipher);
  const audit = new RecordingAudit();
  const sleeps: number[] = [];
  const budget: TestBudget = (perSecond) => new RateBudget({
    source: opts.source, perSecond, share: 1, clock: opts.clock, random: () => 0.5, sleep: async (ms) => { sleeps.push(ms); opts.clock.advance(ms); },
  });
  const runner = new SyncRunner({ customers, store, recorder: audit, clock: opts.clock, employees: { byEmail: async () => null }, revoker: new StoreCustomerRevoker(grants, requests) }, opts.connector(budget), opts.mapping);
  return { store, customers, audit, runner, sleeps };
}
