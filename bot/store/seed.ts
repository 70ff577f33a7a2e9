// `custos seed --demo`: writes the demo company (fixed staff table + N seeded customers) through the same
// idempotent upserts as the importer, so seeding twice with the same seed changes nothing.
import type { Connection } from 'mongoose';
import type { Customer } from '../core/domain.ts';
import type { FieldCipher } from './crypto.ts';
import { CustomerStore, type UpsertCounts } from './customer-store.ts';
import { ensureIndexes } from './db.ts';
import { demoEmployeeList } from './demo-company.ts';
import { demoCustomers } from './demo-data.ts';
import { clearDemoSeedMarker, writeDemoSeedMarker } from './demo-seed-marker.ts';
import { EmployeeStore } from './employee-store.ts';

export const DEFAULT_DEMO_CUSTOMERS = 2000;
export const DEFAULT_DEMO_SEED = 'custos-demo';
const BATCH = 1000;

export interface SeedOptions {
  customers?: number;
  seed?: string;
  onProgress?: (written: number, total: number) => void;
  /** Customers per write (and per progress report); default 1000. */
  batchSize?: number;
}

export interface SeedResult { employees: UpsertCounts; customers: UpsertCounts; seed: string }

export async function seedDemo(conn: Connection, cipher: FieldCipher, opts: SeedOptions = {}): Promise<SeedResult> {
  const total = opts.customers ?? DEFAULT_DEMO_CUSTOMERS;
  const seed = opts.seed ?? DEFAULT_DEMO_SEED;
  await ensureIndexes(conn);
  // Cleared first and written last: a marker always means "this seed, this size, completed" (demo restarts).
  await clearDemoSeedMarker(conn);
  const employees = await new EmployeeStore(conn).upsertMany(demoEmployeeList());
  const store = new CustomerStore(conn, cipher);
  const customers: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0 };
  let batch: Customer[] = [];
  let written = 0;
  const flush = async () => {
    const c = await store.upsertMany(batch);
    customers.inserted += c.inserted;
    customers.updated += c.updated;
    customers.unchanged += c.unchanged;
    written += batch.length;
    batch = [];
    opts.onProgress?.(written, total);
  };
  for (const customer of demoCustomers(total, seed)) {
    batch.push(customer);
    if (batch.length >= (opts.batchSize ?? BATCH)) await flush();
  }
  if (batch.length > 0) await flush();
  await writeDemoSeedMarker(conn, { seed, customers: total, completedAt: new Date() });
  return { employees, customers, seed };
}
