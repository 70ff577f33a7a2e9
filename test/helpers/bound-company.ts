// What every chat-platform harness (Slack, Lark, DingTalk, WeCom) sets up the same way: the demo company
// seeded into the test database, each employee bound to their id on the platform (except the ones a test
// keeps unbound), and the tear-down of bot, workers, fake platform API, database and Redis prefix.
import type { Connection } from 'mongoose';
import type { Config } from '../../bot/config.ts';
import type { Employee } from '../../bot/core/domain.ts';
import { FieldCipher } from '../../bot/store/crypto.ts';
import { CustomerStore } from '../../bot/store/customer-store.ts';
import type { DemoEmployeeKey } from '../../bot/store/demo-company.ts';
import { chatKey, EmployeeStore } from '../../bot/store/employee-store.ts';
import { seedDemo } from '../../bot/store/seed.ts';
import { dropPrefix } from './services.ts';

export interface BindOn {
  platform: string;
  idOf: (e: Employee) => string;
  employees: Record<DemoEmployeeKey, Employee>;
  unbound?: readonly DemoEmployeeKey[];
}

/** The demo company with `customers` customers, every employee but `unbound` bound on `bind.platform`. */
export async function seedBoundCompany(conn: Connection, config: Config, seed: { customers: number; seed: string }, bind: BindOn): Promise<{ customers: CustomerStore; directory: EmployeeStore }> {
  const cipher = new FieldCipher(config.crypto!);
  await seedDemo(conn, cipher, seed);
  const customers = new CustomerStore(conn, cipher);
  const directory = new EmployeeStore(conn);
  const unbound = new Set(bind.unbound ?? []);
  // The document each binding would leave (EmployeeStore.bindChatId: the platform's id in the chat map, its
  // key in chatKeys), written in one bulk write. bindChatId's reads around its write (who holds the id
  // already, a race for it) find nothing in this fresh database, yet cost four collection scans each on
  // FerretDB: about 0.7 s of CPU in every harness start. Binding itself is tested where it is the subject.
  const ops = (Object.entries(bind.employees) as [DemoEmployeeKey, Employee][]).filter(([key]) => !unbound.has(key)).map(([, e]) => {
    const id = bind.idOf(e);
    return { updateOne: { filter: { employeeId: e.employeeId }, update: { $set: { [`chat.${bind.platform}`]: id }, $addToSet: { chatKeys: chatKey(bind.platform as never, id) } } } };
  });
  const res = await directory.model.collection.bulkWrite(ops, { ordered: false });
  if (res.matchedCount !== ops.length) throw new Error(`seedBoundCompany: ${res.matchedCount} of ${ops.length} employees bound`);
  return { customers, directory };
}

interface Closable { close(): Promise<unknown> }

/** Bot, then workers, then the fake platform API, then the database and the Redis prefix; each only if started. */
export async function closeHarness(parts: { bot: Closable | undefined; workers: Closable | undefined; fake: { stop(): Promise<unknown> }; db: { drop(): Promise<unknown> } | undefined; prefix: string | undefined }): Promise<void> {
  await parts.bot?.close().catch(() => undefined);
  await parts.workers?.close().catch(() => undefined);
  await parts.fake.stop();
  await parts.db?.drop();
  if (parts.prefix) await dropPrefix(parts.prefix);
}
