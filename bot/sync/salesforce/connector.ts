// The Salesforce connector (issue 15): incremental SOQL on SystemModstamp, paged with nextRecordsUrl;
// deletions from getDeleted (sObject Get Deleted) within its 15-day window; reads by id and live ids by
// SOQL; field list by describe. It only talks to Salesforce: storing, cursors and deletions are the
// framework's (bot/sync/runner.ts).
//
// One run: a getDeleted page (deletions since the cursor's `deletionsUntil`), then the query pages. The
// stored cursor is the last stored record's (SystemModstamp, Id), so a fresh process (after a crash) re-
// issues the query from there; within a process the next page is read with the query's nextRecordsUrl.
// A backfill (no cursor) of more records than _BULK_THRESHOLD (SELECT COUNT()) goes through a Bulk API 2.0
// query job instead (./bulk.ts), whose cursor hands over to this incremental SOQL when it is done.
// When the deletion log cannot cover the gap (cursor older than the window, INVALID_REPLICATION_DATE,
// or earliestDateAvailable after the cursor), the page asks the runner to reconcile (`reconcile: true`).
import { CustosError, ErrorCode } from '../../core/errors.ts';
import type { Clock } from '../../core/ports.ts';
import type { ConnectorContext } from '../setup.ts';
import type { ChangePage, Connector, SourceChange, SourceField, SourceRecord } from '../types.ts';
import { SalesforceApi, SalesforceRefused } from './api.ts';
import { SalesforceBulkBackfill, decodeBulkCursor, isBulkCursor } from './bulk.ts';
import { loadSalesforceSettings, type SalesforceSettings } from './settings.ts';
import {
  SF_ID, byIdsQuery, changesQuery, countQuery, decodeCursor, encodeCursor, liveIdsQuery, selectedFields, soqlDateTime, type SfCursor,
} from './soql.ts';

/** getDeleted answers for no more than 15 days back; an hour of margin for clocks and long runs. */
export const DELETED_WINDOW_MS = 15 * 24 * 3600_000 - 3600_000;
/** How long after it a second of SystemModstamp is read again at the start of each run (see queryPage). */
export const SECOND_SETTLES_MS = 5 * 60_000;
/** An Id below every record's ('0' sorts first of Salesforce's id characters): the cursor's whole second is read. */
const BEFORE_ANY_ID = '000000000000000';
/** getDeleted's start must precede its end by more than a minute. */
const DELETED_MIN_SPAN_MS = 61_000;

interface QueryResult { totalSize: number; done: boolean; nextRecordsUrl?: string; records: Record<string, unknown>[] }
interface DeletedResult { deletedRecords: { id: string; deletedDate: string }[]; earliestDateAvailable?: string; latestDateCovered?: string }
interface DescribeResult { fields: { name: string; type: string; relationshipName?: string | null }[] }

function withoutAttributes(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    if (k === 'attributes') continue;
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) ? withoutAttributes(v as Record<string, unknown>) : v;
  }
  return out;
}

export class SalesforceConnector implements Connector {
  private readonly fields: string[];
  /** nextRecordsUrl of the query page that ended at this cursor (this process only: locators expire). */
  private readonly locators = new Map<string, string>();
  /** The cursor a deletion page returned: the next call goes on to the query, whatever the time. */
  private afterDeletions: string | null = null;
  private readonly batchHeader: Record<string, string>;
  private readonly bulk: SalesforceBulkBackfill;
  private readonly bulkThreshold: number;

  constructor(
    readonly source: string, private readonly object: string, mapping: ConnectorContext['mapping'],
    private readonly api: SalesforceApi, private readonly clock: Clock, settings: Pick<SalesforceSettings, 'batchSize' | 'bulkThreshold'>,
    sleep?: (ms: number) => Promise<void>,
  ) {
    this.fields = selectedFields(mapping);
    this.batchHeader = { 'Sforce-Query-Options': `batchSize=${settings.batchSize}` };
    this.bulkThreshold = settings.bulkThreshold;
    this.bulk = new SalesforceBulkBackfill({ source, object, fields: this.fields, api, batchSize: settings.batchSize, ...(sleep ? { sleep } : {}) });
  }

  async readChanges(cursor: string | null): Promise<ChangePage> {
    const now = this.clock.now();
    if (cursor !== null && isBulkCursor(cursor)) {
      const c = decodeBulkCursor(cursor);
      if (!c) throw new CustosError(ErrorCode.SyncSourceFailed, `the stored cursor of sync source ${this.source} is not a Salesforce cursor; run "custos sync run ${this.source} --full"`, { source: this.source });
      return this.bulk.read(c);
    }
    if (cursor === null && await this.backfillIsLarge()) return this.bulk.start(soqlDateTime(now));
    const at = cursor === null ? { modstamp: null, id: null, deletionsUntil: soqlDateTime(now) } : decodeCursor(cursor);
    if (!at) throw new CustosError(ErrorCode.SyncSourceFailed, `the stored cursor of sync source ${this.source} is not a Salesforce cursor; run "custos sync run ${this.source} --full"`, { source: this.source });
    const locator = cursor === null ? undefined : this.locators.get(cursor);
    if (locator) {
      this.locators.delete(cursor!);
      try {
        return this.queryPage(await this.api.get<QueryResult>(locator, this.batchHeader), at, now);
      } catch (err) {
        // Locators expire (about 15 minutes idle); the query from the cursor reads the same records on.
        if (!(err instanceof SalesforceRefused && err.errorCode === 'INVALID_QUERY_LOCATOR')) throw err;
      }
    }
    if (cursor !== null && cursor !== this.afterDeletions && now.getTime() - Date.parse(at.deletionsUntil) > DELETED_MIN_SPAN_MS) {
      const page = await this.deletionPage(at, now);
      this.afterDeletions = page.nextCursor;
      return page;
    }
    const q = changesQuery(this.object, this.fields, at);
    return this.queryPage(await this.api.get<QueryResult>(`/query?q=${encodeURIComponent(q)}`, this.batchHeader), at, now);
  }

