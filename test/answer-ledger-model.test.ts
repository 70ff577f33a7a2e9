// The pending-answer ledger (bot/store/answer-ledger.ts) against a model, on the real Redis, over
// generated histories of three bot replicas: requests acknowledged (the entry opened first), answers
// sent through the guard's protocol (renew, then send, then markReplied, then finish), claims by any
// replica, leases running out as the clock advances, replicas killed at any step (a killed replica
// forgets every lease it held) and stale holders trying to go on after another replica claimed.
// Invariants after every step: no request answered by two holders (a reply needs the current
// generation), the ledger's entries are exactly the unfinished requests, and answers beyond one happen
// only for a replica killed, or stalled past its lease, between sending and markReplied (the one
// window the ledger cannot close).
// After each history, replicas that stay up finish everything: every acknowledged request is then
// answered, exactly once unless that window was hit. The protocol's one timing assumption (a reply is
// sent within a lease of the renewal before it) is the model's: a step is instantaneous.
import test from 'ava';
import fc from 'fast-check';
import { AnswerLedger, type AnswerLease } from '../bot/store/answer-ledger.ts';
import { dropPrefix, testRedis, uniqueName } from './helpers/services.ts';

const LEASE = 1000;
const REPLICAS = 3;
const RUNS = Number(process.env.LEDGER_MODEL_RUNS ?? 60);
const redis = testRedis();
const prefixes: string[] = [];

test.after.always(async () => {
  for (const p of prefixes) await dropPrefix(p);
  redis.disconnect();
});

/** Where a holder is in answering one request. */
type Stage = 'working' | 'sent' | 'marked';
interface Holding { lease: AnswerLease; stage: Stage }

type Action =
  | { kind: 'ack'; replica: number }
  | { kind: 'step'; replica: number; pick: number }
  | { kind: 'claim'; replica: number }
  | { kind: 'crash'; replica: number }
  | { kind: 'tick'; ms: number }
  | { kind: 'stale'; replica: number; pick: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('ack' as const), replica: fc.nat(REPLICAS - 1) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('step' as const), replica: fc.nat(REPLICAS - 1), pick: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('claim' as const), replica: fc.nat(REPLICAS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), replica: fc.nat(REPLICAS - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 1500 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('stale' as const), replica: fc.nat(REPLICAS - 1), pick: fc.nat(7) }) },
);

class World {
  now = 1_000_000;
  next = 0;
  /** What each replica holds now (forgotten on a crash), and what it held before losing it to a claim. */
  held: Map<string, Holding>[] = Array.from({ length: REPLICAS }, () => new Map());
  stale: Holding[][] = Array.from({ length: REPLICAS }, () => []);
  replies = new Map<string, number>();
  /** Replies the ledger may repeat: a replica killed between sending and markReplied. */
  window = new Map<string, number>();
  open = new Set<string>();
  constructor(readonly ledger: AnswerLedger) {}

  holderOf(id: string): number | undefined {
    const r = this.held.findIndex((h) => h.has(id));
    return r < 0 ? undefined : r;
  }

  async ack(replica: number): Promise<void> {
    const id = `r${this.next++}`;
    const lease = await this.ledger.open(id, `record-${id}`, this.now);
    if (!lease) throw new Error(`${id} was open already`);
    // A redelivery of the same request is refused while it is open.
    if (await this.ledger.open(id, 'again', this.now) !== null) throw new Error('a redelivery opened a second entry');
    this.held[replica]!.set(id, { lease, stage: 'working' });
    this.open.add(id);
  }

  /** The guard's protocol, one stage per step. */
  async step(replica: number, h: Holding): Promise<void> {
    const id = h.lease.id;
    if (h.stage === 'working') {
      if (!(await this.ledger.renew(h.lease, this.now))) throw new Error(`${id}: the holder lost a lease nobody claimed`);
      this.replies.set(id, (this.replies.get(id) ?? 0) + 1);
      h.stage = 'sent';
    } else if (h.stage === 'sent') {
      if (!(await this.ledger.markReplied(h.lease))) throw new Error(`${id}: markReplied refused its holder`);
      h.stage = 'marked';
    } else {
      if (!(await this.ledger.finish(h.lease))) throw new Error(`${id}: finish refused its holder`);
      this.held[replica]!.delete(id);
      this.open.delete(id);
    }
  }

  async claim(replica: number): Promise<void> {
    const leases = await this.ledger.claim(this.now, 100);
    for (const lease of leases) {
      // Claimable only when its lease ran out: the previous holder (if alive) becomes stale.
      const prev = this.holderOf(lease.id);
      if (prev !== undefined) {
        // A holder stalled past its lease between sending and marking: the same window as a kill.
        if (this.held[prev]!.get(lease.id)!.stage === 'sent') this.window.set(lease.id, (this.window.get(lease.id) ?? 0) + 1);
        this.stale[prev]!.push(this.held[prev]!.get(lease.id)!);
        this.held[prev]!.delete(lease.id);
      }
      if (!this.open.has(lease.id)) throw new Error(`${lease.id} claimed but finished`);
      // A claimer that finds the answer out only closes the entry (pending-answers.ts).
      this.held[replica]!.set(lease.id, { lease, stage: lease.replied ? 'marked' : 'working' });
    }
  }

