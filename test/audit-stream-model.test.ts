// Model-based test of the audit stream's cursor state machine (workers/stream/follower.ts): generated
// histories of a growing chain, two replicas following one sink, sinks that go down, are slow to
// acknowledge, lose what they had not yet acknowledged, and replicas that crash (lose all state).
// After EVERY step: the durable cursor never skips a record, never moves past anything the sink has not
// confirmed, never moves backwards, names the right hash; the sink never receives seq s+1 before s.
// At the end, with the sink healthy, the stream catches up to the end of the chain (so, whatever crashed
// on the way, every record was delivered at least once). The cursor is written once per `commitEvery`
// confirmed batches (generated 1–4): the same invariants hold after every step, and a clean catch-up
// writes it no more than once per that many batches (plus the last).
// Sizes: CUSTOS_MODEL_RUNS (default 150) histories of up to 40 commands.
import test from 'ava';
import fc from 'fast-check';
import { Follower, type CursorPort, type SentBatch, type SinkPort, type SourcePort, type StreamPosition } from '../workers/stream/follower.ts';

const RUNS = Number(process.env.CUSTOS_MODEL_RUNS ?? 150);

interface Item { seq: number; hash: string }
const hashOf = (seq: number) => `h${seq}`;

class Chain implements SourcePort<Item> {
  length = 0;
  async readAfter(after: number, limit: number): Promise<Item[]> {
    const out: Item[] = [];
    for (let s = after + 1; s <= Math.min(this.length, after + limit); s++) out.push({ seq: s, hash: hashOf(s) });
    return out;
  }
}

class MemoryCursors implements CursorPort {
  pos: StreamPosition = { seq: 0, hash: 'genesis' };
  advances = 0;
  async read(): Promise<StreamPosition> { return { ...this.pos }; }
  async advance(_k: string, from: StreamPosition, to: StreamPosition): Promise<boolean> {
    this.advances++;
    if (this.pos.seq !== from.seq || this.pos.hash !== from.hash || to.seq <= from.seq) return false;
    this.pos = { ...to };
    return true;
  }
}

/** A sink with an acknowledgement: sent batches are pending until confirmed; `lose` drops the pending ones. */
class ModelSink implements SinkPort<Item> {
  readonly name = 'model';
  down = false;
  slow = false; // acknowledgement not (yet) given: confirm fails, as a HEC ack timeout does
  durable = new Set<number>();
  everReceived = new Set<number>();
  private pending: { items: Item[]; lost: boolean }[] = [];
  orderViolation: string | null = null;

  async send(items: Item[]): Promise<SentBatch> {
    if (this.down) throw new Error('sink down');
    items.forEach((it, i) => { if (i > 0 && it.seq !== items[i - 1]!.seq + 1) this.orderViolation = `batch not consecutive at ${it.seq}`; });
    for (const it of items) {
      const max = this.everReceived.size === 0 ? 0 : Math.max(...this.everReceived);
      if (it.seq > max + 1) this.orderViolation = `seq ${it.seq} sent before ${max + 1}`;
      this.everReceived.add(it.seq);
    }
    const entry = { items, lost: false };
    this.pending.push(entry);
    return {
      confirm: async () => {
        if (entry.lost || this.down || this.slow) throw new Error('not acknowledged');
        for (const it of items) this.durable.add(it.seq);
      },
    };
  }

  /** The indexer crashed: whatever it had not yet confirmed is gone. */
  lose(): void { for (const p of this.pending) if (![...p.items].every((i) => this.durable.has(i.seq))) p.lost = true; this.pending = []; }
}

interface World {
  chain: Chain; cursors: MemoryCursors; sink: ModelSink; replicas: Follower<Item>[]; lastCursor: number;
  rewind: number; window: number; batch: number; commitEvery: number;
}

const newFollower = (w: World) => new Follower(w.cursors, w.chain, w.sink, { cursorKey: 'model', batchSize: w.batch, window: w.window, rewind: w.rewind, commitEvery: w.commitEvery });

type Cmd = { kind: 'append'; n: number } | { kind: 'step'; r: number } | { kind: 'crash'; r: number }
  | { kind: 'down' } | { kind: 'up' } | { kind: 'slow' } | { kind: 'fast' } | { kind: 'lose' };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 12 }).map((n) => ({ kind: 'append' as const, n })) },
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 1 }).map((r) => ({ kind: 'step' as const, r })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 1 }).map((r) => ({ kind: 'crash' as const, r })) },
  { weight: 1, arbitrary: fc.constantFrom<Cmd>({ kind: 'down' }, { kind: 'up' }, { kind: 'slow' }, { kind: 'fast' }, { kind: 'lose' }) },
);

