// Which MongoDB-wire server answers a connection, for the one thing that differs between them here:
// whether secondary (non-unique) indexes ever serve a query. FerretDB 1.x does not use them — on
// PostgreSQL it pushes a top-level equality down as `(_jsonb -> 'f') @> value`, which its btree index on
// `(_jsonb -> 'f')` cannot answer, and it pushes down no sort; on SQLite it pushes down no filter on a
// field but `_id` (explain: "Seq Scan" / "SCAN" for every audit query, `sortPushdown: false`;
// test/server-kind.test.ts holds the server to it). There such an index is only a cost on every
// insert; its unique indexes still enforce uniqueness, and are always created.
import type { Connection } from 'mongoose';

export type ServerKind = 'mongodb' | 'ferretdb1' | 'ferretdb';

const known = new WeakMap<Connection, Promise<ServerKind>>();

/** The server behind `conn` (asked once per connection: `buildInfo`). */
export function serverKind(conn: Connection): Promise<ServerKind> {
  let kind = known.get(conn);
  if (!kind) {
    kind = askServer(conn);
    known.set(conn, kind);
    kind.catch(() => known.delete(conn)); // a failed ask is asked again next time
  }
  return kind;
}

async function askServer(conn: Connection): Promise<ServerKind> {
  const info = await conn.db!.admin().command({ buildInfo: 1 });
  const ferret = info.ferretdbVersion;
  if (typeof ferret !== 'string') return 'mongodb';
  // A build from the Go module reports "unknown"; FerretDB 2 (on DocumentDB) plans with its indexes.
  return /^v?[2-9]\./.test(ferret) ? 'ferretdb' : 'ferretdb1';
}

/** Whether non-unique indexes would serve queries on this server (see above). */
export async function usesSecondaryIndexes(conn: Connection): Promise<boolean> {
  return (await serverKind(conn)) !== 'ferretdb1';
}
