// Zoho CRM change notifications (Notification APIs, v8): custos subscribes its webhook URL to the
// module's events with POST /actions/watch {watch:[{channel_id, events:["Accounts.all"], channel_expiry,
// token, notify_url}]}. A channel lives one hour unless asked for longer (at most a week), so every
// scheduled run checks it and renews it (PATCH /actions/watch with a new channel_expiry; POST again
// when Zoho no longer knows it) once a third of its lifetime is left — the sync interval must be
// shorter than that third. A failure to subscribe or renew never fails the run: notifications only
// speed things up, polling and reconciliation still find every change; it is logged (source and code).
import type { Clock } from '../../core/ports.ts';
import type { Logger } from '../../logger.ts';
import { ZohoRefused, type ZohoApi } from './api.ts';
import type { ZohoChannelSettings } from './settings.ts';

interface WatchAnswer { watch?: { code?: string; details?: { events?: { channel_expiry?: string }[] } }[] }

/** Zoho's date-time form: seconds, with an offset (2026-06-01T03:00:00+00:00). */
export const zohoDateTime = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, '+00:00');

export class ZohoChannel {
  private expiresAt = 0;
  private subscribed = false;

  constructor(
    private readonly api: ZohoApi, private readonly module: string, private readonly settings: ZohoChannelSettings,
    private readonly clock: Clock, private readonly logger: Logger,
  ) {}

  /** Subscribes, or renews the channel when a third of its lifetime or less is left. */
  async ensure(): Promise<void> {
    const now = this.clock.now().getTime();
    const lifetime = this.settings.minutes * 60_000;
    if (this.subscribed && this.expiresAt - now > lifetime / 3) return;
    const expiry = new Date(now + lifetime);
    const entry = {
      channel_id: this.settings.channelId, events: [`${this.module}.all`], channel_expiry: zohoDateTime(expiry),
      token: this.settings.token, notify_url: this.settings.notifyUrl,
    };
    try {
      let res;
      try {
        res = await this.api.call<WatchAnswer>(this.subscribed ? 'PATCH' : 'POST', 'actions/watch', { json: { watch: [entry] } });
      } catch (err) {
        if (!(this.subscribed && err instanceof ZohoRefused)) throw err;
        res = await this.api.call<WatchAnswer>('POST', 'actions/watch', { json: { watch: [entry] } }); // the channel is gone: subscribe again
      }
      const first = res.body?.watch?.[0];
      if (first?.code !== 'SUCCESS') throw new ZohoRefused('watch', first?.code ?? 'UNKNOWN', res.status);
      const granted = Date.parse(first.details?.events?.[0]?.channel_expiry ?? '');
      this.expiresAt = Number.isFinite(granted) ? granted : expiry.getTime();
      this.subscribed = true;
    } catch (err) {
      this.logger.warn({ code: (err as { zohoCode?: unknown; code?: unknown }).zohoCode ?? (err as { code?: unknown }).code ?? 'error' },
        'zoho: the notification channel could not be subscribed or renewed; changes arrive by polling until a later run succeeds');
    }
  }

  /** When the channel lapses, as last granted (0: never subscribed). */
  get expires(): number { return this.subscribed ? this.expiresAt : 0; }
}
