// Stream blocks: a second copy of each batch of audit records the chain writer stores, as ONE document
// per batch (up to BLOCK_RECORDS records, as the JSON lines the stream sends), for the audit stream to
// read. Why: on FerretDB every document read costs a fixed conversion (PostgreSQL JSONB → its own types
// → BSON) that dwarfs the record's size, so reading 1,000 records as one document is hundreds of times
// cheaper than as 1,000 documents (measured: ~1,000 records/s as documents on a loaded 2-core machine).
// The blocks are only a faster path: the events collection stays the chain of record (verify, queries,
// archive); a block that is missing (the writer failed between the two inserts), out of order or not
// starting where the stream stands is simply not used, and the stream reads the events instead.
// Records hold no personal data (the audit schema refuses it), so neither do the blocks.
import { promisify } from 'node:util';
import { deflateRaw, inflateRaw } from 'node:zlib';
import { Binary, type Collection, type Db, type FindCursor } from 'mongodb';
import type { StoredAuditRecord } from '../core/audit-event.ts';
import type { StreamItem } from '../core/audit-stream-ports.ts';
import { streamRecordOf, type StreamRecord } from '../core/audit-stream-record.ts';
import { isDuplicateKey } from './audit-store.ts';

export const AUDIT_STREAM_BLOCKS_COLLECTION = 'audit_stream_blocks';
const BLOCK_RECORDS = 1000;
const deflate = promisify(deflateRaw);
const inflate = promisify(inflateRaw);

/**
 * `_id` is the block's first seq; `z` its records as sent, one JSON object a line, deflated (raw
 * DEFLATE). Blocks written before compression hold the same text uncompressed in `lines` (still read).
 * Why compressed: FerretDB's cost of returning a document grows with its size (PostgreSQL JSONB text →
 * its types → BSON, every quote of the JSON lines escaped on the way), and a 1,000-record block is ~750 kB
 * of text but ~150 kB deflated: measured on FerretDB-on-PostgreSQL at load ~20, 125–200 ms per text block
 * against 19–46 ms per deflated one, inflating included.
 */
interface BlockDoc { _id: number; last: number; z?: Binary; lines?: string }

function blocks(db: Db): Collection<BlockDoc> {
  return db.collection<BlockDoc>(AUDIT_STREAM_BLOCKS_COLLECTION);
}

async function recordsOf(doc: BlockDoc): Promise<StreamRecord[]> {
  const text = doc.z ? (await inflate(doc.z.buffer)).toString('utf8') : doc.lines!;
  return text.split('\n').map((l) => JSON.parse(l) as StreamRecord);
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
      const z = new Binary(await deflate(Buffer.from(lines, 'utf8')));
      await blocks(db).insertOne({ _id: part[0]!.seq, last: part.at(-1)!.seq, z }).catch((err: unknown) => { if (!isDuplicateKey(err)) throw err; });
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
 * Reads records from blocks. The usual way is by `_id` equality, one block after the other (the next
 * block starts where the last one ended): an equality on `_id` is answered from the primary key by
 * MongoDB and by FerretDB alike, whereas any range filter makes FerretDB read and convert every block
 * (it pushes only equality down to its backend) — which, for a stream that is caught up and looks for
 * the next block every poll, meant converting the whole collection each time. A read never splits a
 * block it does not have to: it stops before a block that would overflow `limit`, so a batch ends where
 * a block ends and the next read (also after a restart from the durable cursor) finds its block by
 * equality. `readRange` is the fallback for a position inside a block or without one (batches smaller
 * than a block, records without blocks): one open cursor over `last > afterSeq`, like before.
 * After a miss of `readRange`, `resumesAt` is the first seq of the next block seen, if any.
 */
export class StreamBlockReader {
  private cursor: FindCursor<BlockDoc> | null = null;
  private at = -1; // the last seq read (the open cursor and `rest` continue after it)
  private rest: StreamRecord[] = [];
  resumesAt: number | null = null;

  constructor(private readonly db: Db) {}

  /** Whether a read after `afterSeq` continues what the reader holds (the rest of a block, or the range cursor). */
  continues(afterSeq: number): boolean {
    return this.at === afterSeq && (this.cursor !== null || this.rest.length > 0);
  }

  /** Records from the block starting at `afterSeq + 1` (or continuing the last read) on; [] when there is none. */
  async read(afterSeq: number, limit: number): Promise<StreamItem[]> {
    if (!this.continues(afterSeq)) {
      await this.close();
      this.at = afterSeq;
    }
    const items: StreamItem[] = [];
    while (items.length < limit) {
      if (this.rest.length === 0 && !(await this.nextBlock(this.at + 1, items.length > 0 ? limit - items.length : Infinity))) break;
      const body = this.rest.shift()!;
      items.push({ kind: 'event', seq: body.seq, hash: body.hash, body });
      this.at = body.seq;
    }
    return items;
  }

  /** The fallback: the block holding `afterSeq + 1` found by a range query, continued by that cursor. */
  async readRange(afterSeq: number, limit: number): Promise<StreamItem[]> {
    await this.close();
    this.resumesAt = null;
    // No sort: FerretDB cannot push a sort down (it would read every block before answering the first);
    // blocks come back in the order they were stored, which is seq order, and `nextBlock` checks it.
    this.cursor = blocks(this.db).find({ last: { $gt: afterSeq } }).batchSize(2);
    this.at = afterSeq;
    return this.read(afterSeq, limit);
  }

  async close(): Promise<void> {
    await this.cursor?.close().catch(() => undefined);
    this.cursor = null;
    this.rest = [];
    this.at = -1;
  }

  /**
   * Loads the block holding `expected` (its records from there on) into `rest`: from the range cursor when
   * one is open, else the block starting at `expected`. A block with more than `room` records is kept for
   * the next read (its records stay in `rest`) and false is returned. Otherwise, or unreadable, false.
   */
  private async nextBlock(expected: number, room: number): Promise<boolean> {
    try {
      const doc = this.cursor ? await this.cursor.next() : await blocks(this.db).findOne({ _id: expected });
      if (doc && doc._id <= expected && doc.last >= expected) {
        this.rest = (await recordsOf(doc)).filter((r) => r.seq >= expected);
        return this.rest.length <= room;
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
