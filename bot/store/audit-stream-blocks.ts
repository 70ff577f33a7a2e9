// Stream blocks: a second copy of each batch of audit records the chain writer stores, as ONE document
// per batch (up to BLOCK_RECORDS records, as the JSON lines the stream sends), for the audit stream to
// read. Why: on FerretDB every document read costs a fixed conversion (PostgreSQL JSONB → its own types
// → BSON) that dwarfs the record's size, so reading 1,000 records as one document is hundreds of times
// cheaper than as 1,000 documents (measured: ~1,000 records/s as documents on a loaded 2-core machine).
// The blocks are only a faster path: the events collection stays the chain of record (verify, queries,
// archive); a block that is missing (the writer failed between the two inserts), out of order or not
// starting where the stream stands is simply not used, and the stream reads the events instead.
// Records hold no personal data (the audit schema refuses it), so neither do the blocks.
import type { Collection, Db, FindCursor } from 'mongodb';
import type { StoredAuditRecord } from '../core/audit-event.ts';
import type { StreamItem } from '../core/audit-stream-ports.ts';
import { streamRecordOf, type StreamRecord } from '../core/audit-stream-record.ts';
import { isDuplicateKey } from './audit-store.ts';

export const AUDIT_STREAM_BLOCKS_COLLECTION = 'audit_stream_blocks';
const BLOCK_RECORDS = 1000;

/** `_id` is the block's first seq; `lines` its records as sent, one JSON object a line. */
interface BlockDoc { _id: number; last: number; lines: string }

function blocks(db: Db): Collection<BlockDoc> {
  return db.collection<BlockDoc>(AUDIT_STREAM_BLOCKS_COLLECTION);
}

/**
 * Stores the block copies of records just appended to the chain. A failure is not the writer's failure
 * (the records are stored): it only leaves those records to the stream's slower path, so it is returned
 * for the caller to log rather than thrown. A duplicate (a rival writer's block) is fine.
 */
export async function writeStreamBlocks(db: Db, records: readonly StoredAuditRecord[]): Promise<unknown> {
  try {
    for (let i = 0; i < records.length; i += BLOCK_RECORDS) {
      const part = records.slice(i, i + BLOCK_RECORDS);
      const lines = part.map((r) => JSON.stringify(streamRecordOf(r as unknown as Record<string, unknown>))).join('\n');
      await blocks(db).insertOne({ _id: part[0]!.seq, last: part.at(-1)!.seq, lines }).catch((err: unknown) => { if (!isDuplicateKey(err)) throw err; });
    }
    return null;
  } catch (err) {
    return err;
  }
}

/** Removes the blocks that start at or before `lastSeq` (their records are archived: no copy stays). */
export async function removeStreamBlocksThrough(db: Db, lastSeq: number): Promise<void> {
  await blocks(db).deleteMany({ _id: { $lte: lastSeq } });
}

/**
 * Reads records from blocks, continuing one open cursor over the blocks (one query per catch-up, like the
 * event source). `read` returns what the blocks hold from `afterSeq + 1` on, up to `limit` ([] when no
 * block holds `afterSeq + 1`); the rest of a block larger than one read is kept for the next. After a
 * miss, `resumesAt` is the first seq of the next block seen, if any (the records before it have none).
 */
export class StreamBlockReader {
  private cursor: FindCursor<BlockDoc> | null = null;
  private at = -1; // the last seq read (the open cursor and `rest` continue after it)
  private rest: StreamRecord[] = [];
  resumesAt: number | null = null;

  constructor(private readonly db: Db) {}

  /** Whether a read after `afterSeq` continues the open cursor (no new query). */
  continues(afterSeq: number): boolean {
    return this.at === afterSeq && (this.cursor !== null || this.rest.length > 0);
  }

  async read(afterSeq: number, limit: number): Promise<StreamItem[]> {
    if (!this.continues(afterSeq)) await this.reopen(afterSeq);
    const items: StreamItem[] = [];
    while (items.length < limit) {
      if (this.rest.length === 0 && !(await this.nextBlock(this.at + 1))) break;
      const body = this.rest.shift()!;
      items.push({ kind: 'event', seq: body.seq, hash: body.hash, body });
      this.at = body.seq;
    }
    return items;
  }

  async close(): Promise<void> {
    await this.cursor?.close().catch(() => undefined);
    this.cursor = null;
    this.rest = [];
    this.at = -1;
  }

  private async reopen(afterSeq: number): Promise<void> {
    await this.close();
    this.resumesAt = null;
    // No sort: FerretDB cannot push a sort down (it would read every block before answering the first);
    // blocks come back in the order they were stored, which is seq order, and `nextBlock` checks it.
    this.cursor = blocks(this.db).find({ last: { $gt: afterSeq } }).batchSize(2);
    this.at = afterSeq;
  }

  /** The block holding `expected` (its records from there on); otherwise, or unreadable, the cursor is dropped. */
  private async nextBlock(expected: number): Promise<boolean> {
    try {
      const doc = this.cursor ? await this.cursor.next() : null;
      if (doc && doc._id <= expected && doc.last >= expected) {
        this.rest = doc.lines.split('\n').map((l) => JSON.parse(l) as StreamRecord).filter((r) => r.seq >= expected);
        return true;
      }
      if (doc && doc._id > expected) this.resumesAt = doc._id;
    } catch {
      // a read or parse failure: the events are read instead
    }
    await this.cursor?.close().catch(() => undefined);
    this.cursor = null;
    this.rest = [];
    return false;
  }
}
