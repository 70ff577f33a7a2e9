// Answers owed for acknowledged requests (README: Scaling, "A bot killed mid-answer"). A platform that
// acknowledges before it answers (Slack's 3-second rule) opens a ledger entry BEFORE the ack, holding
// what is needed to answer again (sealed by the adapter), answers under a lease it renews while it works,
// marks each reply in the ledger before sending it (fenced: at most one replica ever sends), and closes the
// entry. Every bot replica claims, every `claimEveryMs`, the entries whose lease ended (their bot died)
// and finishes them through the adapter's `resume`, inside the same answer scope, so audit events the
// dead bot already recorded keep their ids (answer-scope.ts) and are stored once.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/ports.ts';
import type { Logger } from '../logger.ts';
import type { AnswerLease, AnswerLedger } from '../store/answer-ledger.ts';
import { inAnswerScope } from './answer-scope.ts';

/** Finishes one claimed entry (the adapter decodes its own record). */
export type ResumeAnswer = (lease: AnswerLease, guard: ReplyGuard) => Promise<void>;

/** Wraps each reply of a pending answer: sent only by the entry's one sender (marked in the ledger first), noted once sent. */
export type ReplyGuard = <T>(send: () => Promise<T>) => Promise<T | undefined>;

export interface PendingAnswersOptions {
  ledger: AnswerLedger;
  clock: Clock;
  logger: Logger;
  /** How often this replica looks for entries whose bot died. */
  claimEveryMs: number;
  /**
   * The platform drops a repeated send of the same reply (Lark's message `uuid`): a reply begun and never
   * confirmed is then sent again by the claimer, not left unanswered (at most once is only for the others).
   */
  repliesDeduplicated?: boolean;
}

const RETRY_MS = 200;
/** Tries of an opening, before the ack (Slack wants it within 3 s; a hung Redis costs each a 500 ms timeout). */
const OPEN_ATTEMPTS = 2;
const OPEN_RETRY_MS = 50;
/** Claimed entries one replica finishes at once (a claim takes no more than there is room for). */
const MAX_FINISHING = 10;
/** How many leases an answer may take before its holder lets another replica take it over. */
const HOLD_LEASES = 4;
/**
 * How long an unconfirmed opening's first reply waits for the ledger to say whether it opened (ms): the
 * user waits meanwhile, and a Redis that stays down is answered unprotected after it.
 */
const ADOPT_WAIT_MS = 2_000;

export class PendingAnswers {
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;
  /** Set by `stop` (shutdown): the connection is being closed under the answers still in flight. */
  private stopped = false;
  private readonly finishing = new Set<Promise<void>>();

  constructor(private readonly opts: PendingAnswersOptions) {}

  private now(): number { return this.opts.clock.now().getTime(); }

  /**
   * Records the request before its ack. null for a redelivery of an open request (drop it). When no try
   * got an answer (Redis down, or a timeout under load), an `unsure` lease: the opening may have run, or
   * may still run (ioredis sends a timed-out command again after a reconnect), so an entry may appear that
   * a claimer would answer a second time. Its first reply adopts it (answer-ledger.ts: ADOPT), or it is
   * settled at the end; a Redis that never answers leaves the request answered unprotected, as before.
   */
  async open(id: string, record: string): Promise<AnswerLease | null> {
    // A few tries, before the ack; each with the same token, so a retry of a written entry gets its lease.
    const token = randomBytes(8).toString('hex');
    let failure: unknown;
    for (let attempt = 1; attempt <= OPEN_ATTEMPTS; attempt++) {
      try {
        return await this.opts.ledger.open(id, record, this.now(), token);
      } catch (err) {
        failure = err;
        if (attempt < OPEN_ATTEMPTS) await new Promise((r) => setTimeout(r, OPEN_RETRY_MS));
      }
    }
    this.opts.logger.warn({ answer: id, err: failure instanceof Error ? failure.name : typeof failure }, 'pending answer: opening unconfirmed; its first reply adopts or settles it');
    return { id, gen: 1, record, replied: false, unconfirmed: false, unsure: token };
  }

