// Zoho CRM notifications as documented (Notification APIs, v8): Zoho POSTs to the channel's notify_url
// a JSON body {server_time, query_params, module, resource_uri, ids, affected_fields, operation,
// channel_id, token}. Zoho signs nothing: the channel's `token` (a secret custos chose when it
// subscribed) is the proof, so it is compared in constant time on every notification, with the
// channel id and the module; a notification whose server_time is outside the replay window is stale.
// Only the ids are taken: the framework re-reads those records through the API (ids gone are
// deletions), so even a leaked token can only make custos re-read records, never store a value.
// Zoho gives a notification no id of its own: the delivery id is a hash of the raw body, so the same
// notification delivered twice is applied once.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { WebhookRequest, WebhookResult } from '../types.ts';

export const ZOHO_REPLAY_WINDOW_MS = 15 * 60_000;
const MAX_IDS = 5000;
const ZOHO_ID = /^\d{5,19}$/;

export interface ZohoNotification { server_time?: unknown; module?: unknown; ids?: unknown; operation?: unknown; channel_id?: unknown; token?: unknown }

const same = (a: string, b: string) => {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
};

export function verifyZohoNotification(expected: { channelId: string; token: string; module: string }, req: WebhookRequest, now: Date): WebhookResult {
  let n: ZohoNotification;
  try { n = JSON.parse(req.body.toString('utf8')) as ZohoNotification; } catch { return { ok: false, reason: 'signature' }; }
  if (n === null || typeof n !== 'object' || typeof n.token !== 'string' || !same(n.token, expected.token)) return { ok: false, reason: 'signature' };
  if (String(n.channel_id) !== expected.channelId || n.module !== expected.module) return { ok: false, reason: 'signature' };
  const at = Number(n.server_time);
  if (!Number.isFinite(at) || Math.abs(now.getTime() - at) > ZOHO_REPLAY_WINDOW_MS) return { ok: false, reason: 'stale' };
  const ids = n.ids;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_IDS || !ids.every((i) => typeof i === 'string' && ZOHO_ID.test(i))) return { ok: false, reason: 'malformed' };
  return { ok: true, deliveryId: `zoho-${createHash('sha256').update(req.body).digest('base64url').slice(0, 32)}`, sourceIds: [...new Set(ids as string[])] };
}
