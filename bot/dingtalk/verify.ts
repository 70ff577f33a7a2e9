// DingTalk's robot callback signature, checked from the headers alone, before the body is read:
// `sign` must be base64(HMAC-SHA256(key = AppSecret, `${timestamp}\n${AppSecret}`)) and `timestamp`
// (milliseconds) within one hour of our clock, either side, as DingTalk's robot documentation asks.
// The signature does not cover the body, so the receiver also binds each signature to the one body it
// first came with (receiver.ts): a captured signature cannot carry an altered body.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const WINDOW_MS = 3_600_000;

export type SignatureVerdict = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'future' | 'bad_signature' };

export function expectedSign(timestamp: string, appSecret: string): string {
  return createHmac('sha256', appSecret).update(`${timestamp}\n${appSecret}`, 'utf8').digest('base64');
}

export function verifySignature(headers: { timestamp?: string; sign?: string }, appSecret: string, now: number): SignatureVerdict {
  const { timestamp, sign } = headers;
  if (!timestamp || !sign) return { ok: false, reason: 'missing' };
  if (!/^\d{13}$/.test(timestamp) || !/^[A-Za-z0-9+/]{43}=$/.test(sign)) return { ok: false, reason: 'malformed' };
  const ts = Number(timestamp);
  if (ts < now - WINDOW_MS) return { ok: false, reason: 'stale' };
  if (ts > now + WINDOW_MS) return { ok: false, reason: 'future' };
  const want = Buffer.from(expectedSign(timestamp, appSecret), 'base64');
  const got = Buffer.from(sign, 'base64');
  return got.length === want.length && timingSafeEqual(got, want) ? { ok: true } : { ok: false, reason: 'bad_signature' };
}
