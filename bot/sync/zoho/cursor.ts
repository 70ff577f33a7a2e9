// The Zoho CRM cursor. An incremental read is a scan of the module sorted by Modified_Time with
// `If-Modified-Since: <since>`, paged with page_token; before its record pages, each scan reads the
// deleted records since the same time (`/{module}/deleted`). The next scan's `since` is fixed when a
// scan starts (custos's clock minus a margin for clock skew and writes in flight), so a record edited
// while the scan passes over it falls into the next scan instead of being skipped; records near the
// boundary are read twice, harmlessly (upserts are idempotent).
//
//   "z1|<since>|<next>|d|"         a scan from `since` starts with its deletions
//   "z1|<since>|<next>|r|<token>"  reading its records: the page token (base64url) of the next page, or none
//   "z1|…|r|<token>|<last>"         and the Modified_Time of the last record read: when the page-token walk
//                                   reaches Zoho's 100,000-record limit, the scan goes on from there
//
// `since` is empty for the backfill (no If-Modified-Since). Page tokens are Zoho's and stay valid for a
// day, so a fresh process (after a crash) goes on from the stored one; an expired one restarts the scan.
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export interface ZohoCursor { since: string | null; next: string | null; phase: 'd' | 'r'; token: string | null; last?: string | null }

export const BACKFILL: ZohoCursor = { since: null, next: null, phase: 'r', token: null };

export function encodeZohoCursor(c: ZohoCursor): string {
  const base = `z1|${c.since ?? ''}|${c.next ?? ''}|${c.phase}|${c.token ? Buffer.from(c.token).toString('base64url') : ''}`;
  return c.last && c.token ? `${base}|${c.last}` : base;
}

export function decodeZohoCursor(cursor: string | null): ZohoCursor | 'invalid' {
  if (cursor === null) return BACKFILL;
  const [v, since, next, phase, token, last, ...rest] = cursor.split('|');
  if (v !== 'z1' || rest.length || (phase !== 'd' && phase !== 'r') || token === undefined) return 'invalid';
  if ((since && !ISO.test(since)) || (next && !ISO.test(next)) || !/^[A-Za-z0-9_-]*$/.test(token)) return 'invalid';
  if (last !== undefined && (!ISO.test(last) || !token)) return 'invalid';
  if (phase === 'd' && (!since || token)) return 'invalid';
  return { since: since || null, next: next || null, phase, token: token ? Buffer.from(token, 'base64url').toString('utf8') : null, last: last ?? null };
}
