// Our own verification of Lark / Feishu pushes, over the raw request bytes, before the SDK sees them.
// The SDK alone accepts everything when no encrypt key is set, never checks the timestamp (replays
// pass), hashes re-serialised JSON, compares with `===` and answers 200 on failure (REFERENCE §3).
// Here: X-Lark-Signature = hex(sha256(timestamp + nonce + encryptKey + rawBody)) compared in constant
// time, the timestamp inside ±windowSeconds (stale AND future refused), the body must be encrypted
// (AES-256-CBC, key = sha256(encryptKey), IV = first 16 bytes), and the verification token inside the
// decrypted body must match. Nonce replay is checked by the receiver (it needs Redis).
import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';

export const LARK_TIMESTAMP_WINDOW_SECONDS = 300;

export interface LarkVerifierSettings {
  encryptKey: string;
  verificationToken: string;
  windowSeconds?: number;
}

export type LarkRejection =
  | 'malformed' | 'not_encrypted' | 'undecryptable' | 'missing_headers' | 'bad_signature'
  | 'stale' | 'future' | 'bad_token';

export type LarkVerification =
  | { ok: true; kind: 'challenge'; challenge: string }
  | { ok: true; kind: 'push'; payload: Record<string, unknown>; nonce: string }
  | { ok: false; reason: LarkRejection };

export interface LarkHeaders { timestamp?: string; nonce?: string; signature?: string }

export function larkSignature(encryptKey: string, timestamp: string, nonce: string, rawBody: Buffer | string): string {
  return createHash('sha256').update(timestamp + nonce + encryptKey).update(rawBody).digest('hex');
}

/** AES-256-CBC as Lark encrypts: key sha256(encryptKey), IV = first 16 bytes of the base64 blob, PKCS#7. */
export function larkDecrypt(encryptKey: string, encrypted: string): string {
  const blob = Buffer.from(encrypted, 'base64');
  if (blob.length < 32 || blob.length % 16 !== 0) throw new Error('encrypted body has the wrong length');
  const key = createHash('sha256').update(encryptKey).digest();
  const decipher = createDecipheriv('aes-256-cbc', key, blob.subarray(0, 16));
  return Buffer.concat([decipher.update(blob.subarray(16)), decipher.final()]).toString('utf8');
}

export class LarkVerifier {
  private readonly key: string;
  private readonly token: Buffer;
  private readonly window: number;

  constructor(settings: LarkVerifierSettings) {
    if (!settings.encryptKey || !settings.verificationToken) {
      throw new Error('the Lark verifier needs both the encrypt key and the verification token');
    }
    this.key = settings.encryptKey;
    this.token = Buffer.from(settings.verificationToken);
    this.window = settings.windowSeconds ?? LARK_TIMESTAMP_WINDOW_SECONDS;
  }

  verify(raw: Buffer, headers: LarkHeaders, nowMs: number): LarkVerification {
    const outer = parseObject(raw.toString('utf8'));
    if (!outer) return { ok: false, reason: 'malformed' };
    if (typeof outer.encrypt !== 'string') return { ok: false, reason: 'not_encrypted' };
    let inner: Record<string, unknown> | undefined;
    try {
      inner = parseObject(larkDecrypt(this.key, outer.encrypt));
    } catch {
      inner = undefined;
    }
    if (!inner) return { ok: false, reason: 'undecryptable' };
    if (!this.tokenMatches(inner)) return { ok: false, reason: 'bad_token' };
    // Lark's URL check carries no signature; it proves itself by decrypting and holding our token.
    if (inner.type === 'url_verification' && typeof inner.challenge === 'string') {
      return { ok: true, kind: 'challenge', challenge: inner.challenge };
    }
    const { timestamp, nonce, signature } = headers;
    if (!timestamp || !nonce || !signature) return { ok: false, reason: 'missing_headers' };
    const expected = Buffer.from(larkSignature(this.key, timestamp, nonce, raw), 'utf8');
    const given = Buffer.from(signature, 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad_signature' };
    const ts = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) * 1000 : Number.NaN;
    if (!Number.isFinite(ts)) return { ok: false, reason: 'bad_signature' };
    if (ts < nowMs - this.window * 1000) return { ok: false, reason: 'stale' };
    if (ts > nowMs + this.window * 1000) return { ok: false, reason: 'future' };
    return { ok: true, kind: 'push', payload: inner, nonce };
  }

  /** v2 events and callbacks carry the token in `header.token`, v1 and the URL check at the top level. */
  private tokenMatches(body: Record<string, unknown>): boolean {
    const header = body.header && typeof body.header === 'object' ? body.header as Record<string, unknown> : undefined;
    const token = typeof header?.token === 'string' ? header.token : typeof body.token === 'string' ? body.token : '';
    const given = Buffer.from(token);
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}
