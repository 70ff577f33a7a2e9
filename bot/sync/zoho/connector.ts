// The Zoho CRM connector on REST API v8 (shapes from Zoho's published OpenAPI files, github.com/zoho/crm-oas
// v8.0: getRecords, getDeletedRecords, field metadata, notifications):
//   readChanges     a scan sorted by Modified_Time with If-Modified-Since, paged with page_token and
//                   per_page, its deletions first from /{module}/deleted (cursor.ts); the watch channel is
//                   subscribed or renewed on the way (channel.ts)
//   readByIds       GET /{module}?ids=…&fields=…: ids absent from the answer are gone
//   listLiveIds     the Query API (POST /coql): `select id … where id > '<last id>' order by id limit 2000`,
//                   an id keyset with no page token, so no 100,000-record ceiling (coql.ts)
//   describeFields  GET /settings/fields?module=…
//   verifyWebhook   the channel's token, id and module on every notification (webhook.ts)
// Only the fields the mapping reads are requested. Deleted records stay listed by Zoho for as long as
// its recycle bin keeps them (60 days); a cursor older than that asks the runner to reconcile.
import { CustosError, ErrorCode } from '../../core/errors.ts';
import type { Clock } from '../../core/ports.ts';
import type { Logger } from '../../logger.ts';
import type { SyncMapping } from '../mapping.ts';
import type { ChangePage, Connector, SourceChange, SourceField, SourceRecord, WebhookRequest, WebhookResult } from '../types.ts';
import { ZohoRefused, type ZohoApi } from './api.ts';
import { ZohoChannel, zohoDateTime } from './channel.ts';
import { zohoLiveIds } from './coql.ts';
import { decodeZohoCursor, encodeZohoCursor, type ZohoCursor } from './cursor.ts';
import type { ZohoSettings } from './settings.ts';
import { verifyZohoNotification } from './webhook.ts';

/** How far behind custos's clock the next scan starts: clock skew with Zoho and writes in flight. */
export const ZOHO_WINDOW_MARGIN_MS = 60_000;
/** Zoho's recycle bin keeps deleted records 60 days; a day of margin. */
export const ZOHO_DELETED_WINDOW_MS = 59 * 24 * 3600_000;
/** Deleted-record pages read per scan before custos reconciles instead (a mass deletion). */
const MAX_DELETED_PAGES = 50;
const ZOHO_ID = /^\d{5,19}$/;

interface RecordsAnswer { data?: Record<string, unknown>[]; info?: { more_records?: boolean; next_page_token?: string | null } }
interface DeletedAnswer { data?: { id?: unknown }[]; info?: { more_records?: boolean } }
interface FieldsAnswer { fields?: { api_name?: string; data_type?: string }[] }

/** The top-level fields the mapping reads (`Owner.email` needs `Owner`), with id and Modified_Time. */
export function zohoFields(mapping: SyncMapping): string[] {
  const paths = [mapping.customerId.from, mapping.owner.from, ...Object.values(mapping.fields).map((f) => f.from)];
  return [...new Set(['id', 'Modified_Time', ...paths.map((p) => p.split('.')[0]!)])];
}

/** The latest Modified_Time of a page (Zoho answers 2026-06-01T10:00:00+08:00), as an ISO instant. */
function lastModified(records: Record<string, unknown>[]): string | null {
  let max = NaN;
  for (const r of records) {
    const t = typeof r.Modified_Time === 'string' ? Date.parse(r.Modified_Time) : NaN;
    if (Number.isFinite(t) && !(t <= max)) max = t;
  }
  return Number.isFinite(max) ? new Date(max).toISOString() : null;
}

export class ZohoConnector implements Connector {
  readonly verifyWebhook?: (req: WebhookRequest, now: Date) => Promise<WebhookResult>;
  private readonly fields: string;
  private readonly channel: ZohoChannel | null;

  constructor(
    readonly source: string, private readonly module: string, mapping: SyncMapping, private readonly api: ZohoApi,
    private readonly clock: Clock, private readonly settings: ZohoSettings, logger: Logger,
  ) {
    this.fields = zohoFields(mapping).join(',');
    const ch = settings.channel;
    this.channel = ch ? new ZohoChannel(api, module, ch, clock, logger) : null;
    if (ch) this.verifyWebhook = async (req, now) => verifyZohoNotification({ channelId: ch.channelId, token: ch.token, module }, req, now);
  }

  /** The channel's expiry as last granted (tests; 0 without notifications). */
  get channelExpires(): number { return this.channel?.expires ?? 0; }

  async readChanges(cursor: string | null): Promise<ChangePage> {
    const c = decodeZohoCursor(cursor);
    if (c === 'invalid') throw new CustosError(ErrorCode.SyncSourceFailed, `sync of ${this.source}: the stored cursor is not a Zoho CRM cursor; run \`custos sync run ${this.source} --full\``, { source: this.source });
    await this.channel?.ensure();
    const scan = { ...c, next: c.next ?? new Date(this.clock.now().getTime() - ZOHO_WINDOW_MARGIN_MS).toISOString() };
    return scan.phase === 'd' ? this.deletionPage(scan) : this.recordPage(scan);
  }

