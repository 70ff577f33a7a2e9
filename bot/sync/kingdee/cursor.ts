// The 金蝶云星空 cursor: a keyset position in ExecuteBillQuery's order (FModifyDate, FCUSTID), never a row
// offset — StartRow paging over rows that change while a scan passes would skip one for every row that
// moved out from in front of it. Keyset paging asks for rows strictly after the last one stored, so a row
// edited mid-scan is simply met again further on.
//
//   "kd1|at|<modified>|<id>"      mid-scan: the last row stored
//   "kd1|rewind|<modified>|<id>"  between runs: the next run starts REWIND_MS before <modified>
//
// K/3 Cloud stamps FModifyDate when a change is saved, in the server's local time, without a zone; a save
// that commits after a later one was already read would carry an earlier stamp than the cursor. Each run
// therefore re-reads the last few minutes (upserts are idempotent, unchanged rows are not rewritten).
// Times are only ever compared with K/3's own, so its zone never matters.
export const REWIND_MS = 5 * 60_000;

export interface KingdeePosition { modified: string; id: number }
export type KingdeeCursor = { kind: 'start' } | { kind: 'at' | 'rewind'; position: KingdeePosition };

const STAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,7})?$/;

/** K/3's stamp as a filter literal ('2026-06-01 08:00:00.123'); null when it is not one. */
export function stampLiteral(value: unknown): string | null {
  return typeof value === 'string' && STAMP.test(value) ? value.replace('T', ' ') : null;
}

export function rewound(stamp: string): string {
  const t = Date.parse(`${stamp.replace(' ', 'T')}Z`) - REWIND_MS; // zone-less arithmetic: both ends are K/3 local time
  return new Date(t).toISOString().slice(0, 23).replace('T', ' ');
}

export function encodeKingdeeCursor(kind: 'at' | 'rewind', p: KingdeePosition): string {
  return `kd1|${kind}|${p.modified}|${p.id}`;
}

export function decodeKingdeeCursor(cursor: string | null): KingdeeCursor | 'invalid' {
  if (cursor === null) return { kind: 'start' };
  const [v, kind, modified, id, ...rest] = cursor.split('|');
  if (v !== 'kd1' || rest.length || (kind !== 'at' && kind !== 'rewind') || !modified || !STAMP.test(modified) || !/^\d{1,15}$/.test(id ?? '')) return 'invalid';
  return { kind, position: { modified, id: Number(id) } };
}
