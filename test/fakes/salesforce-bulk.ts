// Bulk API 2.0 query jobs of the fake Salesforce org (developer.salesforce.com "Bulk API 2.0 and Bulk API
// Developer Guide": Create a Query Job, Get Information About a Query Job, Get Results for a Query Job):
//   POST jobs/query  JSON {operation: "query"|"queryAll", query, contentType?, columnDelimiter?, lineEnding?}
//        200 job info {id, operation, object, createdById, createdDate, systemModstamp, state: "UploadComplete",
//        concurrencyMode: "Parallel", contentType: "CSV", apiVersion, lineEnding: "LF", columnDelimiter: "COMMA"};
//        400 [{errorCode, message}] for SOQL it refuses (aggregate functions such as COUNT() included)
//   GET  jobs/query/<id>  the job info plus jobType "V2Query", numberRecordsProcessed, retries,
//        totalProcessingTime; each GET moves a running job on (UploadComplete → InProgress → … →
//        JobComplete, `pollsToComplete` GETs), or to Failed/Aborted when a test asked for that; the query
//        runs as the job completes, so changes made while it waits are in its results
//   GET  jobs/query/<id>/results?locator=&maxRecords=  text/csv, a header row then one row per record,
//        every value double-quoted, an empty field for null, relationship fields as `Owner.Email`,
//        dateTimes as 2026-06-01T08:00:00.000Z; headers `Sforce-NumberOfRecords` and `Sforce-Locator`
//        (the next set's locator, base64 of its offset like Salesforce's "MTAwMDA", or the text null).
//        Results of a job not complete: 412 JOB_NOT_COMPLETE (the guide's example). A locator or maxRecords
//        the fake never handed out: 400 (the fake's own refusal; the guide documents none).
//   An unknown (or deleted: `expireJobs()`) job id: 404 NOT_FOUND. No ordering is promised, so the fake
//   answers its rows shuffled.

export interface BulkJobInfo {
  id: string; operation: 'query' | 'queryAll'; object: string; createdById: string; createdDate: string; systemModstamp: string;
  state: 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted'; concurrencyMode: 'Parallel'; contentType: 'CSV';
  apiVersion: number; lineEnding: 'LF'; columnDelimiter: 'COMMA';
}

interface Job { info: BulkJobInfo; soql: string; polls: number; rows: string[][] | null; header: string[]; endAs: 'JobComplete' | 'Failed' | 'Aborted'; processingMs: number }

export type Answer = (status: number, payload: string, headers?: Record<string, string>) => void;
/** Runs a query for a job: the selected fields and each row's values (null for none), in the org's storage order. */
export type RunQuery = (soql: string) => { fields: string[]; object: string; rows: (string | null)[][] };

const DEFAULT_MAX_RECORDS = 10_000;
const errorBody = (errorCode: string, message: string) => JSON.stringify([{ message, errorCode }]);
const csvValue = (v: string | null) => (v === null ? '' : `"${v.replace(/"/g, '""')}"`);
export const sfBulkDateTime = (ms: number) => new Date(ms).toISOString();

export class FakeBulkQueries {
  private readonly jobs = new Map<string, Job>();
  private seq = 0;
  /** GETs of a job's info before it completes (the first one sees InProgress). */
  pollsToComplete = 2;
  private nextEnd: 'Failed' | 'Aborted' | null = null;
  /** Every job created, in order (tests look at what custos asked for). */
  readonly created: { id: string; soql: string }[] = [];

  constructor(private readonly run: RunQuery, private readonly now: () => number, private readonly userId: string) {}

  /** The next job created ends Failed (or Aborted) instead of completing. */
  failNextJob(as: 'Failed' | 'Aborted' = 'Failed'): void { this.nextEnd = as; }
  /** Every job is gone (Salesforce deletes query jobs seven days after they finish, or an admin did). */
  expireJobs(): void { this.jobs.clear(); }
  jobInfo(id: string): BulkJobInfo | undefined { return this.jobs.get(id)?.info; }

