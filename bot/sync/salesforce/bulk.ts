// A full backfill through a Bulk API 2.0 query job (Salesforce's "Bulk API 2.0 and Bulk API Developer
// Guide": Create a Query Job, Get Information About a Query Job, Get Results for a Query Job), page by
// page so that the runner stores each result set before the cursor moves:
//   1. POST jobs/query {operation: query, query: SELECT <mapped fields> FROM <object>}: the job id goes
//      into the cursor (stored), so a crash while Salesforce runs the query resumes the same job;
//   2. GET jobs/query/<id> until JobComplete (1 s, then 1.5× longer, at most 30 s between polls);
//   3. GET jobs/query/<id>/results?maxRecords=<_BATCH_SIZE>[&locator=L]: one CSV result set (jsforce parses
//      it by its header row); the cursor stores the `Sforce-Locator` of the next set, which stays valid as
//      long as the job exists, so a crash re-reads at most the set it was storing;
//   4. `Sforce-Locator: null`: the backfill is done and the cursor becomes an ordinary SOQL cursor.
// Bulk results come in no order, so no record of them can be a (SystemModstamp, Id) cursor. The job's own
// `createdDate` (Salesforce's clock, like SystemModstamp) is the high-water mark instead: the incremental
// SOQL resumes one second before it, so every record changed while the job ran is read again (upserts are
// idempotent) and nothing changed before it is missed. Deletions are read from the backfill's start time
// as after a SOQL backfill.
// A job that is gone (404 NOT_FOUND: Salesforce deletes query jobs 7 days after they finish, or an admin
// did) is replaced by a new job: pages already stored are applied again, unchanged. A job that ends Failed
// or Aborted fails the run once with an error that says so; the next run starts a new job.
// Why not jsforce's bulk2.query: it streams every result set in one go (no maxRecords, no locator a
// restart could resume from) and sends its requests outside the rate budget.
import { CustosError, ErrorCode } from '../../core/errors.ts';
import type { ChangePage, SourceChange } from '../types.ts';
import { SalesforceRefused, type SalesforceApi } from './api.ts';
import { SF_ID, encodeCursor, soqlDateTime } from './soql.ts';

