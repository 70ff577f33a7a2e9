// The sync framework: pulls a source's changes page by page through its connector, maps and validates
// each record exactly as `custos import` does (parseCustomerRow), stores through CustomerStore (so
// encryption and blind indexes are the import's), and only then advances the source's cursor (a
// compare-and-swap). A crash anywhere re-reads the page from the stored cursor and re-applies it: upserts
// by id and deletions are idempotent, so nothing is lost or doubled.
// Deletions leave a tombstone (id and time), cancel pending requests and revoke grants on the customer,
// and are audited (`sync.delete`) before they take effect. Each run is audited (`sync.run`) with counts
// and cursors only. Reconciliation diffs the source's live ids against the ids this source linked, and
// re-reads every live record (a source like 简道云 sends no webhook for API edits or bulk imports).
import type { AuditAction, AuditEventInput, AuditRecorder } from '../core/audit.ts';
import { newEventId, stepEventId } from '../core/audit-event.ts';
import type { Customer } from '../core/domain.ts';
import { CustosError, ErrorCode, isCustosError } from '../core/errors.ts';
import type { Clock } from '../core/ports.ts';
import type { CustomerStore } from '../store/customer-store.ts';
import type { Tombstone } from '../store/erasure.ts';
import { parseCustomerRow } from '../store/import-schemas.ts';
import { auditableCursor } from './audit-cursor.ts';
import type { CustomerAccessRevoker } from './customer-revoker.ts';
import { mapRecord, type SyncMapping } from './mapping.ts';
import type { SyncCounts, SyncStore } from './sync-store.ts';
import type { Connector, SourceChange, SourceRecord } from './types.ts';

/**
 * Erased customers (bot/store/erasure.ts). A record carrying an erased id is refused, unless it is a
 * source record re-created after the erasure: this source had the customer linked to a record when it was
 * erased, and the record now carrying the id has another record id (a CRM gives a re-created record a new
 * id). The erased record itself, a source that had never linked the customer, or a tombstone without link
 * information (written when the erasure list is re-applied) cannot show that: refused.
 */
export interface SyncErasures {
  erased(customerIds: readonly string[]): Promise<Map<string, Tombstone>>;
  recreated(customerId: string, sourceRecord: string, at: Date): Promise<void>;
}

export interface SyncDeps {
  customers: Pick<CustomerStore, 'upsertMany' | 'remove'>;
  erasures?: SyncErasures;
  store: SyncStore;
  employees: { byEmail(email: string): Promise<{ employeeId: string } | null> };
  revoker: CustomerAccessRevoker;
  recorder: AuditRecorder;
  clock: Clock;
}

/** A record refused by validation: named by its source id and the field, never the value. */
export interface Rejection { sourceId: string; field: string; reason: string }

export interface RunReport extends SyncCounts {
  source: string;
  pages: number;
  cursorBefore: string | null;
  cursorAfter: string | null;
  /** Another run moved the cursor first; this run stopped after storing its page (harmless). */
  superseded: boolean;
  rejections: Rejection[];
}

const PRODUCT_NAMES: Record<string, string> = { salesforce: 'Salesforce', jiandaoyun: '简道云', kingdee: '金蝶云星空', sharecrm: '纷享销客', zoho: 'Zoho CRM' };

const READ_BY_IDS_CHUNK = 100;
const MAX_REPORTED = 100;

const emptyCounts = (): SyncCounts => ({ upserted: 0, unchanged: 0, deleted: 0, rejected: 0 });

export class SyncRunner {
  constructor(private readonly deps: SyncDeps, private readonly connector: Connector, private readonly mapping: SyncMapping) {}

  get source(): string { return this.connector.source; }

  /** The source's name on lookup cards: the mapping's `label`, else its connector's product name, else the source. */
  get label(): string { return this.mapping.label ?? PRODUCT_NAMES[this.mapping.connector ?? this.source] ?? this.source; }

