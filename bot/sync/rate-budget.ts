// Rate budget per source: custos is one of several systems calling a CRM, so it paces itself to a share of
// the source's rate (CUSTOS_SYNC_QUOTA_SHARE of the requests per second the source allows), stops a run
// once the source reports that share of its quota used (the source's lag grows; the next scheduled run
// resumes from the stored cursor), and honours 429 / Retry-After with jittered back-off. Connectors call
// the source through `call`, throw SourceRateLimited on a 429 and feed usage headers to `observe`.
import { CustosError, ErrorCode } from '../core/errors.ts';
import type { Clock } from '../core/ports.ts';
import type { QuotaSignal } from './types.ts';

/** Thrown by a connector's HTTP layer when the source answered 429 (or its own "slow down" signal). */
export class SourceRateLimited extends Error {
  constructor(readonly retryAfterMs: number | undefined, message = 'the source asked custos to slow down') { super(message); this.name = 'SourceRateLimited'; }
}

export interface RateBudgetOptions {
  source: string;
  /** Requests per second the source allows (简道云's data API: 30). */
  perSecond: number;
  /** Largest share (0 < share ≤ 1) of the source's rate and quota custos may use. */
  share: number;
  clock: Clock;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** 429s in a row before the run gives up (the cursor stays; the next run retries). */
  maxRetries?: number;
  /** Back-off base when a 429 carries no Retry-After. */
  baseDelayMs?: number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class RateBudget {
  private nextSlot = 0;
  private pausedUntil = 0;
  private usage: { used: number; limit: number } | null = null;
  private readonly spacingMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly opts: RateBudgetOptions) {
    if (!(opts.share > 0 && opts.share <= 1)) throw new RangeError('share must be in (0, 1]');
    if (!(opts.perSecond > 0)) throw new RangeError('perSecond must be positive');
    // Whole milliseconds, rounded up: timers and clocks work in them, and rounding up never exceeds the share.
    this.spacingMs = Math.ceil(1000 / (opts.perSecond * opts.share));
    this.sleep = opts.sleep ?? realSleep;
    this.random = opts.random ?? Math.random;
  }

  /** What the source last said about its quota. */
  observe(signal: QuotaSignal): void {
    if (signal.used !== undefined && signal.limit !== undefined && signal.limit > 0) this.usage = { used: signal.used, limit: signal.limit };
    if (signal.retryAfterMs !== undefined) this.pausedUntil = Math.max(this.pausedUntil, this.now() + signal.retryAfterMs);
  }

  /** Share of the quota used as last reported (null: the source reports none). */
  usedShare(): number | null { return this.usage ? this.usage.used / this.usage.limit : null; }

  /** Waits for this request's slot; refuses once the reported usage reached the configured share. */
  async acquire(): Promise<void> {
    const share = this.usedShare();
    if (share !== null && share >= this.opts.share) {
      throw new CustosError(ErrorCode.SyncBudgetExhausted,
        `sync of ${this.opts.source} paused: the source reports ${Math.round(share * 100)}% of its API quota used and custos may use ${Math.round(this.opts.share * 100)}% (CUSTOS_SYNC_QUOTA_SHARE); it resumes from its cursor on a later run`,
        { source: this.opts.source, used: this.usage?.used, limit: this.usage?.limit });
    }
    const now = this.now();
    const slot = Math.max(now, this.nextSlot, this.pausedUntil);
    this.nextSlot = slot + this.spacingMs;
    if (slot > now) await this.sleep(slot - now);
  }

  /** Runs one request within the budget, retrying 429s with jittered back-off. */
  async call<T>(request: () => Promise<T>): Promise<T> {
    const maxRetries = this.opts.maxRetries ?? 5;
    for (let attempt = 0; ; attempt++) {
      await this.acquire();
      try {
        return await request();
      } catch (err) {
        if (!(err instanceof SourceRateLimited)) throw err;
        if (attempt >= maxRetries) {
          throw new CustosError(ErrorCode.SyncBudgetExhausted, `sync of ${this.opts.source} paused: the source kept answering 429 after ${maxRetries} retries; it resumes from its cursor on a later run`, { source: this.opts.source }, { cause: err });
        }
        this.observe({ retryAfterMs: this.backoffMs(attempt, err.retryAfterMs) });
      }
    }
  }

  /** Retry-After when given (plus up to 20% jitter so replicas don't return together), else full-jitter exponential. */
  private backoffMs(attempt: number, retryAfterMs: number | undefined): number {
    if (retryAfterMs !== undefined) return retryAfterMs + Math.floor(this.random() * retryAfterMs * 0.2);
    const cap = (this.opts.baseDelayMs ?? 500) * 2 ** attempt;
    return Math.floor(this.random() * cap);
  }

  private now(): number { return this.opts.clock.now().getTime(); }
}