  crash(replica: number): void {
    for (const [id, h] of this.held[replica]!) if (h.stage === 'sent') this.window.set(id, (this.window.get(id) ?? 0) + 1);
    this.held[replica] = new Map();
    this.stale[replica] = [];
  }

  /** A stale holder's every call is refused, so it neither replies nor closes. */
  async staleTry(replica: number, pick: number): Promise<void> {
    const list = this.stale[replica]!;
    const h = list[pick % Math.max(1, list.length)];
    if (!h) return;
    const refused = !(await this.ledger.renew(h.lease, this.now)) && !(await this.ledger.markReplied(h.lease)) && !(await this.ledger.finish(h.lease));
    if (!refused) throw new Error(`${h.lease.id}: a stale generation was accepted`);
  }

  async check(): Promise<void> {
    for (const [id, n] of this.replies) {
      if (n > 1 + (this.window.get(id) ?? 0)) throw new Error(`${id} answered ${n} times with ${this.window.get(id) ?? 0} kills in the window`);
    }
    if (await this.ledger.pending() !== this.open.size) throw new Error(`ledger holds ${await this.ledger.pending()} entries, ${this.open.size} unfinished`);
  }

  /** Replicas stay up: each finishes what it holds, then what it claims, until nothing is open (bounded). */
  async settle(): Promise<void> {
    for (let round = 0; this.open.size > 0; round++) {
      if (round > 50) throw new Error(`still open: ${[...this.open].join(',')}`);
      for (const r of this.held.keys()) {
        for (const [, h] of [...this.held[r]!]) while (this.held[r]!.has(h.lease.id)) await this.step(r, h);
      }
      this.now += LEASE + 1;
      await this.claim(round % REPLICAS);
    }
  }
}

async function run(w: World, a: Action): Promise<void> {
  switch (a.kind) {
    case 'ack': return w.ack(a.replica);
    case 'step': {
      const hs = [...w.held[a.replica]!.values()];
      const h = hs[a.pick % Math.max(1, hs.length)];
      return h ? w.step(a.replica, h) : undefined;
    }
    case 'claim': return w.claim(a.replica);
    case 'crash': return w.crash(a.replica);
    case 'tick': w.now += a.ms; return;
    case 'stale': return w.staleTry(a.replica, a.pick);
  }
}

test('every acknowledged request is answered, once unless a replica died between sending and marking it', async (t) => {
  let windowHit = 0;
  let claimed = 0;
  await fc.assert(fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 60 }), async (actions) => {
    const prefix = uniqueName(import.meta.url, 'prefix');
    prefixes.push(prefix);
    const w = new World(new AnswerLedger(redis, { prefix, namespace: 'model', leaseMs: LEASE }));
    for (const a of actions) {
      await run(w, a);
      await w.check();
    }
    await w.settle();
    await w.check();
    for (let i = 0; i < w.next; i++) {
      const id = `r${i}`;
      const n = w.replies.get(id) ?? 0;
      if (n < 1) throw new Error(`${id} acknowledged and never answered`);
      if (n > 1 + (w.window.get(id) ?? 0)) throw new Error(`${id} answered ${n} times`);
    }
    windowHit += [...w.window.values()].length;
    claimed += actions.filter((a) => a.kind === 'claim').length;
    if (await w.ledger.pending() !== 0) throw new Error('entries left after every request finished');
  }), { numRuns: RUNS });
  t.log(`kills in the send→mark window: ${windowHit}; claims: ${claimed}`);
  t.true(claimed > 0);
});

test('an entry is bound to its hash tag: every key of the ledger is in one cluster slot; platforms\' ledgers are apart', async (t) => {
  const prefix = uniqueName(import.meta.url, 'prefix');
  prefixes.push(prefix);
  const ledger = new AnswerLedger(redis, { prefix, namespace: 'model', leaseMs: LEASE });
  await ledger.open('a-1', 'x', 0);
  await ledger.open('b-2', 'y', 0);
  const keys = await redis.keys(`${prefix}:*`);
  t.is(keys.length, 3);
  t.true(keys.every((k) => k.startsWith(`${prefix}:{answers}:model:`)), keys.join(' '));
  // A record outlives no Slack response_url: the entry expires on its own.
  const ttl = await redis.ttl(`${prefix}:{answers}:model:e:a-1`);
  t.true(ttl > 0 && ttl <= 1800, String(ttl));
  // Another platform's ledger on the same prefix: its claimer never takes (and could not decode) these.
  const other = new AnswerLedger(redis, { prefix, namespace: 'other', leaseMs: LEASE });
  t.deepEqual(await other.claim(LEASE * 10), []);
  t.is((await other.open('a-1', 'z', 0))?.gen, 1, 'the same id is a different request there');
  t.deepEqual((await ledger.claim(LEASE * 10)).map((l) => l.record).sort(), ['x', 'y']);
});
