// The 纷享销客 (ShareCRM) connector on the OpenAPI v2 data query over the account object (AccountObj, or
// the mapping's `object`). Decision: polling plus reconciliation, no push. 纷享销客's outbound change
// messages are configured per tenant in its workflow/webhook settings with no documented signature custos
// could verify, and an unverifiable request must not reach the sync (README "纷享销客").
//   readChanges   one keyset page after the cursor, by (last_modified_time, _id); 作废 records
//                 (life_status 'invalid') become deletions
//   readByIds     _id IN (…), a page at a time; invalid or missing records are absent
//   describeFields  查询对象描述 (/cgi/crm/v2/object/describe) for `custos sync check`; fields whose
//                 define_type is `system` (_id, last_modified_time, created_by, …) are reported as type
//                 `system`, so the check lists only business fields as unmapped
//   listLiveIds   _id keyset pages of the records that are not invalid (hard deletions from the recycle
//                 bin leave no trace in a query: reconciliation finds them)
// Pages never use `offset` (always 0): 纷享销客 refuses offsets past 10,000 (errorCode 10013) and rows edited
// during a scan would shift under an offset; the documented way past that is a keyset on _id.
import { CustosError, ErrorCode } from '../../core/errors.ts';
import type { SyncMapping } from '../mapping.ts';
import type { ChangePage, Connector, SourceChange, SourceField, SourceRecord } from '../types.ts';
import type { Filter, Order, SearchQuery, ShareCrmClient } from './client.ts';
import { DATA_ID, decodeShareCrmCursor, encodeShareCrmCursor, REWIND_MS, type ShareCrmPosition } from './cursor.ts';

const ID = '_id';
const MODIFIED = 'last_modified_time';
const LIFE = 'life_status';
const INVALID = 'invalid';
const BY_STAMP: Order[] = [{ fieldName: MODIFIED, isAsc: true }, { fieldName: ID, isAsc: true }];
const BY_ID: Order[] = [{ fieldName: ID, isAsc: true }];

/** Fields to ask for: the connector's own, then the top-level field of each path the mapping reads. */
export function shareCrmProjection(mapping: SyncMapping): string[] {
  const paths = [mapping.customerId.from, mapping.owner.from, ...Object.values(mapping.fields).map((f) => f.from)];
  return [...new Set([ID, MODIFIED, LIFE, 'is_deleted', ...paths.map((p) => p.split('.')[0]!)])];
}

const isGone = (r: Record<string, unknown>) => r[LIFE] === INVALID || r.is_deleted === true;

export class ShareCrmConnector implements Connector {
  private readonly projection: string[];

  constructor(readonly source: string, private readonly object: string, mapping: SyncMapping, private readonly client: ShareCrmClient, private readonly pageSize: number) {
    this.projection = shareCrmProjection(mapping);
  }

  async readChanges(cursor: string | null): Promise<ChangePage> {
    const c = decodeShareCrmCursor(cursor);
    if (c === 'invalid') throw this.error(`the stored cursor is not a 纷享销客 cursor; run \`custos sync run ${this.source} --full\``);
    let rows: Record<string, unknown>[];
    let done: boolean;
    if (c.kind === 'at') {
      // Filters are ANDed, so the keyset (stamp > m) OR (stamp = m AND _id > id) is two queries: the rest
      // of the records sharing the last stamp (a bulk import can give thousands one stamp), then later ones.
      const { modified, id } = c.position;
      const same = await this.query([{ field_name: MODIFIED, field_values: [modified], operator: 'EQ' }, { field_name: ID, field_values: [id], operator: 'GT' }], BY_ID, this.pageSize);
      if (same.length === this.pageSize) { rows = same; done = false; } else {
        const room = this.pageSize - same.length;
        const later = await this.query([{ field_name: MODIFIED, field_values: [modified], operator: 'GT' }], BY_STAMP, room);
        rows = [...same, ...later];
        done = later.length < room;
      }
    } else {
      const filters: Filter[] = c.kind === 'rewind' ? [{ field_name: MODIFIED, field_values: [Math.max(0, c.position.modified - REWIND_MS)], operator: 'GTE' }] : [];
      rows = await this.query(filters, BY_STAMP, this.pageSize);
      done = rows.length < this.pageSize;
    }
    const changes: SourceChange[] = [];
    let last: ShareCrmPosition | null = c.kind === 'start' ? null : c.position;
    for (const row of rows) {
      const id = row[ID];
      const modified = row[MODIFIED];
      if (typeof id !== 'string' || !DATA_ID.test(id) || typeof modified !== 'number' || !Number.isSafeInteger(modified)) {
        throw this.error(`纷享销客 returned a record without a ${ID} or a numeric ${MODIFIED}`);
      }
      changes.push(isGone(row) ? { op: 'delete', sourceId: id } : { op: 'upsert', sourceId: id, fields: row });
      last = { modified, id };
    }
    if (!last) return { changes, nextCursor: null, done: true }; // an empty source: the next run starts over
    return { changes, nextCursor: encodeShareCrmCursor(done ? 'rewind' : 'at', last), done };
  }

  async readByIds(sourceIds: readonly string[]): Promise<SourceRecord[]> {
    const ids = sourceIds.filter((s) => DATA_ID.test(s)); // anything else is no 纷享销客 record
    const out: SourceRecord[] = [];
    for (let i = 0; i < ids.length; i += this.pageSize) {
      const chunk = ids.slice(i, i + this.pageSize);
      const rows = await this.query([{ field_name: ID, field_values: chunk, operator: 'IN' }], BY_ID, chunk.length);
      for (const row of rows) if (!isGone(row) && typeof row[ID] === 'string') out.push({ sourceId: row[ID], fields: row });
    }
    return out;
  }

  async *listLiveIds(): AsyncIterable<string[]> {
    let after: string | null = null;
    for (;;) {
      const filters: Filter[] = [{ field_name: LIFE, field_values: [INVALID], operator: 'NIN' }];
      if (after !== null) filters.push({ field_name: ID, field_values: [after], operator: 'GT' });
      const rows = await this.client.query(this.object, { limit: this.pageSize, offset: 0, filters, orders: BY_ID, fieldProjection: [ID] });
      const ids = rows.map((r) => r[ID]).filter((x): x is string => typeof x === 'string' && DATA_ID.test(x));
      if (ids.length) yield ids;
      if (rows.length < this.pageSize) return;
      after = ids.at(-1)!;
    }
  }

  async describeFields(): Promise<SourceField[]> {
    const fields = await this.client.describe(this.object);
    return fields.map((f) => ({ name: f.name, type: f.defineType === 'system' ? 'system' : f.type }));
  }

  private query(filters: Filter[], orders: Order[], limit: number): Promise<Record<string, unknown>[]> {
    const q: SearchQuery = { limit, offset: 0, filters, orders, fieldProjection: this.projection };
    return this.client.query(this.object, q);
  }

  private error(message: string): CustosError {
    return new CustosError(ErrorCode.SyncSourceFailed, `sync of ${this.source}: ${message}`, { source: this.source });
  }
}
