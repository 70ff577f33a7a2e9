// A platform's side of the pending-answer ledger (pending-answers.ts): each platform keeps its own
// ledger (namespaced by its id) and claimer, and its records are sealed (AES-256-GCM under the data key,
// bound to the entry's id) because what is needed to answer again — the typed words, a response_url —
// may be personal data or a bearer capability. The platform says which fields it keeps (nothing more of
// the payload) and how a claimed record is answered; sealing, claiming and the lease are done here.
import type { Clock } from '../core/ports.ts';
import type { Logger } from '../logger.ts';
import { AnswerLedger, type AnswerLease } from '../store/answer-ledger.ts';
import type { RedisClient } from '../store/redis-client.ts';
import { PendingAnswers, type ReplyGuard } from './pending-answers.ts';

/** Encrypts / decrypts with the field cipher (bot/store/crypto.ts), bound to a context string. */
export interface Sealer {
  encrypt(plain: string, context: string): string;
  decrypt(stored: string, context: string): string;
}

export interface SealedAnswersOptions<T> {
  /** The platform's id: its ledger's namespace. */
  platform: string;
  redis: RedisClient;
  /** The deployment's key prefix (REDIS key prefix, without braces). */
  prefix: string;
  settings: { leaseMs: number; claimEveryMs: number };
  sealer: Sealer;
  clock: Clock;
  logger: Logger;
  /** The platform drops a repeated reply (it carries an idempotency key): see PendingAnswersOptions. */
  repliesDeduplicated?: boolean;
  /** The record read back, or undefined when it is not one this platform answers any more. */
  accept(value: unknown): T | undefined;
}

export class SealedAnswers<T> {
  readonly answers: PendingAnswers;

  constructor(private readonly opts: SealedAnswersOptions<T>) {
    const ledger = new AnswerLedger(opts.redis, { prefix: opts.prefix, namespace: opts.platform, leaseMs: opts.settings.leaseMs });
    this.answers = new PendingAnswers({
      ledger, clock: opts.clock, logger: opts.logger, claimEveryMs: opts.settings.claimEveryMs,
      ...(opts.repliesDeduplicated ? { repliesDeduplicated: true } : {}),
    });
  }

  /** Records a request before its ack: a lease, 'duplicate' (a redelivery of an open one), or undefined (ledger down). */
  async open(id: string, record: T): Promise<AnswerLease | 'duplicate' | undefined> {
    const lease = await this.answers.open(id, this.opts.sealer.encrypt(JSON.stringify(record), context(id)));
    return lease === null ? 'duplicate' : lease;
  }

  /** Starts finishing, through `resume`, the requests whose bot died. */
  start(resume: (record: T, guard: ReplyGuard) => Promise<void>): void {
    this.answers.start(async (lease, guard) => {
      const record = this.decode(lease);
      if (record !== undefined) await resume(record, guard);
    });
  }

  stop(): void {
    this.answers.stop();
  }

  private decode(lease: AnswerLease): T | undefined {
    try {
      return this.opts.accept(JSON.parse(this.opts.sealer.decrypt(lease.record, context(lease.id))));
    } catch {
      this.opts.logger.error({ answer: lease.id }, 'pending answer: the record cannot be opened (key rotated away?); dropped');
      return undefined;
    }
  }
}

function context(id: string): string {
  return `pending-answer:${id}`;
}
