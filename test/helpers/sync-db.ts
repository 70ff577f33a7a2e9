// A fresh database with everything a sync test stores into: custos's indexes, the sync store, and the
// grant and request stores a deletion revokes and cancels through.
import type { ExecutionContext } from 'ava';
import { ensureIndexes } from '../../bot/store/db.ts';
import { MongoGrantStore } from '../../bot/store/grant-store.ts';
import { MongoRequestStore } from '../../bot/store/request-store.ts';
import { SyncStore } from '../../bot/sync/sync-store.ts';
import { testDatabase } from './services.ts';

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
