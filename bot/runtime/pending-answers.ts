// Answers owed for acknowledged requests (README: Scaling, "A bot killed mid-answer"). A platform that
// acknowledges before it answers (Slack's 3-second rule) opens a ledger entry BEFORE the ack, holding
// what is needed to answer again (sealed by the adapter), answers under a renewed lease, and closes the
// entry. Every bot replica claims, every `claimEveryMs`, the entries whose lease ended (their bot died)
// and finishes them through the adapter's `resume`, inside the same answer scope, so audit events the
// dead bot already recorded keep their ids (answer-scope.ts) and are stored once.
import type { Clock } from '../core/ports.ts';
import type { Logger } from '../logger.ts';
import type { AnswerLease, AnswerLedger } from '../store/answer-ledger.ts';
import { inAnswerScope } from './answer-scope.ts';

/** Finishes one claimed entry (the adapter decodes its own record). */
export type ResumeAnswer = (lease: AnswerLease, guard: ReplyGuard) => Promise<void>;

/** Wraps each reply of a pending answer: sent only under a live lease, and noted once sent. */
export type ReplyGuard = <T>(send: () => Promise<T>) => Promise<T | undefined>;

export interface PendingAnswersOptions {
  ledger: AnswerLedger;
  clock: Clock;
  logger: Logger;
  /** How often this replica looks for entries whose bot died. */
  claimEveryMs: number;
}

const RETRY_MS = 200;

export class PendingAnswers {
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(private readonly opts: PendingAnswersOptions) {}

  private now(): number { return this.opts.clock.now().getTime(); }

  /**
   * Records the request before its ack. null for a redelivery of an open request (drop it). undefined
   * when the ledger cannot (Redis down): the request is then answered as before, unprotected; the audit
   * gate, on the same Redis, refuses customer data anyway.
   */
  async open(id: string, record: string): Promise<AnswerLease | null | undefined> {
    try {
      return await this.opts.ledger.open(id, record, this.now());
    } catch (err) {
      this.opts.logger.warn({ err: err instanceof Error ? err.name : typeof err }, 'pending answer: ledger unavailable; answering unprotected');
      return undefined;
    }
  }

  /** Runs the answer of `lease` (its replies through `guard`), renewing the lease, then closes it. */
  async answer(lease: AnswerLease | undefined, work: (guard: ReplyGuard) => Promise<unknown>): Promise<void> {
    if (!lease) {
      await work((send) => send());
      return;
    }
    const { ledger } = this.opts;
    let held = true;
    const renew = async () => { held = held && await ledger.renew(lease, this.now()).catch(() => held); };
    const heartbeat = setInterval(() => void renew(), Math.max(50, Math.floor(ledger.leaseMs / 3)));
    heartbeat.unref();
    const guard: ReplyGuard = async (send) => {
      await renew();
      // Another replica claimed it (this one was too slow to renew): it answers, not this one.
      if (!held) return undefined;
      const sent = await send();
      await this.persist(() => ledger.markReplied(lease));
      return sent;
    };
    try {
      await inAnswerScope(lease.id, () => work(guard));
    } finally {
      clearInterval(heartbeat);
      // Closed even when the work failed: its failure was answered (or logged); a rerun would fail alike.
      if (held) await this.persist(() => ledger.finish(lease));
    }
  }

  /**
   * Retries a ledger write through a Redis outage (a failover takes seconds) for up to a lease: given
   * up on, the entry is claimed when its lease ends and, not marked replied, answered a second time.
   */
  private async persist(write: () => Promise<boolean>): Promise<void> {
    const attempts = Math.ceil(this.opts.ledger.leaseMs / RETRY_MS);
    for (let attempt = 1; ; attempt++) {
      try {
        await write();
        return;
      } catch {
        if (attempt >= attempts) {
          this.opts.logger.warn('pending answer: the ledger stayed unreachable; the answer may be repeated');
          return;
        }
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }

  /** Starts claiming entries whose bot died and finishing them through `resume`. */
  start(resume: ResumeAnswer): void {
    this.timer = setInterval(() => void this.sweep(resume), this.opts.claimEveryMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One claim round; returns how many entries it finished or closed. */
  async sweep(resume: ResumeAnswer): Promise<number> {
    if (this.sweeping) return 0;
    this.sweeping = true;
    try {
      const leases = await this.opts.ledger.claim(this.now()).catch(() => []);
      for (const lease of leases) await this.finishOne(lease, resume);
      return leases.length;
    } finally {
      this.sweeping = false;
    }
  }

  private async finishOne(lease: AnswerLease, resume: ResumeAnswer): Promise<void> {
    // Answered already: its bot died between the reply and closing the entry.
    if (lease.replied) {
      await this.persist(() => this.opts.ledger.finish(lease));
      return;
    }
    this.opts.logger.info({ answer: lease.id }, 'pending answer: finishing a request whose bot stopped');
    try {
      await this.answer(lease, (guard) => resume(lease, guard));
    } catch (err) {
      this.opts.logger.error({ err: err instanceof Error ? err.name : typeof err }, 'pending answer: finishing failed');
    }
  }
}
