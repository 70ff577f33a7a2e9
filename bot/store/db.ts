// Database connection and index creation. Indexes are built explicitly (autoIndex is off in the schemas)
// so a deploy step or the CLI decides when, and so "the unique index exists" holds before the first
// write that relies on it.
import mongoose, { type Connection } from 'mongoose';
import { EmployeeStore } from './employee-store.ts';
import { customerModel, employeeModel } from './models.ts';

export interface MongoSettings { uri: string; db: string }

/** Opens a connection to `settings.db`; rejects quickly when the server is unreachable. */
export async function connectDatabase(settings: MongoSettings, opts: { serverSelectionTimeoutMS?: number } = {}): Promise<Connection> {
  return mongoose.createConnection(settings.uri, {
    dbName: settings.db,
    autoIndex: false,
    autoCreate: true,
    serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? 10_000,
  }).asPromise();
}

/**
 * Creates every index of the customer and employee collections, then gives employees stored before the
 * chat-id key index their keys (EmployeeStore.migrateChatKeys). Idempotent.
 */
export async function ensureIndexes(conn: Connection): Promise<void> {
  for (const model of [customerModel(conn), employeeModel(conn)]) {
    await model.createCollection().catch((err: unknown) => {
      // NamespaceExists (48) is fine: the collection is there already.
      if ((err as { code?: unknown }).code !== 48) throw err;
    });
    await model.createIndexes();
  }
  await new EmployeeStore(conn).migrateChatKeys();
}
