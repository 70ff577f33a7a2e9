// Opens what the data commands (seed, import) need from the configuration: a connection with the
// customer / employee indexes in place, and the field cipher. `close()` must be called when done.
import type { Connection } from 'mongoose';
import { loadConfig, section } from '../config.ts';
import { FieldCipher } from './crypto.ts';
import { connectDatabase, ensureIndexes } from './db.ts';
import { applyErasureList } from './erasure.ts';
import { systemClock } from '../core/ports.ts';

export interface DataStores { conn: Connection; cipher: FieldCipher; close: () => Promise<void> }

export async function openDataStores(env: NodeJS.ProcessEnv = process.env): Promise<DataStores> {
  const config = loadConfig(env, { require: ['mongo', 'crypto'] });
  const cipher = new FieldCipher(section(config, 'crypto'));
  const conn = await connectDatabase(section(config, 'mongo'));
  try {
    await ensureIndexes(conn);
    // Erased customers stay erased, also in a database restored from a backup (erasure.ts).
    await applyErasureList(conn, section(config, 'crypto').erasureList, systemClock);
  } catch (err) {
    await conn.close().catch(() => undefined);
    throw err;
  }
  return { conn, cipher, close: async () => { await conn.close().catch(() => undefined); } };
}
