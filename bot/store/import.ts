// `custos import customers|employees FILE`: streaming, all-or-nothing by default.
//
// Default mode makes TWO streaming passes: the first validates every row (schema, duplicate ids and
// e-mails inside the file, e-mails already held by other employees) and writes nothing; only when no
// row is bad does the second pass read the file again and write it in batches. So a bad file changes
// nothing, and memory stays flat whatever the file size (only ids seen so far are kept, for the
// duplicate check). `skipInvalid` makes one pass that writes the good rows and reports the rest.
// Writes are idempotent upserts by id (unchanged rows are not rewritten), and while one batch is being
// written the next is parsed, validated and encrypted.
// An employee row that offboards someone or moves them to another department takes effect at once
// (employee-changes.ts): offboarding runs before the row is written (status compare-and-swap, grants and
// pending requests revoked, audited), a transfer right after (the new department is in place). A row that
// brings an offboarded employee back is refused unless `allowReactivation` (--allow-reactivation); when
// allowed, the reactivation runs before the row is written (audited, nothing left to use, chat bindings
// dropped). Such a file needs the audit queue: when it is unreachable the import refuses before writing
// anything.
import type { Connection } from 'mongoose';
import type { Customer, Employee } from '../core/domain.ts';
import { CustosError, ErrorCode } from '../core/errors.ts';
import type { FieldCipher } from './crypto.ts';
import { toCustomerDoc } from './customer-doc.ts';
import { erasedAmong } from './erasure.ts';
import { CustomerStore, type UpsertCounts } from './customer-store.ts';
import { EmployeeStore } from './employee-store.ts';
import { PLATFORMS } from '../platforms.ts';
import type { PlatformRegistry } from '../runtime/platform-registry.ts';
import { ScimStore } from './scim-store.ts';
import { CUSTOMER_COLUMNS, employeeColumns, parseCustomerRow, parseEmployeeRow, type RowResult } from './import-schemas.ts';
import { assertReadable, formatFromPath, readRows, type ImportFormat } from './import-source.ts';
import type { CustomerDoc } from './models.ts';
import { changeCount, employeeChanges, hasChanges, keepingFreezes, type EmployeeChangeHandler, type EmployeeChangeReport } from './employee-changes.ts';

