// The 金蝶云星空 (Kingdee K/3 Cloud) connector on ExecuteBillQuery over the customer form (BD_Customer).
// K/3 Cloud has no change feed and no push, so: polling by modification time (cursor.ts), reconciliation
// for deletions, and one decision — a customer 禁用 (FForbidStatus = 'B') counts as deleted, because K/3
// refuses to delete a customer once any document refers to it and companies forbid it instead.
//   readChanges   one page after the cursor's keyset position; forbidden rows become deletions
//   readByIds     FCUSTID IN (…), 200 a query; forbidden or missing rows are absent
//   listLiveIds   FCUSTID keyset pages of the non-forbidden customers
// With _USE_ORG set every query keeps to that use organisation's copy of each customer (a customer
// distributed to several organisations is one row per organisation, each with its own FCUSTID).
import { CustosError, ErrorCode } from '../../core/errors.ts';
import type { SyncMapping } from '../mapping.ts';
import type { RateBudget } from '../rate-budget.ts';
import type { ChangePage, Connector, SourceChange, SourceRecord } from '../types.ts';
import { KingdeeClient, type BillQuery } from './client.ts';
import { decodeKingdeeCursor, encodeKingdeeCursor, rewound, stampLiteral, type KingdeePosition } from './cursor.ts';
import type { KingdeeSettings } from './settings.ts';

const ID = 'FCUSTID';
const MODIFIED = 'FModifyDate';
const FORBID = 'FForbidStatus';
const BY_ID_CHUNK = 200;

/** Field keys to query: the connector's own, then each path the mapping reads (K/3 accepts `FSeller.FNumber`). */
export function kingdeeFieldKeys(mapping: SyncMapping): string[] {
  const paths = [mapping.customerId.from, mapping.owner.from, ...Object.values(mapping.fields).map((f) => f.from)];
  return [...new Set([ID, MODIFIED, FORBID, ...paths])];
}

/** A row (values in field-key order) as a record; dotted keys nest, as the mapping reads them. */
export function rowRecord(keys: readonly string[], row: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  keys.forEach((key, i) => {
    const parts = key.split('.');
    let at = out;
    for (const p of parts.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
    at[parts.at(-1)!] = row[i] ?? null;
  });
  return out;
}

export class KingdeeConnector implements Connector {
  private readonly client: KingdeeClient;
  private readonly keys: string[];

  constructor(readonly source: string, private readonly settings: KingdeeSettings, mapping: SyncMapping, budget: RateBudget, fetchImpl?: typeof fetch) {
    this.client = new KingdeeClient(source, settings, budget, fetchImpl);
    this.keys = kingdeeFieldKeys(mapping);
  }

  async readChanges(cursor: string | null): Promise<ChangePage> {
    const c = decodeKingdeeCursor(cursor);
    if (c === 'invalid') throw new CustosError(ErrorCode.SyncSourceFailed, `sync of ${this.source}: the stored cursor is not a 金蝶云星空 cursor; run \`custos sync run ${this.source} --full\``, { source: this.source });
    const after = c.kind === 'start' ? null : c.kind === 'rewind' ? { modified: rewound(c.position.modified), id: 0 } : c.position;
    const filter = after ? `(${MODIFIED} > '${after.modified}' OR (${MODIFIED} = '${after.modified}' AND ${ID} > ${after.id}))` : '';
    const rows = await this.query({ FieldKeys: this.keys.join(','), FilterString: filter, OrderString: `${MODIFIED} ASC,${ID} ASC`, Limit: this.settings.pageSize });
    const changes: SourceChange[] = [];
    let last: KingdeePosition | null = c.kind === 'start' ? null : c.position;
    for (const row of rows) {
      const record = rowRecord(this.keys, row);
      const id = record[ID];
      const modified = stampLiteral(record[MODIFIED]);
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || modified === null) {
        throw new CustosError(ErrorCode.SyncSourceFailed, `sync of ${this.source}: 金蝶云星空 returned a row without a numeric ${ID} or a ${MODIFIED} stamp`, { source: this.source });
      }
      changes.push(record[FORBID] === 'B' ? { op: 'delete', sourceId: String(id) } : { op: 'upsert', sourceId: String(id), fields: record });
      last = { modified, id };
    }
    const done = rows.length < this.settings.pageSize;
    if (!last) return { changes, nextCursor: null, done: true }; // an empty source: the next run starts over
    return { changes, nextCursor: encodeKingdeeCursor(done ? 'rewind' : 'at', last), done };
  }

  async readByIds(sourceIds: readonly string[]): Promise<SourceRecord[]> {
    const ids = sourceIds.filter((s) => /^\d{1,15}$/.test(s)); // anything else is not a K/3 customer id: no such record
    const out: SourceRecord[] = [];
    for (let i = 0; i < ids.length; i += BY_ID_CHUNK) {
      const chunk = ids.slice(i, i + BY_ID_CHUNK);
      const rows = await this.query({ FieldKeys: this.keys.join(','), FilterString: `${ID} IN (${chunk.join(',')})`, OrderString: `${ID} ASC`, Limit: chunk.length });
      for (const row of rows) {
        const record = rowRecord(this.keys, row);
        if (record[FORBID] !== 'B') out.push({ sourceId: String(record[ID]), fields: record });
      }
    }
    return out;
  }

  async *listLiveIds(): AsyncIterable<string[]> {
    let after = 0;
    for (;;) {
      const rows = await this.query({ FieldKeys: ID, FilterString: `${FORBID} = 'A' AND ${ID} > ${after}`, OrderString: `${ID} ASC`, Limit: this.settings.pageSize });
      if (rows.length) yield rows.map((r) => String(r[0]));
      if (rows.length < this.settings.pageSize) return;
      after = Number(rows.at(-1)![0]);
    }
  }

  private query(q: Pick<BillQuery, 'FieldKeys' | 'FilterString' | 'OrderString' | 'Limit'>): Promise<unknown[][]> {
    const org = this.settings.useOrg ? `FUseOrgId.FNumber = '${this.settings.useOrg}'` : '';
    const filter = [org, q.FilterString].filter(Boolean).join(' AND ');
    return this.client.query({ FormId: this.settings.formId, TopRowCount: 0, StartRow: 0, ...q, FilterString: filter });
  }
}