  /** Reads every page after the stored cursor (from the start with `full`, then reconciles). */
  async run(opts: { full?: boolean } = {}): Promise<RunReport> {
    const start = await this.deps.store.cursor(this.source);
    const report: RunReport = { source: this.source, pages: 0, ...emptyCounts(), cursorBefore: start.cursor, cursorAfter: start.cursor, superseded: false, rejections: [] };
    let state = opts.full ? { ...start, cursor: null } : start;
    try {
      for (;;) {
        const page = await this.connector.readChanges(state.cursor);
        if (page.reconcile) await this.reconcileInto(report);
        await this.applyInto(page.changes, report);
        report.pages++;
        if (!(await this.deps.store.advance(this.source, state.version, page.nextCursor, this.deps.clock.now()))) { report.superseded = true; break; }
        state = { ...state, cursor: page.nextCursor, version: state.version + 1 };
        report.cursorAfter = page.nextCursor;
        if (page.done) break;
      }
      if (opts.full) await this.reconcileInto(report);
    } catch (err) {
      await this.finish(report, err);
      throw isCustosError(err) ? err : new CustosError(ErrorCode.SyncSourceFailed, `sync of ${this.source} failed; the cursor stays where the last stored page left it`, { source: this.source }, { cause: err });
    }
    await this.finish(report, null);
    return report;
  }

  /** Diffs live ids with linked ids (deleting what is gone) and re-reads every live record. */
  async reconcile(): Promise<RunReport> {
    const c = await this.deps.store.cursor(this.source);
    const report: RunReport = { source: this.source, pages: 0, ...emptyCounts(), cursorBefore: c.cursor, cursorAfter: c.cursor, superseded: false, rejections: [] };
    try { await this.reconcileInto(report); } catch (err) { await this.finish(report, err); throw err; }
    await this.finish(report, null);
    return report;
  }

  /**
   * Applies changes that did not come through the cursor (push API, webhooks); returns what happened.
   * `once` names a delivery that may be applied again (a push batch retried after an answer that never
   * came, or taken over from a bot that died mid-apply): its `sync.run` and `sync.delete` events then get
   * event ids derived from it, so however often it is applied the audit log keeps one of each — the first
   * stored, which is the application that made the changes.
   */
  async apply(changes: readonly SourceChange[], opts: { once?: string } = {}): Promise<RunReport> {
    const report: RunReport = { source: this.source, pages: 1, ...emptyCounts(), cursorBefore: null, cursorAfter: null, superseded: false, rejections: [] };
    try { await this.applyInto(changes, report, opts.once); } catch (err) { await this.finish(report, err); throw err; }
    await this.finish(report, null, opts.once && stepEventId(`sync:${this.source}:${opts.once}:run`));
    return report;
  }

  /** A verified webhook's ids: re-read them (the body's values are never trusted); ids gone are deletions. */
  async refresh(sourceIds: readonly string[]): Promise<RunReport> {
    return this.apply(await this.readAsChanges(sourceIds));
  }

  private async readAsChanges(sourceIds: readonly string[]): Promise<SourceChange[]> {
    const changes: SourceChange[] = [];
    for (let i = 0; i < sourceIds.length; i += READ_BY_IDS_CHUNK) {
      const ids = sourceIds.slice(i, i + READ_BY_IDS_CHUNK);
      const found = new Map((await this.connector.readByIds(ids)).map((r: SourceRecord) => [r.sourceId, r]));
      for (const id of ids) {
        const r = found.get(id);
        changes.push(r ? { op: 'upsert', sourceId: id, fields: r.fields } : { op: 'delete', sourceId: id });
      }
    }
    return changes;
  }

