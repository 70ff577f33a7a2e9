// The model CRM for sync tests: records with a modification sequence (as SystemModstamp / updateTime),
// a deleted-records log, pages of changes after a cursor. It implements the connector port directly: it
// is the test's model of a source, not a stand-in for an HTTP API (those fakes live in test/fakes/).
import type { AuditEventInput, AuditRecorder } from '../../bot/core/audit.ts';
import { parseAuditEvent } from '../../bot/core/audit-event.ts';
import type { ChangePage, Connector, SourceChange, SourceRecord } from '../../bot/sync/types.ts';

export interface ModelRecord { fields: Record<string, unknown>; seq: number }

export class ModelSource implements Connector {
  readonly source: string;
  readonly records = new Map<string, ModelRecord>();
  readonly deletions: { sourceId: string; seq: number }[] = [];
  seq = 0;
  down = false;

  constructor(source = 'model', private readonly pageSize = 3) { this.source = source; }

  put(sourceId: string, fields: Record<string, unknown>): void {
    this.records.set(sourceId, { fields: structuredClone(fields), seq: ++this.seq });
  }

  remove(sourceId: string): void {
    if (!this.records.delete(sourceId)) return;
    this.deletions.push({ sourceId, seq: ++this.seq });
  }

  private check(): void { if (this.down) throw new Error('model source is down'); }

  /** Every change after `cursor` in sequence order: the latest state of changed records, and deletions. */
  private changesAfter(after: number): { seq: number; change: SourceChange }[] {
    const ups = [...this.records].filter(([, r]) => r.seq > after)
      .map(([sourceId, r]) => ({ seq: r.seq, change: { op: 'upsert', sourceId, fields: structuredClone(r.fields) } as SourceChange }));
    const dels = this.deletions.filter((d) => d.seq > after).map((d) => ({ seq: d.seq, change: { op: 'delete', sourceId: d.sourceId } as SourceChange }));
    return [...ups, ...dels].sort((a, b) => a.seq - b.seq);
  }

  async readChanges(cursor: string | null): Promise<ChangePage> {
    this.check();
    const all = this.changesAfter(cursor === null ? 0 : Number(cursor));
    const page = all.slice(0, this.pageSize);
    const last = page.at(-1)?.seq;
    return { changes: page.map((p) => p.change), nextCursor: last === undefined ? cursor : String(last), done: all.length <= this.pageSize };
  }

  async readByIds(ids: readonly string[]): Promise<SourceRecord[]> {
    this.check();
    return ids.filter((id) => this.records.has(id)).map((id) => ({ sourceId: id, fields: structuredClone(this.records.get(id)!.fields) }));
  }

  async *listLiveIds(): AsyncIterable<string[]> {
    this.check();
    const ids = [...this.records.keys()].sort();
    for (let i = 0; i < ids.length; i += 4) yield ids.slice(i, i + 4);
  }
}

/** Audit events validated like the real producer, kept in order. */
export class RecordingAudit implements AuditRecorder {
  readonly events: AuditEventInput[] = [];
  async record(event: AuditEventInput): Promise<void> { this.events.push(parseAuditEvent(event)); }
}
