// POST /dingtalk/events: DingTalk's HTTP event subscription (通讯录事件), used for offboarding on
// `user_leave_org`. DingTalk encrypts each event: the query carries `msg_signature` (older apps:
// `signature`), `timestamp` and `nonce`; the body is `{"encrypt": "…"}`. The signature is the SHA-1 hex
// of the sorted concatenation of [token, timestamp, nonce, encrypt]; the payload is AES-256-CBC with the
// key base64(EncodingAESKey + "="), the IV its first 16 bytes, PKCS#7 padding to 32 bytes, and the
// plaintext random(16) ‖ length(4, big-endian) ‖ JSON ‖ owner key (the app's AppKey). The answer is the
// word `success` encrypted the same way. Nothing is decrypted before the signature and our timestamp
// window (one hour, as for robot callbacks) hold; any failure is a 401 that reaches nothing else.
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { OffboardingService } from '../core/offboarding.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import type { Logger } from '../logger.ts';
import { readBodyLimited, sendJson } from '../http/body.ts';
import { WINDOW_MS } from './verify.ts';

export const DINGTALK_EVENTS_PATH = '/dingtalk/events';
const MAX_BODY_BYTES = 64 * 1024;
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

const EventBody = z.object({ encrypt: z.string().min(1).max(MAX_BODY_BYTES) });
const Event = z.object({ EventType: z.string().max(64), UserId: z.array(z.string().max(100)).max(1000).optional() }).loose();

export interface DingTalkEventDeps {
  crypto: EventCrypto;
  directory: EmployeeDirectory;
  offboarding: OffboardingService;
  logger: Logger;
  now?: () => number;
}

export class DingTalkEvents {
  constructor(private readonly deps: DingTalkEventDeps) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const signature = q.get('msg_signature') ?? q.get('signature') ?? '';
    const timestamp = q.get('timestamp') ?? '';
    const nonce = q.get('nonce') ?? '';
    const now = (this.deps.now ?? Date.now)();
    if (!/^\d{10,13}$/.test(timestamp) || !/^[0-9a-f]{40}$/.test(signature) || !/^[A-Za-z0-9]{1,64}$/.test(nonce)) return this.refuse(req, res, 'malformed');
    const ms = timestamp.length === 13 ? Number(timestamp) : Number(timestamp) * 1000;
    if (Math.abs(ms - now) > WINDOW_MS) return this.refuse(req, res, 'stale_or_future');
    const raw = await readBodyLimited(req, MAX_BODY_BYTES);
    const body = raw ? EventBody.safeParse(safeJson(raw)) : undefined;
    if (!body?.success) return this.refuse(req, res, 'malformed_body');
    if (!this.deps.crypto.verify(signature, timestamp, nonce, body.data.encrypt)) return this.refuse(req, res, 'bad_signature');
    const text = this.deps.crypto.decrypt(body.data.encrypt);
    const event = text === null ? undefined : Event.safeParse(safeJson(Buffer.from(text)));
    if (!event?.success) return this.refuse(req, res, 'undecryptable');
    if (event.data.EventType === 'user_leave_org') await this.left(event.data.UserId ?? []);
    return this.success(res);
  }

  /** Each bound employee who left is offboarded (idempotent, so a redelivered event is harmless). */
  private async left(userIds: string[]): Promise<void> {
    for (const userId of userIds) {
      const employee = await this.deps.directory.byChatId('dingtalk', userId);
      if (!employee) continue;
      const r = await this.deps.offboarding.offboard(employee.employeeId, 'dingtalk', userId);
      this.deps.logger.info({ employeeId: employee.employeeId, grants: r.grants, requests: r.requests }, 'dingtalk: employee offboarded');
    }
  }

  private success(res: ServerResponse): void {
    const timeStamp = String((this.deps.now ?? Date.now)());
    const nonce = randomBytes(8).toString('hex');
    const encrypt = this.deps.crypto.encrypt('success');
    sendJson(res, 200, { msg_signature: this.deps.crypto.signature(timeStamp, nonce, encrypt), timeStamp, nonce, encrypt });
  }

  private refuse(req: IncomingMessage, res: ServerResponse, reason: string): void {
    req.resume();
    this.deps.logger.warn({ reason }, 'dingtalk: event refused');
    sendJson(res, 401, { error: 'unauthorized' });
  }
}

function safeJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return null;
  }
}