  private async deletionPage(c: ZohoCursor): Promise<ChangePage> {
    const after: ZohoCursor = { ...c, phase: 'r', token: null };
    const reconcile: ChangePage = { changes: [], nextCursor: encodeZohoCursor(after), done: false, reconcile: true };
    if (this.clock.now().getTime() - Date.parse(c.since!) > ZOHO_DELETED_WINDOW_MS) return reconcile;
    const changes: SourceChange[] = [];
    for (let page = 1; ; page++) {
      if (page > MAX_DELETED_PAGES) return reconcile;
      const res = await this.api.call<DeletedAnswer>('GET', `${this.module}/deleted`, {
        query: { type: 'all', page: String(page), per_page: '200' }, headers: { 'If-Modified-Since': zohoDateTime(new Date(c.since!)) },
      });
      for (const d of res.body?.data ?? []) if (typeof d.id === 'string' && ZOHO_ID.test(d.id)) changes.push({ op: 'delete', sourceId: d.id });
      if (!res.body?.info?.more_records) break;
    }
    return { changes, nextCursor: encodeZohoCursor(after), done: false };
  }

  private async recordPage(c: ZohoCursor): Promise<ChangePage> {
    let scan = c;
    let res;
    try {
      res = await this.recordsCall(scan);
    } catch (err) {
      if (!(scan.token && err instanceof ZohoRefused)) throw err;
      if (err.zohoCode === 'EXPIRED_VALUE') scan = { ...scan, token: null, last: null }; // a token lives a day: the scan restarts from its `since`
      else if (err.zohoCode === 'PAGINATION_LIMIT_EXCEEDED') scan = this.pastTokenLimit(scan);
      else throw err;
      res = await this.recordsCall(scan);
    }
    const records = res.body?.data ?? [];
    const changes: SourceChange[] = records.filter((r) => typeof r.id === 'string').map((r) => ({ op: 'upsert', sourceId: r.id as string, fields: r }));
    const token = res.body?.info?.more_records ? res.body.info.next_page_token : null;
    const last = lastModified(records) ?? scan.last ?? null;
    if (token) return { changes, nextCursor: encodeZohoCursor({ ...scan, phase: 'r', token, last }), done: false };
    return { changes, nextCursor: encodeZohoCursor({ since: scan.next, next: null, phase: 'd', token: null }), done: true };
  }

  private recordsCall(c: ZohoCursor) {
    const query: Record<string, string> = { fields: this.fields, per_page: String(this.settings.perPage), sort_by: 'Modified_Time', sort_order: 'asc', ...(c.token ? { page_token: c.token } : {}) };
    const headers: Record<string, string> = c.since ? { 'If-Modified-Since': zohoDateTime(new Date(c.since)) } : {};
    return this.api.call<RecordsAnswer>('GET', this.module, { query, headers });
  }

  /**
   * Zoho's page tokens reach 100,000 records: the scan goes on as a new one from a second before the last
   * record read (If-Modified-Since is "after", at second precision, so the records of that second are read
   * again, harmlessly), keeping its `next`. A second holding the whole limit cannot move on: stop, cursor kept.
   */
  private pastTokenLimit(c: ZohoCursor): ZohoCursor {
    const from = c.last ? Date.parse(c.last) - 1000 : NaN;
    if (!Number.isFinite(from) || (c.since !== null && from <= Date.parse(c.since))) {
      throw new CustosError(ErrorCode.SyncSourceFailed,
        `sync of ${this.source}: Zoho CRM's page-token limit was reached within one second of Modified_Time; the scan cannot go on from there`, { source: this.source });
    }
    return { ...c, since: new Date(from).toISOString(), token: null, last: null };
  }

  async readByIds(sourceIds: readonly string[]): Promise<SourceRecord[]> {
    const ids = sourceIds.filter((id) => ZOHO_ID.test(id)); // anything else cannot be a Zoho record: absent
    const out: SourceRecord[] = [];
    for (let i = 0; i < ids.length; i += 100) {
      const res = await this.api.call<RecordsAnswer>('GET', this.module, { query: { ids: ids.slice(i, i + 100).join(','), fields: this.fields } });
      for (const r of res.body?.data ?? []) if (typeof r.id === 'string') out.push({ sourceId: r.id, fields: r });
    }
    return out;
  }

  listLiveIds(): AsyncIterable<string[]> {
    return zohoLiveIds(this.api, this.module);
  }

  async describeFields(): Promise<SourceField[]> {
    const res = await this.api.call<FieldsAnswer>('GET', 'settings/fields', { query: { module: this.module } });
    return (res.body?.fields ?? []).filter((f) => f.api_name).map((f) => ({ name: f.api_name!, type: f.data_type ?? 'unknown' }));
  }
}
