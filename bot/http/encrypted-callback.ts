// The encrypted callback scheme of WeCom's callbacks (企业微信 加解密方案), which DingTalk's HTTP event
// subscription uses unchanged (its receiver id is the app's AppKey where WeCom's is the CorpID):
// msg_signature = sha1 of the sorted concatenation of Token, timestamp, nonce and the ciphertext; the
// ciphertext is AES-256-CBC under the EncodingAESKey (IV = the key's first 16 bytes, PKCS#7 padding to 32)
// of random(16) + msg_len(4, network order) + msg + receiver id. `@wecom/crypto` (WeCom's own package)
// does the sha1 and the AES for both; this file adds what it leaves to its caller: a timestamp window in
// both directions, a constant-time comparison, strict shapes, the receiver check and errors instead of
// garbage on bad padding. The signature is checked over the raw ciphertext before anything is decrypted.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { decrypt, encrypt, getSignature } from '@wecom/crypto';

export type Refusal = 'missing' | 'stale' | 'future' | 'bad_signature' | 'undecryptable' | 'wrong_receiver';
export type Verdict<T> = { ok: true; value: T } | { ok: false; reason: Refusal };

export interface Signed { signature?: string | undefined; timestamp?: string | undefined; nonce?: string | undefined }

/** The signed parts of a callback's query: msg_signature, timestamp and nonce. */
export function signedQuery(q: URLSearchParams): Signed {
  return { signature: q.get('msg_signature') ?? undefined, timestamp: q.get('timestamp') ?? undefined, nonce: q.get('nonce') ?? undefined };
}

export interface EncryptedCallbackOptions {
  token: string;
  encodingAesKey: string;
  /** Whom the plaintext must name at its end: WeCom's CorpID, DingTalk's AppKey. */
  receiver: string;
  /** How far the timestamp may be from our clock, either side. */
  windowSeconds: number;
  /** DingTalk's timestamps may be in milliseconds (13 digits); WeCom's are seconds only. */
  milliseconds?: boolean;
}

const SIGNATURE = /^[0-9a-f]{40}$/;
const SECONDS = /^\d{1,12}$/;
const SECONDS_OR_MS = /^\d{10,13}$/;
const NONCE = /^[A-Za-z0-9_-]{1,64}$/;
const CIPHERTEXT = /^[A-Za-z0-9+/]{22,}={0,2}$/;

export class EncryptedCallback {
  constructor(private readonly opts: EncryptedCallbackOptions) {}

  /** Checks signature and window over `ciphertext`, then decrypts it; the plaintext, or why not. */
  open(ciphertext: string, signed: Signed, nowMs: number): Verdict<string> {
    const { signature, timestamp, nonce } = signed;
    const shape = this.opts.milliseconds ? SECONDS_OR_MS : SECONDS;
    if (!signature || !timestamp || !nonce || !SIGNATURE.test(signature) || !shape.test(timestamp) || !NONCE.test(nonce) || !CIPHERTEXT.test(ciphertext)) {
      return { ok: false, reason: 'missing' };
    }
    const seconds = timestamp.length === 13 ? Math.floor(Number(timestamp) / 1000) : Number(timestamp);
    const age = Math.floor(nowMs / 1000) - seconds;
    if (age > this.opts.windowSeconds) return { ok: false, reason: 'stale' };
    if (age < -this.opts.windowSeconds) return { ok: false, reason: 'future' };
    const expected = Buffer.from(getSignature(this.opts.token, timestamp, nonce, ciphertext));
    if (!timingSafeEqual(expected, Buffer.from(signature))) return { ok: false, reason: 'bad_signature' };
    return this.decrypt(ciphertext);
  }

  /** `text` encrypted for our receiver id and signed with a fresh nonce (DingTalk's encrypted `success`). */
  seal(text: string, timestamp: string): { encrypt: string; signature: string; nonce: string } {
    const ciphertext = encrypt(this.opts.encodingAesKey, text, this.opts.receiver);
    const nonce = randomBytes(8).toString('hex');
    return { encrypt: ciphertext, signature: getSignature(this.opts.token, timestamp, nonce, ciphertext), nonce };
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
    // Bad padding or a wrong length field leaves the receiver id wrong or empty: refused either way.
    if (opened.id !== this.opts.receiver) return { ok: false, reason: opened.id === '' ? 'undecryptable' : 'wrong_receiver' };
    if (opened.message.includes('\uFFFD')) return { ok: false, reason: 'undecryptable' };
    return { ok: true, value: opened.message };
  }
}