  create(body: string, apiVersion: string, answer: Answer): void {
    let req: { operation?: unknown; query?: unknown };
    try { req = JSON.parse(body) as typeof req; } catch { answer(400, errorBody('JSON_PARSER_ERROR', 'The request body is not valid JSON')); return; }
    // The fake's own refusal of an operation custos never sends (the guide names no error code for it).
    if (req.operation !== 'query' && req.operation !== 'queryAll') { answer(400, errorBody('INVALIDJOB', 'InvalidJob : Invalid operation')); return; }
    if (typeof req.query !== 'string' || /\bCOUNT\s*\(/i.test(req.query)) { answer(400, errorBody('MALFORMED_QUERY', 'Aggregate queries are not supported by Bulk API 2.0')); return; }
    const object = this.run(req.query).object; // throws the SOQL errors the REST query would
    const at = new Date(this.now()).toISOString().replace('Z', '+0000');
    const id = `750FK${String(++this.seq).padStart(10, '0')}AAA`;
    const info: BulkJobInfo = {
      id, operation: req.operation, object, createdById: this.userId, createdDate: at, systemModstamp: at, state: 'UploadComplete',
      concurrencyMode: 'Parallel', contentType: 'CSV', apiVersion: Number(apiVersion), lineEnding: 'LF', columnDelimiter: 'COMMA',
    };
    this.jobs.set(id, { info, soql: req.query, polls: 0, rows: null, header: [], endAs: this.nextEnd ?? 'JobComplete', processingMs: 0 });
    this.nextEnd = null;
    this.created.push({ id, soql: req.query });
    answer(200, JSON.stringify(info));
  }

  get(id: string, answer: Answer): void {
    const job = this.jobs.get(id);
    if (!job) { answer(404, errorBody('NOT_FOUND', 'The requested resource does not exist')); return; }
    this.step(job);
    const processed = job.rows?.length ?? 0;
    answer(200, JSON.stringify({ ...job.info, jobType: 'V2Query', numberRecordsProcessed: processed, retries: 0, totalProcessingTime: job.processingMs }));
  }

  private step(job: Job): void {
    const { info } = job;
    if (info.state === 'JobComplete' || info.state === 'Failed' || info.state === 'Aborted') return;
    job.polls++;
    if (job.polls < this.pollsToComplete) { info.state = 'InProgress'; return; }
    info.state = job.endAs;
    info.systemModstamp = new Date(this.now()).toISOString().replace('Z', '+0000');
    if (job.endAs !== 'JobComplete') return;
    const { fields, rows } = this.run(job.soql);
    job.header = fields;
    job.rows = shuffled(rows.map((r) => r.map((v) => csvValue(v))));
    job.processingMs = 5 + rows.length;
  }

  results(id: string, params: URLSearchParams, answer: Answer): void {
    const job = this.jobs.get(id);
    if (!job) { answer(404, errorBody('NOT_FOUND', 'The requested resource does not exist')); return; }
    if (job.info.state !== 'JobComplete' || !job.rows) {
      answer(412, errorBody('JOB_NOT_COMPLETE', `can only download query results of successfully completed bulk job with status: JOB_COMPLETE. Current status: ${job.info.state}`));
      return;
    }
    const max = params.has('maxRecords') ? Number(params.get('maxRecords')) : DEFAULT_MAX_RECORDS;
    const locator = params.get('locator');
    const offset = locator ? Number(Buffer.from(locator, 'base64').toString('utf8')) : 0;
    if (!Number.isInteger(max) || max < 1 || !Number.isInteger(offset) || offset < 0 || offset > job.rows.length) {
      answer(400, errorBody('INVALID_LOCATOR_OR_MAX_RECORDS', 'invalid locator or maxRecords'));
      return;
    }
    const rows = job.rows.slice(offset, offset + max);
    const next = offset + rows.length;
    const csv = [job.header.map((h) => `"${h}"`).join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n';
    answer(200, csv, {
      'content-type': 'text/csv', 'Sforce-NumberOfRecords': String(rows.length),
      'Sforce-Locator': next < job.rows.length ? Buffer.from(String(next)).toString('base64').replace(/=+$/, '') : 'null',
    });
  }
}

function shuffled<T>(xs: T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
