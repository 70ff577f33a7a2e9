// How a cursor appears in `sync.run` audit events. Cursors are made by connectors (timestamps, record
// ids, epoch milliseconds, page tokens) and the audit log's PII guard refuses free text with a run of
// nine digits or an e-mail shape, so a cursor such as `1733212800000` would fail a successful run at
// its audit. The event records the cursor itself when it passes the guard, else a fingerprint of it —
// letters only, so it can never look like a number — which still tells two cursors apart and matches
// the cursor stored in `sync_cursors` (`fingerprintCursor` of it).
import { createHash } from 'node:crypto';
import { looksLikePii } from '../core/audit-event.ts';

/** Longest cursor recorded as it is (the audit schema's free-text slot holds 200 characters). */
const MAX_PLAIN = 200;

/** sha256 of the cursor, first 12 bytes, each nibble as a letter a–p. */
export function fingerprintCursor(cursor: string): string {
  const bytes = createHash('sha256').update(cursor).digest().subarray(0, 12);
  let out = 'fp:';
  for (const b of bytes) out += String.fromCharCode(97 + (b >> 4), 97 + (b & 15));
  return out;
}

export function auditableCursor(cursor: string | null): string {
  if (cursor === null) return '';
  return cursor.length <= MAX_PLAIN && looksLikePii(cursor) === null ? cursor : fingerprintCursor(cursor);
}
