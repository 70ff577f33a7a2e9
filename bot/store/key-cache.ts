// Unwrapped per-customer data keys, kept briefly so a customer read twice in a row is unwrapped once.
// Bounded in size (least recently used goes first) and in time (an entry older than the TTL is unwrapped
// again), and held only in this process's memory: never persisted, never logged. Keyed by customer id
// and WRAPPED key, so a re-wrap (rotation) or an erasure (the wrapped key is gone) never hits a stale entry.
export interface KeyCacheSettings { maxEntries: number; ttlMs: number; now?: () => number }

export class KeyCache {
  private readonly entries = new Map<string, { key: Buffer; at: number }>();
  private readonly now: () => number;

  constructor(private readonly settings: KeyCacheSettings) {
    this.now = settings.now ?? Date.now;
  }

  get(wrapped: string): Buffer | undefined {
    const hit = this.entries.get(wrapped);
    if (!hit) return undefined;
    this.entries.delete(wrapped);
    if (this.now() - hit.at > this.settings.ttlMs) {
      hit.key.fill(0);
      return undefined;
    }
    this.entries.set(wrapped, hit); // most recently used goes last
    return hit.key;
  }

  set(wrapped: string, key: Buffer): void {
    if (this.settings.maxEntries <= 0) return;
    this.entries.delete(wrapped);
    this.entries.set(wrapped, { key, at: this.now() });
    while (this.entries.size > this.settings.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.get(oldest)?.key.fill(0);
      this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    for (const e of this.entries.values()) e.key.fill(0);
    this.entries.clear();
  }
}
