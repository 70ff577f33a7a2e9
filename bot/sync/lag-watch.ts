// Tells the security channel when a pulled source falls behind: its lag — time since its last good run,
// else since its first run (as custos_sync_lag_seconds measures it) — past CUSTOS_SYNC_LAG_ALERT posts
// ONE alert, and coming back under it ONE recovery message, however many checks fall in between. The
// notices travel the audit stream's path (bot/runtime/security-notices.ts). The crossing state is kept in
// this process: a restart while a source is still behind tells the channel once more, which errs on the
// side of being told. A failed post is logged and not retried per check.
import type { Clock } from '../core/ports.ts';
import type { Locale } from '../core/messages.ts';
import { syncLagView, type SecurityNotices } from '../core/security/notices.ts';
import type { Logger } from '../logger.ts';
import type { SyncStore } from './sync-store.ts';

export interface SyncLagWatchDeps {
  store: Pick<SyncStore, 'statusOf'>;
  /** Null without a security channel: the crossings are then log lines only (and the metric). */
  notices: SecurityNotices | null;
  locale: Locale;
  clock: Clock;
  logger: Logger;
  thresholdSeconds: number;
}

export class SyncLagWatch {
  private readonly alerting = new Set<string>();

  constructor(private readonly deps: SyncLagWatchDeps) {}

  /** Checks one source after its run (good or failed); posts only on a crossing. */
  async check(source: string): Promise<void> {
    const status = await this.deps.store.statusOf(source);
    const since = status.lastSuccessAt ?? status.lastRunAt;
    if (!since) return; // never ran: nothing to measure yet
    const now = this.deps.clock.now();
    const lagSeconds = Math.max(0, (now.getTime() - since.getTime()) / 1000);
    const behind = lagSeconds > this.deps.thresholdSeconds;
    if (behind === this.alerting.has(source)) return;
    if (behind) this.alerting.add(source); else this.alerting.delete(source);
    const log = this.deps.logger.child({ source });
    if (behind) log.error({ lagSeconds, threshold: this.deps.thresholdSeconds }, 'sync: ALERT source lag past CUSTOS_SYNC_LAG_ALERT');
    else log.info({ lagSeconds }, 'sync: source lag back under the threshold');
    if (!this.deps.notices) return;
    const view = syncLagView({ source, lagSeconds, threshold: this.deps.thresholdSeconds, recovered: !behind, at: now }, this.deps.locale);
    await this.deps.notices.notice(view).catch((err: Error) => log.warn({ err: { type: err.name } }, 'sync: lag message to the security channel failed'));
  }
}
