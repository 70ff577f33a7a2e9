// "This grantee has no active grant", remembered between decisions. The policy engine asks for the
// asker's active grants on every lookup (a database query each time) and nearly always gets none.
//
// Only "none" is remembered, never a list of grants: a grant that is revoked or expires cannot outlive
// its end here (a grantee with grants is read afresh every time, and the engine checks expiry with the
// decision's own time). A stale entry can only hide a new grant, never show what no grant allows.
// New grants are announced on a Redis channel by the store that wrote them (MongoGrantStore's `changes`,
// `publishGrantChanges`); every replica drops the grantee's entry when it hears that. A replica that is
// not subscribed (not yet, its connection lost, reconnecting) remembers nothing and reads every time,
// and forgets everything when its subscription drops, since announcements sent meanwhile are lost.
// Entries also lapse after `ttlMs`: that bounds how long a grant whose announcement failed stays unseen.
import { Cluster } from 'ioredis';
import type { Grant, GrantSource } from '../../policies/grants.ts';
import type { Logger } from '../logger.ts';
import { createRedis, type RedisClient, type RedisTarget } from './redis-client.ts';

/** Where a store announces that a grantee's grants changed (a grant created or revoked). */
export interface GrantChanges {
  changed(granteeId: string): Promise<void>;
}

export function grantChannel(prefix: string): string {
  return `${prefix}:grants:changed`;
}

/** Announces on `redis`; a failed announcement is logged, not thrown: the grant is stored either way. */
export function publishGrantChanges(redis: RedisClient, prefix: string, logger?: Logger): GrantChanges {
  return {
    async changed(granteeId) {
      await redis.publish(grantChannel(prefix), granteeId).catch((err: unknown) => {
        logger?.warn({ err: (err as Error).message }, 'grant change not announced: other replicas may not see the new grant for up to a minute');
      });
    },
  };
}

/** More grantees than this remembered at once: forget them all (a directory is far smaller). */
const MAX_ENTRIES = 50_000;

export class CachedGrantSource implements GrantSource {
  private readonly none = new Map<string, number>(); // granteeId → remembered until (ms)
  /** Bumped by every invalidation: a read that began before one is not remembered. */
  private generation = 0;
  private live = false;

  constructor(private readonly store: GrantSource, private readonly opts: { ttlMs: number; now?: () => number }) {}

  async activeFor(granteeId: string, at: Date): Promise<Grant[]> {
    const now = this.now();
    if (this.live && (this.none.get(granteeId) ?? 0) > now) return [];
    const generation = this.generation;
    const grants = await this.store.activeFor(granteeId, at);
    if (grants.length === 0 && this.live && generation === this.generation) {
      if (this.none.size >= MAX_ENTRIES) this.none.clear();
      this.none.set(granteeId, now + this.opts.ttlMs);
    }
    return grants;
  }

  /** The subscription is up (after its SUBSCRIBE was confirmed) or down: either way start from nothing. */
  setLive(live: boolean): void {
    this.invalidate();
    this.live = live;
  }

  /** One grantee's entry, or every entry. */
  invalidate(granteeId?: string): void {
    this.generation++;
    if (granteeId === undefined) this.none.clear();
    else this.none.delete(granteeId);
  }

  isLive(): boolean {
    return this.live;
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }
}

/**
 * Keeps `cache` live while a dedicated connection is subscribed to the announcements. On a Redis
 * Cluster the cache is never live (its subscriber moves between nodes without telling us, so a gap in
 * the announcements could go unnoticed): every decision reads the store there.
 */
export function subscribeGrantChanges(target: RedisTarget, prefix: string, cache: CachedGrantSource, logger?: Logger): { close(): Promise<void> } {
  // Named, so an operator (or a test) can tell this connection apart in CLIENT LIST.
  const sub = createRedis(target, { connectionName: `${prefix}:grant-changes`, autoResubscribe: false, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: (n) => Math.min(100 * n, 2000) });
  if (sub instanceof Cluster) {
    sub.disconnect();
    return { close: async () => undefined };
  }
  const channel = grantChannel(prefix);
  let closing = false;
  const down = () => cache.setLive(false);
  sub.on('error', () => undefined); // the cache is off meanwhile; the bot's own Redis checks report outages
  sub.on('close', down);
  sub.on('end', down);
  sub.on('reconnecting', down);
  sub.on('ready', () => {
    sub.subscribe(channel).then(() => { if (!closing && sub.status === 'ready') cache.setLive(true); }, (err: unknown) => {
      logger?.warn({ err: (err as Error).message }, 'grant changes: subscribe failed; decisions read grants from the database');
      down();
    });
  });
  sub.on('message', (ch: string, granteeId: string) => { if (ch === channel) cache.invalidate(granteeId || undefined); });
  return {
    close: async () => {
      closing = true;
      down();
      sub.disconnect();
    },
  };
}
