// Indexes FerretDB 1.24 on PostgreSQL can actually use. FerretDB pushes a top-level equality filter down
// as `(_jsonb -> 'field') @> '"value"'`, but the indexes it creates for `createIndex` are btree indexes
// on `(_jsonb -> 'field')`, which PostgreSQL cannot use for `@>`: every lookup is a sequential scan of
// the collection's table (measured: ~15 ms at 10,000 documents, growing linearly). A GIN index
// (jsonb_path_ops) on the same expression serves `@>` (0.05 ms). The benches add one per lookup key,
// to the database both the baseline and custos read, so they measure the product on a store that can
// index its lookups — as MongoDB does with the product's own indexes. Not used by the product itself.
import { spawnSync } from 'node:child_process';

/** The PostgreSQL database FerretDB stores into (set by scripts/services.mjs), when it runs on PostgreSQL. */
export function ferretDbPostgresUrl(): string | undefined {
  return process.env.CUSTOS_FERRETDB_PG_DATABASE_URL || undefined;
}

function psql(url: string, sql: string): string {
  const r = spawnSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql failed: ${(r.stderr || '').trim()} (${sql.slice(0, 120)})`);
  return r.stdout.trim();
}

const identifier = (s: string) => `"${s.replace(/"/g, '""')}"`;
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The expression FerretDB's pushdown compares: `->` for a top-level field, `#>` with a path for a dotted one. */
function pushdownExpression(field: string): string {
  if (!field.includes('.')) return `(_jsonb -> ${literal(field)})`;
  return `(_jsonb #> ${literal(`{${field.split('.').join(',')}}`)})`;
}

/**
 * Adds GIN indexes serving FerretDB's equality pushdown on `fields` of `database.collection`, then
 * ANALYZEs the table. Returns false (and does nothing) when FerretDB does not run on PostgreSQL.
 */
export function indexEqualityPushdown(database: string, collection: string, fields: readonly string[]): boolean {
  const url = ferretDbPostgresUrl();
  if (!url) return false;
  const schema = identifier(database);
  // FerretDB names a collection's table by a hash; its metadata table maps the collection to it.
  const table = psql(url, `SELECT _jsonb->>'table' FROM ${schema}._ferretdb_database_metadata WHERE _jsonb->>'_id' = ${literal(collection)}`);
  if (!table) throw new Error(`FerretDB has no table for ${database}.${collection}`);
  for (const field of fields) {
    const name = identifier(`${table}_${field.replace(/\W/g, '_')}_gin`);
    psql(url, `CREATE INDEX IF NOT EXISTS ${name} ON ${schema}.${identifier(table)} USING gin (${pushdownExpression(field)} jsonb_path_ops)`);
  }
  psql(url, `ANALYZE ${schema}.${identifier(table)}`);
  return true;
}