  private async reconcileInto(report: RunReport): Promise<void> {
    const live = new Set<string>();
    for await (const ids of this.connector.listLiveIds()) for (const id of ids) live.add(id);
    const gone = (await this.deps.store.linkedIds(this.source)).filter((l) => !live.has(l.sourceId));
    await this.applyInto(gone.map((g) => ({ op: 'delete', sourceId: g.sourceId })), report);
    // Re-read and stored a chunk at a time: one batch of every live record would be one database command
    // per collection as large as the source (a SIGKILL test saw FerretDB stall on 1,600 at once).
    const ids = [...live].sort();
    for (let i = 0; i < ids.length; i += READ_BY_IDS_CHUNK) await this.applyInto(await this.readAsChanges(ids.slice(i, i + READ_BY_IDS_CHUNK)), report);
  }

  /** In order: consecutive upserts go as one batch; a delete (or a repeated id) closes the batch first. */
  private async applyInto(changes: readonly SourceChange[], report: RunReport, once?: string): Promise<void> {
    let batch = new Map<string, Record<string, unknown>>();
    const flush = async () => { if (batch.size) await this.upsertBatch(batch, report); batch = new Map(); };
    for (const [i, ch] of changes.entries()) {
      if (ch.op === 'upsert') {
        if (batch.has(ch.sourceId)) await flush();
        batch.set(ch.sourceId, ch.fields);
      } else {
        await flush();
        // Keyed by position: a batch may delete the same record twice (deleted, re-created, deleted).
        await this.deleteOne(ch.sourceId, report, once && `${once}:delete:${i}`);
      }
    }
    await flush();
  }

  private reject(report: RunReport, rejections: Rejection[]): void {
    report.rejected += new Set(rejections.map((r) => r.sourceId)).size;
    for (const r of rejections) if (report.rejections.length < MAX_REPORTED) report.rejections.push(r);
  }

  private async upsertBatch(batch: Map<string, Record<string, unknown>>, report: RunReport): Promise<void> {
    const owners = new Map<string, string | null>();
    const valid: Customer[] = [];
    const links: { sourceId: string; customerId: string }[] = [];
    const taken = new Set<string>();
    for (const [sourceId, fields] of batch) {
      const mapped = mapRecord(this.mapping, fields);
      if (!mapped.ok) { this.reject(report, mapped.problems.map((p) => ({ sourceId, ...p }))); continue; }
      const ownerId = await this.ownerOf(mapped.value.ownerRef, owners);
      if (!ownerId) { this.reject(report, [{ sourceId, field: 'ownerId', reason: `${this.mapping.owner.from} names no known employee` }]); continue; }
      const parsed = parseCustomerRow({ ...mapped.value.row, ownerId });
      if (!parsed.ok) { this.reject(report, parsed.problems.map((p) => ({ sourceId, ...p }))); continue; }
      if (taken.has(parsed.value.customerId)) { this.reject(report, [{ sourceId, field: 'customerId', reason: 'another record in the same page carries this customer number' }]); continue; }
      taken.add(parsed.value.customerId);
      valid.push(parsed.value);
      links.push({ sourceId, customerId: parsed.value.customerId });
    }
    const recreated = await this.checkErasures(valid, links, report);
    if (valid.length === 0) return;
    for (const r of recreated) {
      await this.audit('customer.recreate', [r.customerId], 'allowed', { source: this.source, erasedAt: r.erasedAt.toISOString() });
      await this.deps.erasures!.recreated(r.customerId, `${this.source}:${r.sourceId}`, this.deps.clock.now());
    }
    // Link first: a crash after the link and before the write leaves a link to a customer that the
    // re-applied page writes; never a stored customer that a later deletion could not find.
    await this.deps.store.link(this.source, links);
    const counts = await this.deps.customers.upsertMany(valid);
    await this.deps.store.clearTombstones(valid.map((c) => c.customerId));
    report.upserted += counts.inserted + counts.updated;
    report.unchanged += counts.unchanged;
  }

