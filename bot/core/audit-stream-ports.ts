// The audit stream's ports, pure types: positions in a chain, the durable cursor, the chain as a source,
// a sink and what it is given. The follower (workers/stream) drives them; bot/store implements the
// cursor and the source, workers/stream the sinks. Here so that bot/ never imports from workers/.
import type { StreamCheckpoint, StreamRecord } from './audit-stream-record.ts';

/** A position in a chain: the last delivered item's seq and hash (0 and the genesis hash at the start). */
export interface StreamPosition { seq: number; hash: string }

export interface CursorPort {
  read(sink: string): Promise<StreamPosition>;
  /** Moves the cursor from `from` to `to` iff it is still at `from`; false when another replica moved it. */
  advance(sink: string, from: StreamPosition, to: StreamPosition): Promise<boolean>;
}

export interface SourcePort<T extends StreamPosition> {
  /** Up to `limit` items with seq > `afterSeq`, in seq order, gapless. */
  readAfter(afterSeq: number, limit: number): Promise<T[]>;
}

/** A sent batch; `confirm` resolves once the sink has durably stored it and rejects if it will not. */
export interface SentBatch { confirm(): Promise<void> }

export interface SinkPort<T> {
  readonly name: string;
  send(items: T[]): Promise<SentBatch>;
}

/** What a sink is given: audit records (the event chain) and signed checkpoints (positioned by their number). */
export type StreamItem =
  | { kind: 'event'; seq: number; hash: string; body: StreamRecord }
  | { kind: 'checkpoint'; seq: number; hash: string; body: StreamCheckpoint };

