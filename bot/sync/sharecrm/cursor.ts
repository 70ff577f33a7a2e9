// The 纷享销客 connector's cursor: a keyset position on (last_modified_time, _id), as text.
//   "sc1|at|<ms>|<_id>"      within a scan: the last record stored
//   "sc1|rewind|<ms>|<_id>"  between runs: the next run starts REWIND_MS before <ms>
//
// 纷享销客 stamps last_modified_time (epoch milliseconds) when a change is saved; a save that commits after a
// later one was already read would carry an earlier stamp than the cursor. Each run therefore re-reads the
// last few minutes (upserts are idempotent, unchanged records are not rewritten).
export const REWIND_MS = 5 * 60_000;

export interface ShareCrmPosition { modified: number; id: string }
export type ShareCrmCursor = { kind: 'start' } | { kind: 'at' | 'rewind'; position: ShareCrmPosition };

/** _id values are hex object ids; anything else is refused before it reaches a filter. */
export const DATA_ID = /^[A-Za-z0-9]{1,64}$/;

export function encodeShareCrmCursor(kind: 'at' | 'rewind', p: ShareCrmPosition): string {
  return `sc1|${kind}|${p.modified}|${p.id}`;
}

export function decodeShareCrmCursor(cursor: string | null): ShareCrmCursor | 'invalid' {
  if (cursor === null) return { kind: 'start' };
  const [v, kind, modified, id, ...rest] = cursor.split('|');
  if (v !== 'sc1' || rest.length || (kind !== 'at' && kind !== 'rewind') || !/^\d{1,15}$/.test(modified ?? '') || !DATA_ID.test(id ?? '')) return 'invalid';
  return { kind, position: { modified: Number(modified), id: id! } };
}
