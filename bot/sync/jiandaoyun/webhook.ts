// 简道云 (Jiandaoyun) data-push webhooks, as documented (hc.jiandaoyun.com/open/11507): POST to our URL
// with `?timestamp=…&nonce=…`, headers `X-JDY-Signature` (hex SHA-1 of "{nonce}:{payload}:{secret}:{timestamp}",
// payload = the raw body) and `X-JDY-DeliverId` (unique per delivery), body `{"op":"data_create"|
// "data_update"|"data_remove", "data":{"_id":…}}`. The signature is checked on the raw bytes before the
// body is parsed; a timestamp outside the replay window is refused; a delivery id seen before is a
// duplicate. Only the record id is taken from the body: the framework re-reads the record through the
// API (a forged value could never reach a customer even with the secret leaked).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { WebhookResult } from '../types.ts';

export const JDY_REPLAY_WINDOW_SECONDS = 300;

export function jdySignature(nonce: string, payload: Buffer, secret: string, timestamp: string): string {
  return createHash('sha1').update(`${nonce}:`).update(payload).update(`:${secret}:${timestamp}`).digest('hex');
}

export interface JdyWebhookInput {
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Verifies one delivery; `claim` records the delivery id once (false: seen before). */
export async function verifyJdyWebhook(secret: string, input: JdyWebhookInput, now: Date, claim: (deliveryId: string) => Promise<boolean>): Promise<WebhookResult> {
  const nonce = input.query.get('nonce');
  const timestamp = input.query.get('timestamp');
  const signature = input.headers['x-jdy-signature'];
  const deliveryId = input.headers['x-jdy-deliverid'];
  if (!nonce || !timestamp || typeof signature !== 'string' || typeof deliveryId !== 'string' || deliveryId.length > 200) return { ok: false, reason: 'signature' };
  const want = Buffer.from(jdySignature(nonce, input.body, secret, timestamp));
  const got = Buffer.from(signature);
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, reason: 'signature' };
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(now.getTime() / 1000 - Number(timestamp)) > JDY_REPLAY_WINDOW_SECONDS) return { ok: false, reason: 'stale' };
  let parsed: unknown;
  try { parsed = JSON.parse(input.body.toString('utf8')); } catch { return { ok: false, reason: 'malformed' }; }
  const data = (parsed as { data?: { _id?: unknown } } | null)?.data;
  const id = data?._id;
  if (typeof id !== 'string' || !/^[0-9a-f]{24}$/.test(id)) return { ok: false, reason: 'malformed' };
  if (!(await claim(deliveryId))) return { ok: false, reason: 'duplicate' };
  return { ok: true, deliveryId, sourceIds: [id] };
}
