// One sink's follower: reads the audit chain (or the checkpoint chain) after the sink's durable cursor,
// sends it in batches, and advances the cursor only past batches the sink CONFIRMED stored (Splunk's
// indexer acknowledgement, an OTLP answer without rejections, the bytes taken by the syslog socket).
// At least once: after any failure, whatever was in flight is sent again from the cursor (minus
// `rewind` for sinks without acknowledgements), and the receiver de-duplicates by `seq`.
// The cursor moves by compare-and-swap from the position this follower read, so two replicas following
// the same sink can both send (duplicates, harmless) but never both advance, never past each other.
// Several batches may be in flight at once (`window`): sending, acknowledging and reading overlap, while
// the cursor still moves strictly in order, only ever to the end of a confirmed batch. It is written
// once per `commitEvery` confirmed batches (and whenever nothing else is in flight, and before giving up
// after a failure), not after each: on FerretDB each compare-and-swap cost ~45 ms at load ~20, a fifth
// of the whole per-batch time. The price is that a crash resends up to that many confirmed batches
// (at least once, de-duplicated by seq anyway).

import type { CursorPort, SentBatch, SinkPort, SourcePort, StreamPosition } from '../../bot/core/audit-stream-ports.ts';

export type { CursorPort, SentBatch, SinkPort, SourcePort, StreamPosition };

export interface FollowerOptions {
  /** The cursor's key: the sink's name, plus `:checkpoints` for the checkpoint chain. */
  cursorKey: string;
  batchSize: number;
  /** Batches in flight at once (sent, not yet confirmed). */
  window: number;
  /** After a failure, resend from this many items before the cursor (sinks without acknowledgements). */
  rewind: number;
  /** Confirmed batches the durable cursor may trail by before it is written (1: after each). */
  commitEvery: number;
}

interface InFlight { last: StreamPosition; batch: SentBatch }

export class Follower<T extends StreamPosition> {
  private pos: StreamPosition | null = null; // the durable cursor, as this follower last read or wrote it
  private confirmed: StreamPosition | null = null; // the end of the last confirmed batch (never behind pos)
  private uncommitted = 0; // confirmed batches past pos
  private nextSeq = 0; // the last seq sent (or read to be sent)
  private inFlight: InFlight[] = [];
  private rewindNext = false;

  constructor(
    private readonly cursors: CursorPort,
    private readonly source: SourcePort<T>,
    private readonly sink: SinkPort<T>,
    private readonly opts: FollowerOptions,
  ) {}

  /** The cursor as this follower last knew it (null before the first step). */
  get position(): StreamPosition | null { return this.pos; }

  /**
   * One round: fills the window with new batches, then waits for the oldest one's confirmation and
   * advances the cursor past it. Returns whether anything moved (false: caught up). Throws on a sink or
   * database failure, after forgetting everything in flight (the next round starts again from the cursor).
   */
  async step(): Promise<boolean> {
    try {
      return await this.round();
    } catch (err) {
      // What was confirmed stays confirmed: keep it (else a sink failing every few batches would never
      // see the cursor move), then start again from the cursor.
      await this.commit().catch(() => undefined);
      this.reset();
      if (this.opts.rewind > 0) this.rewindNext = true;
      throw err;
    }
  }

  /** Forgets what is in flight and re-reads the cursor next round (a crash, a rival's advance). */
  reset(): void {
    this.inFlight = [];
    this.pos = null;
    this.confirmed = null;
    this.uncommitted = 0;
  }

  private async round(): Promise<boolean> {
    if (this.pos === null) {
      this.pos = await this.cursors.read(this.opts.cursorKey);
      this.confirmed = this.pos;
      this.nextSeq = this.rewindNext ? Math.max(0, this.pos.seq - this.opts.rewind) : this.pos.seq;
      this.rewindNext = false;
    }
    let sent = false;
    while (this.inFlight.length < this.opts.window) {
      const items = await this.source.readAfter(this.nextSeq, this.opts.batchSize);
      if (items.length === 0) break;
      const batch = await this.sink.send(items);
      const last = items.at(-1)!;
      this.inFlight.push({ last: { seq: last.seq, hash: last.hash }, batch });
      this.nextSeq = last.seq;
      sent = true;
    }
    const head = this.inFlight[0];
    if (!head) return (await this.commit()) || sent; // nothing in flight: write what is confirmed
    // Confirmation is asked for in order, when a batch is the oldest in flight; the later ones were
    // being stored meanwhile, so their own confirmation is usually immediate.
    await head.batch.confirm();
    this.inFlight.shift();
    if (head.last.seq > this.confirmed!.seq) { // else a resent (rewound) batch, already behind
      this.confirmed = head.last;
      this.uncommitted++;
    }
    if (this.uncommitted >= this.opts.commitEvery) await this.commit();
    return true;
  }

  /** Writes the cursor to the end of the last confirmed batch; true if that moved (or a rival had). */
  private async commit(): Promise<boolean> {
    const from = this.pos;
    const to = this.confirmed;
    if (!from || !to || to.seq <= from.seq) return false;
    if (!(await this.cursors.advance(this.opts.cursorKey, from, to))) {
      this.reset(); // another replica moved the cursor: start again from where it is now
      return true;
    }
    this.pos = to;
    this.uncommitted = 0;
    return true;
  }
}
