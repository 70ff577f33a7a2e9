// Durable per-sink cursors of the audit stream (workers/stream): the last seq (and its hash) a sink has
// confirmed stored. One document per cursor key; moved only by compare-and-swap on both seq and hash,
// so two stream replicas never both advance it and a cursor can never be moved backwards or sideways.
// Plain updateOne / insertOne with a unique _id: works on FerretDB 1.24 and MongoDB alike.
import type { Collection } from 'mongodb';
import type { Connection } from 'mongoose';
import { GENESIS_HASH } from '../core/audit-event.ts';
import type { CursorPort, StreamPosition } from '../core/audit-stream-ports.ts';
import { isDuplicateKey } from './audit-store.ts';

export const AUDIT_STREAM_CURSORS_COLLECTION = 'audit_stream_cursors';

interface CursorDoc { _id: string; seq: number; hash: string; updatedAt: Date }

export const START_POSITION: StreamPosition = { seq: 0, hash: GENESIS_HASH };

export class MongoStreamCursors implements CursorPort {
  private readonly coll: Collection<CursorDoc>;

  constructor(conn: Connection, private readonly now: () => Date = () => new Date()) {
    this.coll = conn.db!.collection<CursorDoc>(AUDIT_STREAM_CURSORS_COLLECTION);
  }

  async read(key: string): Promise<StreamPosition> {
    const doc = await this.coll.findOne({ _id: key });
    return doc ? { seq: doc.seq, hash: doc.hash } : START_POSITION;
  }

  async advance(key: string, from: StreamPosition, to: StreamPosition): Promise<boolean> {
    if (to.seq <= from.seq) return false;
    const res = await this.coll.updateOne({ _id: key, seq: from.seq, hash: from.hash }, { $set: { seq: to.seq, hash: to.hash, updatedAt: this.now() } });
    if (res.modifiedCount === 1) return true;
    if (from.seq !== 0) return false;
    return this.insert({ _id: key, seq: to.seq, hash: to.hash, updatedAt: this.now() });
  }

  /** Creates the cursor at the start of the chain if it does not exist, so its lag shows before any delivery. */
  async register(key: string): Promise<void> {
    await this.insert({ _id: key, ...START_POSITION, updatedAt: this.now() });
  }

  /** Inserts a cursor; false when it exists (a rival's insert wins by the unique _id). */
  private async insert(doc: CursorDoc): Promise<boolean> {
    try {
      await this.coll.insertOne(doc);
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  /** Every cursor (for the lag gauge and `custos start --only stream` logs). */
  async all(): Promise<(StreamPosition & { key: string })[]> {
    return (await this.coll.find({}).toArray()).map((d) => ({ key: d._id, seq: d.seq, hash: d.hash }));
  }
}
