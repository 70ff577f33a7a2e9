// A marker that the demo company is fully seeded: `custos demo` on existing data checks it and skips the
// re-seed (an idempotent upsert of every customer is still minutes on FerretDB). Written only after a seed
// has completed, so an interrupted seed is redone; it names the seed and the size, so asking for another
// size or seed seeds again.
import type { Connection } from 'mongoose';

const COLLECTION = 'demo_seed';
const MARKER_ID = 'demo-company';

/**
 * Version of the stored customer format the marker's seed wrote. 2: personal values sealed under
 * per-customer data keys (issue 19); a demo seeded in an older format is seeded again, which rewrites it.
 */
export const CUSTOMER_FORMAT = 2;

export interface DemoSeedMarker { seed: string; customers: number; completedAt: Date; format?: number }

interface MarkerDoc extends DemoSeedMarker { _id: string }

export async function readDemoSeedMarker(conn: Connection): Promise<DemoSeedMarker | null> {
  const doc = await conn.collection<MarkerDoc>(COLLECTION).findOne({ _id: MARKER_ID });
  return doc ? { seed: doc.seed, customers: doc.customers, completedAt: doc.completedAt, ...(doc.format !== undefined ? { format: doc.format } : {}) } : null;
}

export async function writeDemoSeedMarker(conn: Connection, marker: DemoSeedMarker): Promise<void> {
  await conn.collection<MarkerDoc>(COLLECTION).replaceOne({ _id: MARKER_ID }, { ...marker, format: CUSTOMER_FORMAT }, { upsert: true });
}

export async function clearDemoSeedMarker(conn: Connection): Promise<void> {
  await conn.collection<MarkerDoc>(COLLECTION).deleteOne({ _id: MARKER_ID });
}

/** True when the marker says exactly this seed and size are already in the database. */
export function seededAlready(marker: DemoSeedMarker | null, want: { seed: string; customers: number }): boolean {
  return marker !== null && marker.seed === want.seed && marker.customers === want.customers && marker.format === CUSTOMER_FORMAT;
}
