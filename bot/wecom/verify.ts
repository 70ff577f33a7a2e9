// WeCom callback verification (企业微信 加解密方案): msg_signature = sha1 of the sorted concatenation of
// Token, timestamp, nonce and the ciphertext; the ciphertext is AES-256-CBC under the EncodingAESKey
// (IV = the key's first 16 bytes, PKCS#7 padding to 32) of random(16) + msg_len(4, network order) +
// msg + receiveid. `@wecom/crypto` (WeCom's own package) does the sha1 and the AES; this file adds
// what it leaves to its caller: a timestamp window in both directions, a constant-time comparison,
// strict shapes, the receiveid check (our CorpID) and errors instead of garbage on bad padding.
// The signature is checked over the raw ciphertext before anything is decrypted or parsed.
import { timingSafeEqual } from 'node:crypto';
import { decrypt, getSignature } from '@wecom/crypto';

/** ±5 minutes, as for Slack and Lark: WeCom's own retries come within seconds of the first try. */
export const WINDOW_SECONDS = 300;

export type Refusal = 'missing' | 'stale' | 'future' | 'bad_signature' | 'undecryptable' | 'wrong_receiver';
export type Verdict<T> = { ok: true; value: T } | { ok: false; reason: Refusal };

export interface Signed { signature?: string | undefined; timestamp?: string | undefined; nonce?: string | undefined }

const SIGNATURE = /^[0-9a-f]{40}$/;
const TIMESTAMP = /^\d{1,12}$/;
const NONCE = /^[A-Za-z0-9_-]{1,64}$/;
const CIPHERTEXT = /^[A-Za-z0-9+/]{22,}={0,2}$/;

export class WeComVerifier {
  constructor(private readonly opts: { token: string; encodingAesKey: string; corpId: string }) {}

  /** Checks signature and window over `ciphertext`, then decrypts it; the plaintext, or why not. */
  open(ciphertext: string, signed: Signed, nowMs: number): Verdict<string> {
    const { signature, timestamp, nonce } = signed;
    if (!signature || !timestamp || !nonce || !SIGNATURE.test(signature) || !TIMESTAMP.test(timestamp) || !NONCE.test(nonce) || !CIPHERTEXT.test(ciphertext)) {
      return { ok: false, reason: 'missing' };
    }
    const age = Math.floor(nowMs / 1000) - Number(timestamp);
    if (age > WINDOW_SECONDS) return { ok: false, reason: 'stale' };
    if (age < -WINDOW_SECONDS) return { ok: false, reason: 'future' };
    const expected = Buffer.from(getSignature(this.opts.token, timestamp, nonce, ciphertext));
    if (!timingSafeEqual(expected, Buffer.from(signature))) return { ok: false, reason: 'bad_signature' };
    return this.decrypt(ciphertext);
  }

  private decrypt(ciphertext: string): Verdict<string> {
    const bytes = Buffer.from(ciphertext, 'base64');
    // Whole AES blocks and at least random + length; the library trusts both.
    if (bytes.length < 32 || bytes.length % 32 !== 0) return { ok: false, reason: 'undecryptable' };
    let opened: { message: string; id: string };
    try {
      opened = decrypt(this.opts.encodingAesKey, ciphertext);
    } catch {
      return { ok: false, reason: 'undecryptable' };
    }
    // Bad padding or a wrong length field leaves the receiveid wrong or empty: refused either way.
    if (opened.id !== this.opts.corpId) return { ok: false, reason: opened.id === '' ? 'undecryptable' : 'wrong_receiver' };
    if (opened.message.includes('\uFFFD')) return { ok: false, reason: 'undecryptable' };
    return { ok: true, value: opened.message };
  }
}