  /** Runs the answer of `lease` (its replies through `guard`), renewing the lease, then closes it. */
  async answer(lease: AnswerLease | undefined, work: (guard: ReplyGuard) => Promise<unknown>): Promise<void> {
    if (!lease) {
      await work((send) => send());
      return;
    }
    const { ledger } = this.opts;
    let held = true;
    // An unconfirmed opening (see open): nothing to renew until its first reply adopts it.
    let unsure = lease.unsure;
    // A heartbeat: only a bot dead, or stalled past a whole lease, loses its entry. A renewal refused means
    // another replica claimed it; one that did not reach Redis changes nothing (beginReply decides). An
    // answer still working after HOLD_LEASES leases (hung on something) stops renewing: another replica
    // takes it over, and this one, fenced off, cannot reply as well.
    const holdUntil = this.now() + HOLD_LEASES * ledger.leaseMs;
    const beat = () => {
      if (this.now() <= holdUntil && unsure === undefined) void ledger.renew(lease, this.now()).then((ok) => { if (!ok) held = false; }, () => undefined);
    };
    const heartbeat = setInterval(beat, Math.max(50, Math.floor(ledger.leaseMs / 3)));
    heartbeat.unref();
    const mark = new ReplyMark(() => this.persist(() => ledger.markReplied(lease)));
    const guard: ReplyGuard = async (send) => {
      if (unsure !== undefined) {
        const token = unsure;
        const adopted = await this.retried(() => ledger.adopt({ ...lease, unsure: token }, this.now()), ADOPT_WAIT_MS);
        if (adopted === 'taken') {
          held = false;
          this.opts.logger.info({ answer: lease.id, reason: 'claimed' }, 'pending answer: not replying here');
          return undefined;
        }
        // 'held': an ordinary lease from here on, marked sending. 'none': no entry, and none can appear.
        // Unreachable: answered unprotected, as without the ledger; settled at the end.
        if (adopted === 'held') unsure = undefined;
        if (adopted === undefined) this.opts.logger.warn({ answer: lease.id }, 'pending answer: ledger unreachable; answering unprotected');
        const sent = await send();
        this.opts.logger.info({ answer: lease.id, gen: lease.gen, adopted: adopted ?? 'unreachable' }, 'pending answer: replied');
        if (adopted === 'held') mark.soon();
        return sent;
      }
      // The check and the "sending" mark are one script, under this holder's fencing generation: a
      // claimer that comes later finds the mark and sends nothing (answer-ledger.ts).
      const mine = held ? await this.retried(() => ledger.beginReply(lease, this.now())) : false;
      if (mine !== true) {
        // Not this replica's to answer (claimed away, or Redis out for a whole lease: its claimer answers).
        held = false;
        this.opts.logger.info({ answer: lease.id, reason: mine === false ? 'claimed' : 'ledger unreachable' }, 'pending answer: not replying here');
        return undefined;
      }
      const sent = await send();
      // Which replica sent which answer's reply, under which generation: what tells a repeated answer's
      // paths apart afterwards (the scale drills print these lines for a request answered twice).
      this.opts.logger.info({ answer: lease.id, gen: lease.gen }, 'pending answer: replied');
      mark.soon();
      return sent;
    };
    try {
      await inAnswerScope(lease.id, () => work(guard));
    } finally {
      clearInterval(heartbeat);
      // A reply mark not yet on its way is not needed: closing the entry says more (one round trip less).
      await mark.settle();
      // Closed even when the work failed: its failure was answered (or logged); a rerun would fail alike.
      if (unsure !== undefined) {
        const token = unsure;
        await this.persist(() => ledger.settle({ ...lease, unsure: token }));
      } else if (held) await this.persist(() => ledger.finish(lease));
    }
  }

