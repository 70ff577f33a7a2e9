// Reads of the audit chain for the stream (workers/stream), in seq order on the unique seq index. A gap
// in what comes back means the chain is broken: the read fails rather than letting a sink skip a record.
import type { SourcePort, StreamItem } from '../core/audit-stream-ports.ts';
import { streamCheckpointOf, streamRecordOf } from '../core/audit-stream-record.ts';
import type { Document, FindCursor } from 'mongodb';
import { ArchiveRecords } from './audit-archive-store.ts';
import { StreamBlockReader } from './audit-stream-blocks.ts';
import type { AuditModels } from './audit-model.ts';

class ChainGap extends Error {}

function gapless(items: StreamItem[], afterSeq: number, what: string): StreamItem[] {
  items.forEach((it, i) => {
    if (it.seq !== afterSeq + 1 + i) throw new ChainGap(`audit stream: ${what} ${afterSeq + 1 + i} is missing from the database; run custos audit verify`);
  });
  return items;
}

/**
 * The event chain after a seq, through ONE open, sorted database cursor that later reads continue
 * (getMore), so the server runs one query per catch-up instead of one per batch: on FerretDB's SQLite
 * backend every query scans the collection, and a query per batch made reading quadratic. A read that
 * does not continue where the cursor stands, or a cursor that ran dry (caught up), opens a new one.
 * Reads are serialised: the read-ahead (`prefetching`) and the follower share the cursor.
 * Records are read from their stream blocks (audit-stream-blocks.ts: one document per written batch,
 * found by `_id` equality) wherever those continue the chain, which on FerretDB is hundreds of times
 * cheaper than reading the event documents; the events are read only for records without a block.
 */
export function eventSource(models: AuditModels): SourcePort<StreamItem> {
  const archives = new ArchiveRecords(models.events.db.db!);
  const blockReader = new StreamBlockReader(models.events.db.db!);
  let cursor: FindCursor<Document> | null = null;
  let at = -1; // the seq the open cursor continues after
  let queue: Promise<unknown> = Promise.resolve();
  // Walk the seq index (hint) rather than sort: MongoDB then returns index order with no sort stage, and
  // FerretDB starts answering at once instead of sorting the whole rest of the chain first. Should a
  // server return another order anyway, the gapless check notices and reads sorted from then on.
  let sorted = false;

  function open(afterSeq: number, limit: number): FindCursor<Document> {
    const c = models.events.collection.find({ seq: { $gt: afterSeq } }, { projection: { _id: 0 } }).batchSize(Math.max(limit, 1000));
    return sorted ? c.sort({ seq: 1 }) : c.hint({ seq: 1 });
  }

  async function readChecked(afterSeq: number, limit: number): Promise<StreamItem[]> {
    try {
      return await read(afterSeq, limit);
    } catch (err) {
      if (sorted || !(err instanceof ChainGap)) throw err;
      sorted = true;
      await cursor?.close().catch(() => undefined);
      cursor = null;
      return read(afterSeq, limit);
    }
  }

  // A record found without its block right where the blocks read so far ended is given this many reads
  // before its block counts as missing: the chain writer stores the block right after the records, so a
  // stream that is caught up regularly finds the records a moment before their block. Falling back at
  // once would cost FerretDB a conversion of every block and every event (no range filter is pushed
  // down). Anywhere else (a fresh start, an archive's end, inside a block) there is no such wait.
  const LATE_BLOCK_READS = 3;
  let late = { seq: -1, reads: 0 };
  let blocksEnded = -1; // where the last read from blocks ended

  async function read(afterSeq: number, wanted: number): Promise<StreamItem[]> {
    let limit = wanted;
    if (!cursor || at !== afterSeq || blockReader.resumesAt === afterSeq + 1) {
      await cursor?.close().catch(() => undefined);
      cursor = null;
      const fromBlocks = await blockReader.read(afterSeq, limit);
      if (fromBlocks.length > 0) {
        blocksEnded = fromBlocks.at(-1)!.seq;
        return gapless(fromBlocks, afterSeq, 'seq');
      }
      // Records up to an archive's end may be gone (custos audit archive refuses while a sink still
      // needs them): a new sink, or a rewind, continues after them instead of stopping at a "gap".
      const archived = await archives.archivedThrough();
      if (archived > afterSeq) return read(archived, limit);
      // Caught up? One equality look-up, which FerretDB pushes down to the database, instead of a
      // query that would convert the whole chain only to find nothing after the cursor.
      if (!(await models.events.collection.findOne({ seq: afterSeq + 1 }, { projection: { _id: 1 } }))) return [];
      if (afterSeq === blocksEnded) {
        late = late.seq === afterSeq ? { seq: afterSeq, reads: late.reads + 1 } : { seq: afterSeq, reads: 1 };
        if (late.reads <= LATE_BLOCK_READS) return [];
      }
      // Inside a block (a batch smaller than a block), or records without one: find them by range.
      const fromRange = await blockReader.readRange(afterSeq, limit);
      if (fromRange.length > 0) return gapless(fromRange, afterSeq, 'seq');
      cursor = open(afterSeq, limit);
      at = afterSeq;
    }
    // Records without a block (a writer stopped between its two inserts, or older than the blocks):
    // read from the events only up to where the blocks resume.
    const resumes = blockReader.resumesAt;
    if (resumes !== null && resumes > afterSeq + 1) limit = Math.min(limit, resumes - 1 - afterSeq);
    const items: StreamItem[] = [];
    try {
      while (items.length < limit) {
        const doc = await cursor.next();
        if (!doc) { await cursor.close(); cursor = null; break; }
        const body = streamRecordOf(doc);
        items.push({ kind: 'event', seq: body.seq, hash: body.hash, body });
      }
    } catch (err) {
      await cursor?.close().catch(() => undefined);
      cursor = null;
      throw err;
    }
    at = items.at(-1)?.seq ?? afterSeq;
    return gapless(items, afterSeq, 'seq');
  }

  return {
    readAfter(afterSeq, limit) {
      const result = queue.then(() => readChecked(afterSeq, limit));
      queue = result.catch(() => undefined);
      return result;
    },
  };
}

