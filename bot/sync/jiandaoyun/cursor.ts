// The 简道云 cursor. The data list has no "changed since" cursor: `data_id` pages strictly by record id,
// whatever the update time. Incremental reads therefore scan a window of `updateTime` (filter method
// `range`, inclusive at both ends) and page through it by `data_id`:
//
//   "v1|<from>|<to>|<lastDataId>"   mid-scan: the window [from, to] and the last id stored
//   "v1|<from>||"                   between scans: the next window starts at `from`
//
// The window's end is fixed when its scan starts (custos's clock minus a margin for clock skew and for
// writes in flight), so a record edited again while the scan passes over it falls into the next window
// instead of being skipped, and the next window starts exactly where this one ended: contiguous windows
// on 简道云's own updateTime, no gap whatever the page boundaries. Records on a boundary (several with the
// same updateTime, or exactly at `to`) are read twice, which is harmless: upserts are idempotent.
// Deletions never appear in the data list; reconciliation and data_remove webhooks find them.
// The last id is written as 简道云 gives it (24 hex digits). Ids with a run of nine digits (about one in
// five) would fail the audit's PII guard, but the runner records cursors through `auditableCursor`
// (bot/sync/audit-cursor.ts), which fingerprints such a cursor. Cursors stored before wrote the id's digits
// as letters (0→g … 9→p); they are still read, so a sync resumes where it was.
export const JDY_EPOCH = '1970-01-01T00:00:00.000Z';

/** The older form's id (digits written as letters); an id of hex letters only is the same in both forms. */
const fromLetters = (s: string) => s.replace(/[g-p]/g, (c) => String(c.charCodeAt(0) - 103));

export interface JdyCursor { from: string; to: string | null; lastId: string | null }

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function encodeJdyCursor(c: JdyCursor): string {
  return `v1|${c.from}|${c.to ?? ''}|${c.lastId ?? ''}`;
}

/** null (never synced) → a backfill window from the epoch; anything unreadable is a coded problem for the caller. */
export function decodeJdyCursor(cursor: string | null): JdyCursor | 'invalid' {
  if (cursor === null) return { from: JDY_EPOCH, to: null, lastId: null };
  const [v, from, to, written, ...rest] = cursor.split('|');
  const lastId = written === undefined ? 'invalid' : written === '' ? '' : /^[0-9a-f]{24}$/.test(written) ? written : /^[a-p]{24}$/.test(written) ? fromLetters(written) : 'invalid';
  if (v !== 'v1' || rest.length || !from || !ISO.test(from) || (to && !ISO.test(to)) || (lastId && !/^[0-9a-f]{24}$/.test(lastId))) return 'invalid';
  if (!to && lastId) return 'invalid';
  return { from, to: to || null, lastId: lastId || null };
}
