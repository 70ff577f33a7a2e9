// Live ids for reconciliation through Zoho's Query API (COQL, POST /crm/v8/coql), as an id keyset.
// Why not Get Records: its page_token walk stops at 100,000 records (Zoho's Get Records document) and a
// COQL LIMIT/OFFSET walk stops at 100,000 as well (COQL-Limitations, v8); the COQL documents' way past
// both is to filter on the last id read instead of an offset. So each page is
//   select id from <module> where id > '<last id>' order by id asc limit 2000
// (the first `where id is not null`: COQL needs a WHERE). The position is the last id itself: nothing
// expires, a page refused on the way (429 waited out by the rate budget, a dropped connection) is asked
// again from the same id, and a module of any size is listed in ceil(n / 2000) calls of 3 API credits
// each (Zoho charges COQL by LIMIT: 1–200 one credit, ≤ 1,000 two, ≤ 2,000 three — 1.5 credits per
// thousand ids against 5 for Get Records' 200-record pages). Needs the ZohoCRM.coql.READ scope.
import type { ZohoAnswer, ZohoApi } from './api.ts';

/** Rows per COQL call: Zoho's largest LIMIT. */
export const ZOHO_COQL_LIMIT = 2000;
const ZOHO_ID = /^\d{5,19}$/;
const MODULE = /^[A-Za-z][A-Za-z0-9_]{0,99}$/;

interface CoqlAnswer { data?: { id?: unknown }[]; info?: { more_records?: boolean } }

/** The COQL statement for the page after `lastId` (null: the first page). Ids are digits, checked before. */
export function liveIdsQuery(module: string, lastId: string | null): string {
  if (!MODULE.test(module)) throw new Error(`not a Zoho module API name: ${module}`);
  const where = lastId === null ? 'id is not null' : `id > '${lastId}'`;
  return `select id from ${module} where ${where} order by id asc limit ${ZOHO_COQL_LIMIT}`;
}

/** Every id of `module` in ascending order, a page at a time; each page is one budgeted call. */
export async function* zohoLiveIds(api: ZohoApi, module: string): AsyncIterable<string[]> {
  let lastId: string | null = null;
  for (;;) {
    const res: ZohoAnswer<CoqlAnswer> = await api.call<CoqlAnswer>('POST', 'coql', { json: { select_query: liveIdsQuery(module, lastId) } });
    const ids: string[] = (res.body?.data ?? []).map((r) => r.id).filter((id): id is string => typeof id === 'string' && ZOHO_ID.test(id));
    if (ids.length) yield ids;
    // Ids compare as numbers (up to 19 digits): the next page starts after the largest one seen.
    const next: string | null = ids.reduce<string | null>((max, id) => (max === null || BigInt(id) > BigInt(max) ? id : max), lastId);
    if (!res.body?.info?.more_records || next === lastId) return;
    lastId = next;
  }
}