export function checkpointSource(models: AuditModels): SourcePort<StreamItem> {
  return {
    async readAfter(afterN, limit) {
      // Nothing new (the usual answer, every poll)? An equality look-up FerretDB pushes down, before the
      // sorted range query it answers by converting every checkpoint.
      if (!(await models.checkpoints.collection.findOne({ n: afterN + 1 }, { projection: { _id: 1 } }))) return [];
      const docs = await models.checkpoints.collection.find({ n: { $gt: afterN } }, { projection: { _id: 0 } }).sort({ n: 1 }).limit(limit).toArray();
      return gapless(docs.map((d) => {
        const body = streamCheckpointOf(d);
        return { kind: 'checkpoint' as const, seq: body.seq, hash: body.hash, body };
      }), afterN, 'checkpoint');
    },
  };
}

/**
 * The chain's last seq (0 when empty), for the lag. Given `known`, a seq the chain is known to reach (the
 * last answer), it probes forward from there by equality look-ups, doubling then halving (the chain is
 * gapless above any stored seq; archiving removes only its beginning): a few look-ups that FerretDB
 * pushes down to its backend, where the sort it cannot push down converts the whole chain, every check
 * (minutes at 200,000 records). Without `known`, or when it is not stored, it sorts.
 */
export async function chainEnd(models: AuditModels, known = 0): Promise<number> {
  const stored = async (seq: number) => (await models.events.collection.findOne({ seq }, { projection: { _id: 1 } })) !== null;
  if (known > 0 && (await stored(known))) {
    let lo = known;
    let step = 1;
    while (await stored(lo + step)) { lo += step; step *= 2; }
    let hi = lo + step; // not stored
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (await stored(mid)) lo = mid; else hi = mid;
    }
    return lo;
  }
  const doc = await models.events.collection.find({}, { projection: { seq: 1 } }).sort({ seq: -1 }).limit(1).next();
  return doc ? Number(doc.seq) : 0;
}

/**
 * Reads the next range while the current one is being sent: the read of batch N+1 overlaps the send of
 * batch N. Only a read that continues exactly where the caller asks is used; anything else reads afresh.
 */
export function prefetching<T extends { seq: number }>(source: SourcePort<T & { hash: string }>): SourcePort<T & { hash: string }> {
  let ahead: { after: number; limit: number; items: Promise<(T & { hash: string })[]> } | null = null;
  return {
    async readAfter(afterSeq, limit) {
      const hit = ahead && ahead.after === afterSeq && ahead.limit === limit ? ahead.items : null;
      ahead = null;
      const items = await (hit ?? source.readAfter(afterSeq, limit));
      const last = items.at(-1);
      // Also after a read at least half full: a read stops at a block's end rather than split the next
      // block, so a full batch is not the only sign that more is there.
      if (last && items.length >= limit / 2) {
        const next = source.readAfter(last.seq, limit);
        next.catch(() => undefined); // a failed read-ahead is simply read again when asked for
        ahead = { after: last.seq, limit, items: next };
      }
      return items;
    },
  };
}