export const IMPORT_KINDS = ['customers', 'employees'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

export interface RowError { line: number; field: string; reason: string }

export interface ImportReport extends UpsertCounts {
  kind: ImportKind;
  file: string;
  format: ImportFormat;
  /** Data rows read (blank lines not counted). */
  rows: number;
  /** Rows refused (each may have several errors). */
  rejected: number;
  /** The first `maxReportedErrors` errors, in file order. */
  errors: RowError[];
  /** Whether anything was written (false when a bad row stopped a default-mode import). */
  written: boolean;
  /** Employees offboarded or transferred by this import (employees only). */
  changes?: EmployeeChangeReport;
}

export interface ImportOptions {
  format?: string;
  skipInvalid?: boolean;
  batchSize?: number;
  maxReportedErrors?: number;
  onProgress?: (phase: 'validate' | 'write', rows: number) => void;
  /** At most one onProgress call per this many milliseconds (default 2,000). */
  progressEveryMs?: number;
  /** Employees: carries out offboardings, transfers and reactivations; without it such a file is refused. */
  employeeChanges?: EmployeeChangeHandler;
  /** Employees: lets a row set an offboarded employee back to active or frozen; otherwise that row is refused. */
  allowReactivation?: boolean;
  /** Employees: lets a row change an employee managed through SCIM; otherwise that row is refused. */
  overrideScim?: boolean;
  /** Employees: the chat platforms whose `chat.<id>` columns are accepted (default: bot/platforms.ts). */
  registry?: PlatformRegistry;
}

interface Valid<T> { line: number; value: T }

/** What differs between customers and employees; the import procedure itself is shared. */
interface KindSpec<T, P> {
  columns: readonly string[];
  parse(raw: Record<string, unknown>): RowResult<T>;
  /** Keys that must be unique within the file (the id first), each with the field it is reported under. */
  uniqueKeys(value: T): { field: string; key: string }[];
  /** Problems only the database can see (e.g. an e-mail already used by another employee). */
  conflicts?(rows: Valid<T>[]): Promise<RowError[]>;
  /** Validation pass: refuses (throws) when valid rows need something that is not available. */
  preflight?(rows: Valid<T>[]): Promise<void>;
  /** CPU work before the write (encryption), done while the previous batch is still being written. */
  prepare(values: T[]): P;
  write(prepared: P): Promise<UpsertCounts>;
}

function customerSpec(store: CustomerStore, cipher: FieldCipher): KindSpec<Customer, CustomerDoc[]> {
  return {
    columns: CUSTOMER_COLUMNS,
    parse: parseCustomerRow,
    uniqueKeys: (c) => [{ field: 'customerId', key: c.customerId }],
    // An erased customer stays erased: a row with its id is refused, never silently re-creates it.
    conflicts: async (rows) => {
      const erased = await erasedAmong(store.model.db, rows.map((r) => r.value.customerId));
      return rows.filter((r) => erased.has(r.value.customerId)).map((r) => ({
        line: r.line, field: 'customerId',
        reason: `was erased at ${erased.get(r.value.customerId)!.toISOString()} (custos customer erase); an import does not bring an erased customer back`,
      }));
    },
    prepare: (values) => values.map((c) => toCustomerDoc(c, cipher)),
    write: (docs) => store.upsertDocs(docs),
  };
}

/** Refuses a batch with offboardings or transfers when nobody can carry them out with an audit trail. */
async function requireHandler(handler: EmployeeChangeHandler | undefined, count: number): Promise<EmployeeChangeHandler> {
  if (!handler || !(await handler.ready())) {
    throw new CustosError(ErrorCode.AuditUnavailable,
      `this file offboards, transfers or reactivates ${count} employee(s), which must be audited, but the audit queue is not reachable (REDIS_URL); nothing was imported`);
  }
  return handler;
}

const REACTIVATION_REFUSED = 'would bring back an offboarded employee; pass --allow-reactivation to allow it '
  + '(they come back with no grants and must link their chat account again), or keep their status offboarded';

/** Rows that would reactivate an offboarded employee, as errors (when reactivation is not allowed). */
async function refusedReactivations(store: EmployeeStore, rows: Valid<Employee>[]): Promise<RowError[]> {
  const back = new Set((await employeeChanges(store, rows.map((r) => r.value))).reactivate.map((r) => r.employeeId));
  return rows.filter((r) => back.has(r.value.employeeId)).map((r) => ({ line: r.line, field: 'status', reason: REACTIVATION_REFUSED }));
}

const SCIM_MANAGED = 'is managed by the identity provider through SCIM; change it there, or pass --override-scim to change it here anyway';

/** Rows for employees a SCIM user points at, as errors (when overriding is not asked for). */
async function scimManaged(scim: ScimStore, rows: Valid<Employee>[]): Promise<RowError[]> {
  const managed = await scim.managedEmployees(rows.map((r) => r.value.employeeId));
  return rows.filter((r) => managed.has(r.value.employeeId)).map((r) => ({ line: r.line, field: 'employeeId', reason: SCIM_MANAGED }));
}

function employeeSpec(store: EmployeeStore, handler: EmployeeChangeHandler | undefined, report: EmployeeChangeReport, allowReactivation: boolean, scim: ScimStore | null, registry: PlatformRegistry): KindSpec<Employee, Employee[]> {
  return {
    columns: employeeColumns(registry),
    parse: (raw) => parseEmployeeRow(raw, registry),
    uniqueKeys: (e) => [{ field: 'employeeId', key: e.employeeId }, { field: 'email', key: `email:${e.email}` }],
    conflicts: async (rows) => {
      const held = await store.model.find({ email: { $in: rows.map((r) => r.value.email) } }, { employeeId: 1, email: 1 }).lean();
      const owner = new Map(held.map((d) => [d.email, d.employeeId]));
      const taken = rows.filter((r) => owner.has(r.value.email) && owner.get(r.value.email) !== r.value.employeeId)
        .map((r) => ({ line: r.line, field: 'email', reason: `already belongs to employee ${owner.get(r.value.email)}` }));
      const managed = scim ? await scimManaged(scim, rows) : [];
      return allowReactivation ? [...taken, ...managed] : [...taken, ...managed, ...(await refusedReactivations(store, rows))];
    },
    preflight: async (rows) => {
      const c = await employeeChanges(store, rows.map((r) => r.value));
      if (hasChanges(c)) await requireHandler(handler, changeCount(c));
    },
    prepare: (values) => values,
    write: async (rows) => {
      const c = await employeeChanges(store, rows);
      report.keptFrozen.push(...c.keepFrozen);
      const values = keepingFreezes(rows, c);
      if (!hasChanges(c)) return store.upsertMany(values);
      const effects = await requireHandler(handler, changeCount(c));
      for (const id of c.offboard) report.offboarded.push(await effects.offboard(id));
      for (const back of c.reactivate) report.reactivated.push({ ...(await effects.reactivate(back)), ...back });
      // A reactivated row is written even when it equals the stored digest: its bindings were dropped.
      const counts = await store.upsertMany(values, new Set(c.reactivate.map((r) => r.employeeId)));
      for (const move of c.transfer) report.transferred.push({ ...(await effects.transferred(move)), ...move });
      return counts;
    },
  };
}

/** Tracks duplicates inside one file: the later row is the one in error. */
class DuplicateCheck {
  private readonly firstLine = new Map<string, number>();

  problems(line: number, keys: { field: string; key: string }[]): RowError[] {
    const out: RowError[] = [];
    for (const { field, key } of keys) {
      const first = this.firstLine.get(key);
      if (first !== undefined) out.push({ line, field, reason: `repeats the ${field} of line ${first}` });
    }
    if (out.length === 0) for (const { key } of keys) this.firstLine.set(key, line);
    return out;
  }
}

const PROGRESS_EVERY_MS = 2000;

class Importer<T, P> {
  readonly report: ImportReport;
  private readonly batchSize: number;
  private readonly maxErrors: number;
  private rejectedLines = new Set<number>();
  private lastProgress = Date.now();

  constructor(private readonly spec: KindSpec<T, P>, kind: ImportKind, file: string, format: ImportFormat, private readonly opts: ImportOptions) {
    this.report = { kind, file, format, rows: 0, inserted: 0, updated: 0, unchanged: 0, rejected: 0, errors: [], written: false };
    this.batchSize = opts.batchSize ?? (kind === 'customers' ? 1000 : 200);
    this.maxErrors = opts.maxReportedErrors ?? 100;
  }

  private reject(errors: RowError[]): void {
    for (const e of errors) {
      if (!this.rejectedLines.has(e.line)) { this.rejectedLines.add(e.line); this.report.rejected++; }
      if (this.report.errors.length < this.maxErrors) this.report.errors.push(e);
    }
  }

  private progress(phase: 'validate' | 'write', rows: number): void {
    if (Date.now() - this.lastProgress < (this.opts.progressEveryMs ?? PROGRESS_EVERY_MS)) return;
    this.lastProgress = Date.now();
    this.opts.onProgress?.(phase, rows);
  }

  /** Reads and validates the file; hands valid rows, in batches that passed the conflict check, to `sink`. */
  private async scan(phase: 'validate' | 'write', sink: ((batch: Valid<T>[]) => Promise<void>) | null): Promise<number> {
    const dup = new DuplicateCheck();
    let batch: Valid<T>[] = [];
    let rows = 0;
    const flush = async () => {
      const conflicts = this.spec.conflicts ? await this.spec.conflicts(batch) : [];
      if (conflicts.length) {
        this.reject(conflicts);
        const bad = new Set(conflicts.map((c) => c.line));
        batch = batch.filter((r) => !bad.has(r.line));
      }
      if (sink && batch.length) await sink(batch);
      if (!sink && batch.length) await this.spec.preflight?.(batch);
      batch = [];
    };
    for await (const row of readRows(this.report.file, this.report.format, this.spec.columns)) {
      rows++;
      if ('unreadable' in row) { this.reject([{ line: row.line, field: '(row)', reason: row.unreadable }]); continue; }
      const parsed = this.spec.parse(row.fields);
      if (!parsed.ok) { this.reject(parsed.problems.map((p) => ({ line: row.line, ...p }))); continue; }
      const dups = dup.problems(row.line, this.spec.uniqueKeys(parsed.value));
      if (dups.length) { this.reject(dups); continue; }
      batch.push({ line: row.line, value: parsed.value });
      if (batch.length >= this.batchSize) await flush();
      this.progress(phase, rows);
    }
    if (batch.length) await flush();
    return rows;
  }

  /** Writes batches with one write in flight while the next batch is prepared. */
  private writer(): { sink: (batch: Valid<T>[]) => Promise<void>; done: () => Promise<void> } {
    let inflight: Promise<void> = Promise.resolve();
    let failure: unknown;
    const wait = async () => {
      await inflight;
      if (failure !== undefined) throw failure;
    };
    return {
      sink: async (batch) => {
        const prepared = this.spec.prepare(batch.map((r) => r.value));
        await wait();
        this.report.written = true;
        inflight = this.spec.write(prepared).then((c) => {
          this.report.inserted += c.inserted;
          this.report.updated += c.updated;
          this.report.unchanged += c.unchanged;
        }, (err: unknown) => { failure = err; });
      },
      done: wait,
    };
  }

  async run(): Promise<ImportReport> {
    if (!this.opts.skipInvalid) {
      this.report.rows = await this.scan('validate', null);
      if (this.report.rejected > 0) return this.report;
      this.rejectedLines = new Set();
    }
    const w = this.writer();
    const rows = await this.scan('write', w.sink);
    await w.done();
    if (!this.opts.skipInvalid && this.report.rejected > 0) {
      // Only possible if the file or the database changed between the passes.
      throw new CustosError(ErrorCode.ImportInvalid,
        `${this.report.file} changed while it was being imported (rows valid in the first pass were refused in the second); import it again`,
        { file: this.report.file });
    }
    this.report.rows = rows;
    return this.report;
  }
}

/** Imports one file of `kind`; see the module comment for the guarantees. */
export async function importFile(conn: Connection, cipher: FieldCipher, kind: ImportKind, file: string, opts: ImportOptions = {}): Promise<ImportReport> {
  const format = formatFromPath(file, opts.format);
  await assertReadable(file);
  if (kind === 'customers') return new Importer(customerSpec(new CustomerStore(conn, cipher), cipher), kind, file, format, opts).run();
  const changes: EmployeeChangeReport = { offboarded: [], transferred: [], reactivated: [], keptFrozen: [] };
  const report = await new Importer(employeeSpec(new EmployeeStore(conn), opts.employeeChanges, changes, opts.allowReactivation ?? false, opts.overrideScim ? null : new ScimStore(conn), opts.registry ?? PLATFORMS), kind, file, format, opts).run();
  return { ...report, changes };
}