async function apply(w: World, c: Cmd): Promise<void> {
  switch (c.kind) {
    case 'append': w.chain.length += c.n; break;
    case 'step': await w.replicas[c.r]!.step().catch(() => undefined); break;
    case 'crash': w.replicas[c.r] = newFollower(w); break;
    case 'down': w.sink.down = true; break;
    case 'up': w.sink.down = false; break;
    case 'slow': w.sink.slow = true; break;
    case 'fast': w.sink.slow = false; break;
    case 'lose': w.sink.lose(); break;
  }
}

/** The invariants, after every step; returns what is violated, or null. */
function violated(w: World): string | null {
  const { seq, hash } = w.cursors.pos;
  if (seq < w.lastCursor) return `cursor moved backwards ${w.lastCursor} -> ${seq}`;
  if (seq > w.chain.length) return `cursor ${seq} past the chain's end ${w.chain.length}`;
  if (seq > 0 && hash !== hashOf(seq)) return `cursor hash ${hash} is not seq ${seq}'s`;
  for (let s = 1; s <= seq; s++) if (!w.sink.durable.has(s)) return `cursor at ${seq} but seq ${s} was never confirmed by the sink`;
  return w.sink.orderViolation;
}

test('cursor state machine: never skips, never advances past an unacknowledged batch, ordered; catches up once the sink is healthy', async (t) => {
  let histories = 0;
  await fc.assert(fc.asyncProperty(
    fc.array(cmdArb, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3 }), fc.constantFrom(0, 3), fc.integer({ min: 1, max: 4 }),
    async (cmds, batch, window, rewind, commitEvery) => {
      const w: World = { chain: new Chain(), cursors: new MemoryCursors(), sink: new ModelSink(), replicas: [], lastCursor: 0, rewind, window, batch, commitEvery };
      // Without acknowledgements (rewind > 0, like syslog) a sink cannot lose what it accepted in this model.
      w.replicas = [newFollower(w), newFollower(w)];
      for (const c of cmds) {
        if (rewind > 0 && c.kind === 'lose') continue;
        await apply(w, c);
        const v = violated(w);
        if (v) throw new Error(`after ${JSON.stringify(c)}: ${v}`);
        w.lastCursor = w.cursors.pos.seq;
      }
      // Liveness: sink healthy, one replica steps until caught up (bounded).
      w.sink.down = false;
      w.sink.slow = false;
      for (let i = 0; i < 4 * (w.chain.length + 4) && w.cursors.pos.seq < w.chain.length; i++) {
        await w.replicas[0]!.step().catch(() => undefined);
        const v = violated(w);
        if (v) throw new Error(`while catching up: ${v}`);
      }
      histories++;
      return w.cursors.pos.seq === w.chain.length;
    },
  ), { numRuns: RUNS });
  t.is(histories, RUNS);
});

test('the cursor is written once per commitEvery confirmed batches, and at the end of a catch-up', async (t) => {
  await fc.assert(fc.asyncProperty(
    fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }),
    async (length, batch, window, commitEvery) => {
      const w: World = { chain: new Chain(), cursors: new MemoryCursors(), sink: new ModelSink(), replicas: [], lastCursor: 0, rewind: 0, window, batch, commitEvery };
      w.chain.length = length;
      const f = newFollower(w);
      for (let i = 0; i < 4 * (length + 4); i++) {
        const moved = await f.step();
        const v = violated(w);
        if (v) throw new Error(v);
        w.lastCursor = w.cursors.pos.seq;
        if (!moved) break;
      }
      const batches = Math.ceil(length / batch);
      t.is(w.cursors.pos.seq, length, 'caught up: the last confirmed batch is written when nothing is left in flight');
      t.true(w.cursors.advances <= Math.floor(batches / commitEvery) + 1, `${w.cursors.advances} writes for ${batches} batches, every ${commitEvery}`);
      if (commitEvery > 1 && batches >= 2 * commitEvery) t.true(w.cursors.advances < batches, 'fewer writes than batches');
    },
  ), { numRuns: 60 });
});