  /**
   * Retries a ledger write through a Redis outage (a failover takes seconds) for up to a lease: given
   * up on, a mark is missing (the entry is closed by whoever claims it when its lease ends).
   */
  private async persist(write: () => Promise<boolean>): Promise<void> {
    if (await this.retried(write) === undefined) this.opts.logger.warn('pending answer: the ledger stayed unreachable; the entry is left to its claimer');
  }

  /**
   * `call`'s answer, retried through an outage for up to a lease of attempts; undefined when Redis never
   * answered. Every ledger call is safe to repeat (a timed-out one may have run): same generation, same result.
   */
  private async retried<T>(call: () => Promise<T>, withinMs = this.opts.ledger.leaseMs): Promise<T | undefined> {
    const attempts = Math.ceil(withinMs / RETRY_MS);
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        return await call();
      } catch {
        // Stopped: no retry. The bot is closing its Redis connection, so a retry would only keep the
        // process alive for a lease; the entry left open is finished by another replica's claim.
        if (attempt >= attempts || this.stopped) break;
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
    return undefined;
  }

  /** Starts claiming entries whose bot died and finishing them through `resume`. */
  start(resume: ResumeAnswer): void {
    this.timer = setInterval(() => void this.sweep(resume), this.opts.claimEveryMs);
    this.timer.unref();
  }

  /** Stops claiming, and retrying the ledger writes of answers still in flight (see `retried`). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /**
   * One claim round; returns how many entries it took. Each is finished on its own (its own heartbeat),
   * so a slow answer neither delays the others past their new lease nor stops the next rounds.
   */
  async sweep(resume: ResumeAnswer): Promise<number> {
    const room = MAX_FINISHING - this.finishing.size;
    if (this.sweeping || room <= 0) return 0;
    this.sweeping = true;
    try {
      const leases = await this.opts.ledger.claim(this.now(), room).catch(() => []);
      for (const lease of leases) {
        const done = this.finishOne(lease, resume).finally(() => this.finishing.delete(done));
        this.finishing.add(done);
      }
      return leases.length;
    } finally {
      this.sweeping = false;
    }
  }

  private async finishOne(lease: AnswerLease, resume: ResumeAnswer): Promise<void> {
    // A reply was begun already: sent (its bot died before closing the entry), or perhaps not (it died,
    // or stalled past its lease, between marking and sending). Never sent twice where the platform cannot
    // drop the repeat: closed as it is.
    if (lease.replied && !(lease.unconfirmed && this.opts.repliesDeduplicated)) {
      if (lease.unconfirmed) this.opts.logger.warn({ answer: lease.id, gen: lease.gen }, 'pending answer: a reply was begun and never confirmed; not sent again');
      await this.persist(() => this.opts.ledger.finish(lease));
      return;
    }
    this.opts.logger.info({ answer: lease.id, gen: lease.gen }, 'pending answer: finishing a request whose bot stopped');
    try {
      await this.answer(lease, (guard) => resume(lease, guard));
    } catch (err) {
      this.opts.logger.error({ err: err instanceof Error ? err.name : typeof err }, 'pending answer: finishing failed');
    }
  }
}

/**
 * The "replied" mark after a send, written one turn of the event loop later: an answer whose reply was
 * its last step (a lookup) has closed its entry by then, and the mark is dropped — the close supersedes
 * it. An answer that goes on working (anything that waits on I/O after the send) gets its mark as before;
 * the window in which a crash leaves the reply unconfirmed (`sending`) grows by that one turn only, and an
 * unconfirmed reply is still never sent twice where the platform cannot drop a repeat (finishOne).
 */
class ReplyMark {
  private scheduled: NodeJS.Immediate | undefined;
  private writing: Promise<void> | undefined;

  constructor(private readonly write: () => Promise<void>) {}

  soon(): void {
    if (this.scheduled) return; // one mark covers every send so far
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined;
      this.writing = (this.writing ?? Promise.resolve()).then(this.write);
    });
  }

  /** Drops a mark not on its way yet; waits for one that is (so the close comes after it). */
  async settle(): Promise<void> {
    clearImmediate(this.scheduled);
    this.scheduled = undefined;
    await this.writing;
  }
}