  /**
   * Takes the records carrying an erased id out of `valid` / `links` (rejected), except those of a source
   * record re-created after the erasure, which are returned (audited and marked before they are stored).
   */
  private async checkErasures(valid: Customer[], links: { sourceId: string; customerId: string }[], report: RunReport): Promise<{ customerId: string; sourceId: string; erasedAt: Date }[]> {
    if (!this.deps.erasures || valid.length === 0) return [];
    const erased = await this.deps.erasures.erased(valid.map((c) => c.customerId));
    if (erased.size === 0) return [];
    const recreated: { customerId: string; sourceId: string; erasedAt: Date }[] = [];
    for (let i = valid.length - 1; i >= 0; i--) {
      const stone = erased.get(valid[i]!.customerId);
      if (!stone) continue;
      const { sourceId, customerId } = links[i]!;
      // Re-created only when provable: this source had linked the customer, and under another record id.
      const ours = stone.sourceRecords.filter((r) => r.startsWith(`${this.source}:`));
      if (ours.length > 0 && !ours.includes(`${this.source}:${sourceId}`)) { recreated.push({ customerId, sourceId, erasedAt: stone.erasedAt }); continue; }
      this.reject(report, [{ sourceId, field: 'customerId', reason: `was erased at ${stone.erasedAt.toISOString()} (custos customer erase); only a record re-created in ${this.source} after the erasure (a new record id) brings the customer number back` }]);
      valid.splice(i, 1);
      links.splice(i, 1);
    }
    return recreated;
  }

  private async ownerOf(ref: string | undefined, cache: Map<string, string | null>): Promise<string | null> {
    if (ref === undefined) return null;
    if (cache.has(ref)) return cache.get(ref)!;
    const fromTable = this.mapping.owner.table[ref];
    const id = fromTable ?? (this.mapping.owner.byEmail ? (await this.deps.employees.byEmail(ref.toLowerCase()))?.employeeId ?? null : null);
    cache.set(ref, id);
    return id;
  }

  /** `once`: names this deletion within a delivery applied more than once (see `apply`). */
  private async deleteOne(sourceId: string, report: RunReport, once?: string): Promise<void> {
    const customerId = await this.deps.store.customerOf(this.source, sourceId);
    if (!customerId) return; // never stored, or already deleted: nothing to do
    const at = this.deps.clock.now();
    await this.audit('sync.delete', [customerId], 'allowed', { source: this.source }, undefined, once && stepEventId(`sync:${this.source}:${once}`));
    const { grants, requests } = await this.deps.revoker.revokeOnCustomer(customerId, `sync:${this.source}`, at);
    // The tombstone goes first, so at every instant a customer gone from custos has its tombstone; the
    // link goes last, so a crash anywhere in between re-runs the whole deletion idempotently.
    await this.deps.store.tombstone(customerId, at);
    await this.deps.customers.remove(customerId);
    await this.deps.store.unlink(this.source, sourceId);
    report.deleted++;
    void grants; void requests;
  }

  /** `eventId`: the run's own (see `apply`), used only for a run that succeeded (a failed one is not the application). */
  private async finish(report: RunReport, err: unknown, eventId?: string): Promise<void> {
    const code = err === null ? null : isCustosError(err) ? err.code : ErrorCode.SyncSourceFailed;
    await this.deps.store.recordRun(this.source, this.deps.clock.now(), report, code, this.label);
    await this.audit('sync.run', [], err === null ? 'allowed' : 'error', {
      source: this.source, pages: report.pages, upserted: report.upserted, unchanged: report.unchanged,
      deleted: report.deleted, rejected: report.rejected,
      cursorBefore: auditableCursor(report.cursorBefore), cursorAfter: auditableCursor(report.cursorAfter),
    }, code ?? undefined, err === null ? eventId : undefined).catch((e: unknown) => { if (err === null) throw e; });
  }

  private async audit(action: AuditAction, customerIds: string[], decision: AuditEventInput['decision'], meta: Record<string, string | number>, reasonCode?: string, eventId?: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.recorder.record({
      v: 1, eventId: eventId ?? newEventId(now), occurredAt: now.toISOString(), actor: { employeeId: null, platform: 'system' },
      channelKind: 'none', action, customerIds, fields: [], decision, ruleIds: [], meta, ...(reasonCode ? { reasonCode } : {}),
    });
  }
}
