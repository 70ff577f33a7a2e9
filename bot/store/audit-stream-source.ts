// Reads of the audit chain for the stream (workers/stream): a range of seq at a time, on the unique seq
// index, so a batch costs one index walk however long the chain is. A gap in what comes back means the
// chain is broken: the read fails rather than letting a sink skip a record.
import type { StreamItem } from '../../workers/stream/items.ts';
import type { SourcePort } from '../../workers/stream/follower.ts';
import { streamCheckpointOf, streamRecordOf } from '../core/audit-stream-record.ts';
import type { AuditModels } from './audit-model.ts';

function gapless(items: StreamItem[], afterSeq: number, what: string): StreamItem[] {
  items.forEach((it, i) => {
    if (it.seq !== afterSeq + 1 + i) throw new Error(`audit stream: ${what} ${afterSeq + 1 + i} is missing from the database; run custos audit verify`);
  });
  return items;
}

export function eventSource(models: AuditModels): SourcePort<StreamItem> {
  return {
    async readAfter(afterSeq, limit) {
      const docs = await models.events.collection.find({ seq: { $gt: afterSeq, $lte: afterSeq + limit } }, { projection: { _id: 0 } })
        .sort({ seq: 1 }).batchSize(limit).toArray();
      return gapless(docs.map((d) => {
        const body = streamRecordOf(d);
        return { kind: 'event' as const, seq: body.seq, hash: body.hash, body };
      }), afterSeq, 'seq');
    },
  };
}

export function checkpointSource(models: AuditModels): SourcePort<StreamItem> {
  return {
    async readAfter(afterN, limit) {
      const docs = await models.checkpoints.collection.find({ n: { $gt: afterN } }, { projection: { _id: 0 } }).sort({ n: 1 }).limit(limit).toArray();
      return gapless(docs.map((d) => {
        const body = streamCheckpointOf(d);
        return { kind: 'checkpoint' as const, seq: body.seq, hash: body.hash, body };
      }), afterN, 'checkpoint');
    },
  };
}

/** The chain's last seq (0 when empty), for the lag. */
export async function chainEnd(models: AuditModels): Promise<number> {
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
      if (last && items.length === limit) {
        const next = source.readAfter(last.seq, limit);
        next.catch(() => undefined); // a failed read-ahead is simply read again when asked for
        ahead = { after: last.seq, limit, items: next };
      }
      return items;
    },
  };
}
