// The SOQL the Salesforce connector sends, and its cursor. Every value put into a query is either a
// datetime the connector formatted itself or a record id checked against Salesforce's id shape, so no
// text from a record or a caller reaches SOQL (no injection through ids).
import type { SyncMapping } from '../mapping.ts';

export const SF_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;

/**
 * Where the connector stands: the last stored record's SystemModstamp and Id (ties on SystemModstamp are
 * ordered by Id), and the time up to which deletions were read (getDeleted's `latestDateCovered`).
 * Written as `modstamp|id|deletionsUntil`, the Id as Salesforce spells it, so `custos sync status` shows
 * the record it stopped at. The audit records cursors through the runner's `auditableCursor`
 * (bot/sync/audit-cursor.ts), which fingerprints one the PII guard would refuse (an id such as
 * 001D000000IRFma holds a long digit run), so the cursor needs no encoding of its own.
 */
export interface SfCursor { modstamp: string | null; id: string | null; deletionsUntil: string }

export function encodeCursor(c: SfCursor): string {
  return `${c.modstamp ?? ''}|${c.id ?? ''}|${c.deletionsUntil}`;
}

/**
 * Reads a stored cursor. Cursors stored before this format wrote the Id base64url-encoded (20 or 24
 * characters, never a record id's 15 or 18), so those are still read and the sync resumes where it was.
 */
export function decodeCursor(s: string): SfCursor | null {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)?\|([A-Za-z0-9_-]{15,24})?\|(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$/.exec(s);
  if (!m || Boolean(m[1]) !== Boolean(m[2])) return null;
  const written = m[2];
  const id = written === undefined ? null : SF_ID.test(written) ? written : Buffer.from(written, 'base64url').toString('latin1');
  if (id !== null && !SF_ID.test(id)) return null;
  return { modstamp: m[1] ?? null, id, deletionsUntil: m[3]! };
}

/** A Salesforce dateTime (2026-06-01T08:00:00.000+0000) or a Date as a SOQL literal, to the second (Salesforce's precision). */
export function soqlDateTime(v: string | Date): string {
  const d = typeof v === 'string' ? new Date(v.replace(/([+-]\d\d)(\d\d)$/, '$1:$2')) : v;
  if (Number.isNaN(d.getTime())) throw new RangeError('not a Salesforce dateTime');
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The fields the mapping reads, plus Id and SystemModstamp, each once. */
export function selectedFields(mapping: SyncMapping): string[] {
  const wanted = ['Id', 'SystemModstamp', mapping.customerId.from, mapping.owner.from, ...Object.values(mapping.fields).map((f) => f.from)];
  return [...new Set(wanted)];
}

/** Changes after the cursor, oldest first, ties by Id: the incremental (and, from no cursor, the backfill) query. */
export function changesQuery(object: string, fields: readonly string[], after: SfCursor): string {
  const where = after.modstamp && after.id
    ? ` WHERE SystemModstamp > ${after.modstamp} OR (SystemModstamp = ${after.modstamp} AND Id > '${after.id}')`
    : '';
  return `SELECT ${fields.join(', ')} FROM ${object}${where} ORDER BY SystemModstamp ASC, Id ASC`;
}

export function byIdsQuery(object: string, fields: readonly string[], ids: readonly string[]): string {
  return `SELECT ${fields.join(', ')} FROM ${object} WHERE Id IN (${ids.map((id) => `'${id}'`).join(', ')})`;
}

export function countQuery(object: string): string {
  return `SELECT COUNT() FROM ${object}`;
}

export function liveIdsQuery(object: string): string {
  return `SELECT Id FROM ${object} ORDER BY Id ASC`;
}
