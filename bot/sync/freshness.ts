// The freshness line on lookup cards ("As of … from Salesforce"), kept off the hot path: each source's
// label and last good run change once a run, so they are held in memory for a few seconds; while no
// source has ever run (sync off, the common case) a lookup costs no read at all, and once one has, one
// indexed read of the customer's link.
import type { SyncStore } from './sync-store.ts';

export interface Freshness { source: string; at: Date }
type SourceSuccesses = Map<string, Freshness>;

export class SyncFreshness {
  private cached: { until: number; sources: SourceSuccesses } | null = null;
  private loading: Promise<SourceSuccesses> | null = null;

  /** `now` is monotonic process time, not the business clock: a frozen test clock must not freeze the cache. */
  constructor(
    private readonly store: Pick<SyncStore, 'lastSuccesses' | 'sourceOfCustomer'>,
    private readonly ttlMs = 5_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  async freshnessOf(customerId: string): Promise<Freshness | null> {
    const sources = await this.sources();
    if (sources.size === 0) return null;
    const source = await this.store.sourceOfCustomer(customerId);
    return source ? sources.get(source) ?? null : null;
  }

  private async sources(): Promise<SourceSuccesses> {
    if (this.cached && this.cached.until > this.now()) return this.cached.sources;
    // Concurrent lookups share one refresh instead of each reading the status collection.
    this.loading ??= this.store.lastSuccesses().then((sources) => {
      this.cached = { until: this.now() + this.ttlMs, sources };
      return sources;
    }).finally(() => { this.loading = null; });
    return this.loading;
  }
}
