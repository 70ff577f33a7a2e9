// The canary row: a synthetic customer from the demo generator (realistic Chinese names, valid-looking
// phones and IDs), seeded per export, with the segment's attributes so it fits the list, and an id that
// no stored customer has. Masked exactly like the real rows, it cannot be told from them by eye.
import type { Customer } from '../../bot/core/domain.ts';
import { canarySeed } from '../../bot/core/export-watermark.ts';
import { demoCustomerId, demoCustomers } from '../../bot/store/demo-data.ts';

export async function makeCanary(key: Buffer, exportId: string, conditions: Record<string, string>, exists: (customerId: string) => Promise<boolean>, knownCount: number): Promise<Customer> {
  const seed = canarySeed(key, exportId);
  const n = parseInt(seed.slice(0, 6), 16);
  let canary: Customer | undefined;
  for (const c of demoCustomers(1 + (n % 40), `canary:${seed}`)) canary = c;
  // An id just above the stored range reads like a recent customer; step on until it is unused.
  let id = knownCount + 1 + (n % 997);
  while (await exists(demoCustomerId(id))) id += 1 + (n % 13);
  return { ...canary!, ...(conditions as Partial<Customer>), customerId: demoCustomerId(id) };
}
