// The encrypted callback scheme DingTalk's event subscription uses (and WeCom's callbacks, from which it
// comes): `msg_signature` is the SHA-1 hex of the sorted [token, timestamp, nonce, encrypt]; the payload
// is AES-256-CBC with the key base64(EncodingAESKey + "="), the IV its first 16 bytes, PKCS#7 padding to
// 32 bytes, over random(16) ‖ length(4, big-endian) ‖ text ‖ owner key (the app the message is for).
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const BLOCK = 32;

export class EventCrypto {
  private readonly key: Buffer;

  constructor(private readonly token: string, aesKey: string, private readonly ownerKey: string) {
    this.key = Buffer.from(`${aesKey}=`, 'base64');
  }

  signature(timestamp: string, nonce: string, encrypt: string): string {
    return createHash('sha1').update([this.token, timestamp, nonce, encrypt].sort().join('')).digest('hex');
  }

  verify(signature: string, timestamp: string, nonce: string, encrypt: string): boolean {
    const want = Buffer.from(this.signature(timestamp, nonce, encrypt));
    const got = Buffer.from(signature);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  /** The JSON text, or null when it does not decrypt, is malformed, or was meant for another app. */
  decrypt(encrypt: string): string | null {
    try {
      const d = createDecipheriv('aes-256-cbc', this.key, this.key.subarray(0, 16)).setAutoPadding(false);
      const padded = Buffer.concat([d.update(Buffer.from(encrypt, 'base64')), d.final()]);
      const pad = padded[padded.length - 1]!;
      if (pad < 1 || pad > BLOCK || padded.length < 20 + pad) return null;
      const plain = padded.subarray(0, padded.length - pad);
      const length = plain.readUInt32BE(16);
      if (20 + length > plain.length) return null;
      return plain.subarray(20 + length).toString('utf8') === this.ownerKey ? plain.subarray(20, 20 + length).toString('utf8') : null;
    } catch {
      return null;
    }
  }

  encrypt(text: string): string {
    const body = Buffer.concat([randomBytes(16), Buffer.alloc(4), Buffer.from(text, 'utf8'), Buffer.from(this.ownerKey, 'utf8')]);
    body.writeUInt32BE(Buffer.byteLength(text, 'utf8'), 16);
    const pad = BLOCK - (body.length % BLOCK);
    const c = createCipheriv('aes-256-cbc', this.key, this.key.subarray(0, 16)).setAutoPadding(false);
    return Buffer.concat([c.update(Buffer.concat([body, Buffer.alloc(pad, pad)])), c.final()]).toString('base64');
  }
}
