// Push API signatures, signed like Slack requests: `X-Custos-Signature: v0=` + hex HMAC-SHA256 of
// `v0:{X-Custos-Request-Timestamp}:{raw body}` under the source's push secret. Checked on the raw bytes
// BEFORE anything is parsed; the timestamp must lie within five minutes of our clock either way (a
// captured request cannot be replayed later).
import { createHmac, timingSafeEqual } from 'node:crypto';

export const PUSH_WINDOW_SECONDS = 300;
export const SIGNATURE_HEADER = 'x-custos-signature';
export const TIMESTAMP_HEADER = 'x-custos-request-timestamp';
export const BATCH_HEADER = 'x-custos-batch-id';

export function pushSignature(secret: string, timestamp: string, body: Buffer): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest('hex')}`;
}

export type PushVerdict = 'ok' | 'missing' | 'stale' | 'signature';

export function verifyPush(secret: string, headers: Record<string, string | string[] | undefined>, body: Buffer, now: Date): PushVerdict {
  const ts = headers[TIMESTAMP_HEADER];
  const sig = headers[SIGNATURE_HEADER];
  if (typeof ts !== 'string' || typeof sig !== 'string') return 'missing';
  if (!/^\d{1,12}$/.test(ts) || Math.abs(now.getTime() / 1000 - Number(ts)) > PUSH_WINDOW_SECONDS) return 'stale';
  const want = Buffer.from(pushSignature(secret, ts, body));
  const got = Buffer.from(sig);
  return got.length === want.length && timingSafeEqual(got, want) ? 'ok' : 'signature';
}