  /** More records than the threshold: a backfill for Bulk API 2.0 (one COUNT() query to know). */
  private async backfillIsLarge(): Promise<boolean> {
    if (this.bulkThreshold <= 0) return false;
    const res = await this.api.get<QueryResult>(`/query?q=${encodeURIComponent(countQuery(this.object))}`);
    return res.totalSize > this.bulkThreshold;
  }

  private queryPage(res: QueryResult, at: SfCursor, now: Date): ChangePage {
    const changes: SourceChange[] = res.records.map((r) => ({ op: 'upsert', sourceId: String(r.Id), fields: withoutAttributes(r) }));
    const last = res.records.at(-1);
    const done = res.done || !res.nextRecordsUrl;
    let next = last ? { ...at, modstamp: soqlDateTime(String(last.SystemModstamp)), id: String(last.Id) } : at;
    // SystemModstamp counts seconds: a record saved again within the second the run ended on keeps that
    // SystemModstamp, and its Id need not be above the cursor's, so (SystemModstamp, Id) alone would pass
    // it by for good. While that second is recent the next run reads all of it again (what did not change
    // is stored as unchanged); mid-run pages keep the exact tie-break, so a busy second still pages on.
    if (done && next.modstamp && now.getTime() - Date.parse(next.modstamp) < SECOND_SETTLES_MS) next = { ...next, id: BEFORE_ANY_ID };
    const nextCursor = encodeCursor(next);
    if (done) this.afterDeletions = null; // the next run starts with deletions again
    else this.locators.set(nextCursor, res.nextRecordsUrl!);
    return { changes, nextCursor, done };
  }

  /** Deletions since the cursor; a reconciliation instead when the deletion log no longer reaches back that far. */
  private async deletionPage(at: SfCursor, now: Date): Promise<ChangePage> {
    const end = soqlDateTime(now);
    const reconcile: ChangePage = { changes: [], nextCursor: encodeCursor({ ...at, deletionsUntil: end }), done: false, reconcile: true };
    if (now.getTime() - Date.parse(at.deletionsUntil) > DELETED_WINDOW_MS) return reconcile;
    let res: DeletedResult;
    try {
      res = await this.api.get<DeletedResult>(`/sobjects/${this.object}/deleted/?start=${encodeURIComponent(at.deletionsUntil)}&end=${encodeURIComponent(end)}`);
    } catch (err) {
      if (err instanceof SalesforceRefused && err.errorCode === 'INVALID_REPLICATION_DATE') return reconcile;
      throw err;
    }
    const changes: SourceChange[] = res.deletedRecords.filter((d) => SF_ID.test(d.id)).map((d) => ({ op: 'delete', sourceId: d.id }));
    const purged = res.earliestDateAvailable !== undefined && Date.parse(soqlDateTime(res.earliestDateAvailable)) > Date.parse(at.deletionsUntil);
    const covered = res.latestDateCovered ? soqlDateTime(res.latestDateCovered) : end;
    return { changes, nextCursor: encodeCursor({ ...at, deletionsUntil: covered }), done: false, ...(purged ? { reconcile: true } : {}) };
  }

  async readByIds(sourceIds: readonly string[]): Promise<SourceRecord[]> {
    const ids = sourceIds.filter((id) => SF_ID.test(id)); // anything else cannot be a Salesforce record: absent
    if (ids.length === 0) return [];
    const out: SourceRecord[] = [];
    for await (const records of this.pages(byIdsQuery(this.object, this.fields, ids))) {
      for (const r of records) out.push({ sourceId: String(r.Id), fields: withoutAttributes(r) });
    }
    return out;
  }

  async *listLiveIds(): AsyncIterable<string[]> {
    for await (const records of this.pages(liveIdsQuery(this.object))) yield records.map((r) => String(r.Id));
  }

  async describeFields(): Promise<SourceField[]> {
    const res = await this.api.get<DescribeResult>(`/sobjects/${this.object}/describe`);
    return res.fields.map((f) => ({ name: f.name, type: f.type }));
  }

  private async *pages(soql: string): AsyncIterable<Record<string, unknown>[]> {
    let res = await this.api.get<QueryResult>(`/query?q=${encodeURIComponent(soql)}`, this.batchHeader);
    yield res.records;
    while (!res.done && res.nextRecordsUrl) {
      res = await this.api.get<QueryResult>(res.nextRecordsUrl, this.batchHeader);
      yield res.records;
    }
  }
}

const OBJECT_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;

/** CONNECTORS.salesforce: settings from CUSTOS_SYNC_<SOURCE>_…, the mapping's `object` (default Account). */
export function salesforceConnector(ctx: ConnectorContext): Connector {
  const settings = loadSalesforceSettings(ctx.source, ctx.env);
  const object = ctx.mapping.object ?? 'Account';
  if (!OBJECT_NAME.test(object)) {
    throw new CustosError(ErrorCode.SyncMappingInvalid, `mapping of ${ctx.source}: object "${object}" is not a Salesforce object name such as Account`, { source: ctx.source });
  }
  const api = new SalesforceApi(ctx.source, settings, ctx.budget(settings.perSecond), ctx.clock);
  return new SalesforceConnector(ctx.source, object, ctx.mapping, api, ctx.clock, settings);
}