const POLL_FIRST_MS = 1000;
const POLL_MAX_MS = 30_000;
/** Below every record id: the incremental query after a bulk backfill reads every record of its second. */
const LOWEST_ID = '000000000000000';
const LOCATOR = /^[A-Za-z0-9+/=_-]{1,300}$/;
const DATETIME = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`;
const BULK_CURSOR = new RegExp(String.raw`^bulk:(open|Failed|Aborted)\|(750[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?)?\|([A-Za-z0-9+/=_-]{0,300})\|(${DATETIME})?\|(${DATETIME})$`);

type JobState = 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
interface JobInfo { id: string; state: JobState; createdDate: string }

/**
 * Where a bulk backfill stands: its job (none yet: start one), the locator of the next result set ('' =
 * the first), the job's createdDate once it completed, and where deletions are to be read from. `state`
 * is Failed or Aborted when the job ended so and the run is still to report it.
 */
export interface BulkCursor { state: 'open' | 'Failed' | 'Aborted'; jobId: string | null; locator: string; jobCreated: string | null; deletionsUntil: string }

export const isBulkCursor = (s: string) => s.startsWith('bulk:');

export function encodeBulkCursor(c: BulkCursor): string {
  return `bulk:${c.state}|${c.jobId ?? ''}|${c.locator}|${c.jobCreated ?? ''}|${c.deletionsUntil}`;
}

export function decodeBulkCursor(s: string): BulkCursor | null {
  const m = BULK_CURSOR.exec(s);
  if (!m) return null;
  return { state: m[1] as BulkCursor['state'], jobId: m[2] ?? null, locator: m[3]!, jobCreated: m[4] ?? null, deletionsUntil: m[5]! };
}

/** A CSV row as the REST API would give the record: `Owner.Email` nested as Owner.Email, an empty field as null. */
export function csvRecord(row: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(row)) {
    const value = raw === '' ? null : raw; // Salesforce stores no empty text: an empty field is null
    const path = key.split('.');
    let at = out;
    for (const part of path.slice(0, -1)) at = (at[part] ??= {}) as Record<string, unknown>;
    at[path.at(-1)!] = value;
  }
  return out;
}

export interface BulkBackfillOptions {
  source: string; object: string; fields: readonly string[]; api: SalesforceApi; batchSize: number;
  sleep?: (ms: number) => Promise<void>;
}

export class SalesforceBulkBackfill {
  private readonly sleep: (ms: number) => Promise<void>;
  /** Jobs this process saw end Failed or Aborted and has not reported yet (reported once, then replaced). */
  private readonly unreported = new Set<string>();

  constructor(private readonly o: BulkBackfillOptions) {
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Creates the query job; the page is empty, its cursor holds the job. */
  async start(deletionsUntil: string): Promise<ChangePage> {
    const query = `SELECT ${this.o.fields.join(', ')} FROM ${this.o.object}`;
    const job = await this.o.api.post<JobInfo>('/jobs/query', { operation: 'query', query });
    if (!SF_ID.test(String(job.id))) throw new CustosError(ErrorCode.SyncSourceFailed, `Salesforce answered a Bulk API 2.0 query job without a job id for sync source ${this.o.source}`, { source: this.o.source });
    return { changes: [], nextCursor: encodeBulkCursor({ state: 'open', jobId: job.id, locator: '', jobCreated: null, deletionsUntil }), done: false };
  }

  async read(c: BulkCursor): Promise<ChangePage> {
    if (c.jobId === null) return this.start(c.deletionsUntil);
    if (c.state !== 'open') return this.ended(c.jobId, c.state, c.deletionsUntil);
    let created = c.jobCreated;
    if (created === null) {
      const info = await this.completed(c.jobId);
      if (info === null) return this.start(c.deletionsUntil);
      if (info.state !== 'JobComplete') {
        this.unreported.add(info.id);
        return { changes: [], nextCursor: encodeBulkCursor({ ...c, state: info.state as 'Failed' | 'Aborted' }), done: false };
      }
      created = soqlDateTime(info.createdDate);
    }
    return this.resultSet({ ...c, jobId: c.jobId, jobCreated: created });
  }

  /** The job ended Failed or Aborted: the run that saw it fails saying so; any later run starts a new job. */
  private ended(jobId: string, state: 'Failed' | 'Aborted', deletionsUntil: string): Promise<ChangePage> {
    if (!this.unreported.delete(jobId)) return this.start(deletionsUntil);
    throw new CustosError(ErrorCode.SyncSourceFailed,
      `Salesforce's Bulk API 2.0 query job ${jobId} of sync source ${this.o.source} ended ${state}; the next run starts a new job (README "Salesforce")`,
      { source: this.o.source, jobId, state });
  }

  /** Polls the job until it is no longer running; null when it is gone. */
  private async completed(jobId: string): Promise<JobInfo | null> {
    for (let wait = POLL_FIRST_MS; ; wait = Math.min(wait * 1.5, POLL_MAX_MS)) {
      let info: JobInfo;
      try {
        info = await this.o.api.get<JobInfo>(`/jobs/query/${jobId}`);
      } catch (err) {
        if (err instanceof SalesforceRefused && err.errorCode === 'NOT_FOUND') return null;
        throw err;
      }
      if (info.state === 'JobComplete' || info.state === 'Failed' || info.state === 'Aborted') return info;
      await this.sleep(wait);
    }
  }

  private async resultSet(c: BulkCursor & { jobId: string; jobCreated: string }): Promise<ChangePage> {
    const url = `/jobs/query/${c.jobId}/results?maxRecords=${this.o.batchSize}${c.locator ? `&locator=${encodeURIComponent(c.locator)}` : ''}`;
    let res: { body: unknown; headers: Record<string, string | undefined> };
    try {
      res = await this.o.api.send<unknown>('GET', url, undefined, { Accept: 'text/csv' });
    } catch (err) {
      if (err instanceof SalesforceRefused && err.errorCode === 'NOT_FOUND') return this.start(c.deletionsUntil);
      throw err;
    }
    const rows = Array.isArray(res.body) ? res.body as Record<string, string>[] : [];
    const changes: SourceChange[] = rows.filter((r) => SF_ID.test(String(r.Id))).map((r) => ({ op: 'upsert', sourceId: r.Id!, fields: csvRecord(r) }));
    const next = res.headers['sforce-locator'];
    if (next && next !== 'null' && !LOCATOR.test(next)) {
      throw new CustosError(ErrorCode.SyncSourceFailed, `Salesforce answered a Bulk API 2.0 locator custos cannot store for sync source ${this.o.source}`, { source: this.o.source });
    }
    if (next && next !== 'null') return { changes, nextCursor: encodeBulkCursor({ ...c, locator: next }), done: false };
    // The last set: the incremental SOQL takes over from the job's creation (see the head of this file).
    const from = soqlDateTime(new Date(Date.parse(c.jobCreated) - 1000));
    return { changes, nextCursor: encodeCursor({ modstamp: from, id: LOWEST_ID, deletionsUntil: c.deletionsUntil }), done: false };
  }
}
