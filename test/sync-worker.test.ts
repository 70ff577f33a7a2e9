// The sync worker on real Redis: its job schedulers run each pulled source and reconcile it, so a
// record created in the source appears in custos, and one deleted in the source is gone, with no command.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { createLogger } from '../bot/logger.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { CustomerStore } from '../bot/store/customer-store.ts';
import { ensureIndexes } from '../bot/store/db.ts';
import { MongoGrantStore } from '../bot/store/grant-store.ts';
import { MongoRequestStore } from '../bot/store/request-store.ts';
import { StoreCustomerRevoker } from '../bot/sync/customer-revoker.ts';
import { parseMapping } from '../bot/sync/mapping.ts';
import { SyncRunner } from '../bot/sync/runner.ts';
import { SyncStore } from '../bot/sync/sync-store.ts';
import { startSyncWorker } from '../workers/sync/worker.ts';
import { ModelSource, RecordingAudit } from './helpers/sync-model-source.ts';
import { dropPrefix, requireEnv, testDatabase, uniqueName } from './helpers/services.ts';

const mapping = parseMapping(readFileSync(new URL('./fixtures/sync/model.yaml', import.meta.url), 'utf8'));
const cipher = new FieldCipher({ dataKeys: [{ id: 'k1', key: Buffer.alloc(32, 11) }], blindIndexKey: Buffer.alloc(32, 12) });

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1200; i++) { if (await check()) return; await new Promise((r) => setTimeout(r, 50)); } // up to 60 s under CI load
  throw new Error(`never happened: ${what}`);
}

test('scheduled runs bring creations and deletions over without a command', async (t) => {
  const db = await testDatabase(import.meta.url);
  t.teardown(db.drop);
  const prefix = uniqueName(import.meta.url, 'prefix');
  t.teardown(() => dropPrefix(prefix));
  await ensureIndexes(db.conn);
  const store = new SyncStore(db.conn);
  await store.ensureIndexes();
  const customers = new CustomerStore(db.conn, cipher);
  const source = new ModelSource('model');
  const runner = new SyncRunner({
    customers, store, recorder: new RecordingAudit(), clock: { now: () => new Date() },
    employees: { byEmail: async () => ({ employeeId: 'E-0001' }) },
    revoker: new StoreCustomerRevoker(new MongoGrantStore(db.conn), new MongoRequestStore(db.conn)),
  }, source, mapping);
  source.put('a1', { Number__c: 1, Name: 'A', Region__c: 'CN-N', Owner: { Email: 'ann@example.com' } });
  source.put('a2', { Number__c: 2, Name: 'B', Region__c: 'CN-S', Owner: { Email: 'ann@example.com' } });
  const worker = await startSyncWorker({ redis: requireEnv('REDIS_URL'), prefix, runners: new Map([['model', runner]]), intervalMs: 300, reconcileMs: 600, logger: createLogger({ level: 'silent' }) });
  t.teardown(() => worker.close());
  await until(async () => (await customers.count()) === 2, 'both customers stored');
  source.remove('a1');
  await until(async () => (await customers.get('C-000001')) === null, 'the deleted customer gone');
  t.truthy(await store.tombstoned('C-000001'));
  t.truthy(await customers.get('C-000002'));
});
