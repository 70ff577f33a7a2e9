// POST /dingtalk/events: DingTalk's HTTP event subscription (通讯录事件), used for offboarding on
// `user_leave_org`. DingTalk encrypts each event: the query carries `msg_signature` (older apps:
// `signature`), `timestamp` and `nonce`; the body is `{"encrypt": "…"}`. The signature is the SHA-1 hex
// of the sorted concatenation of [token, timestamp, nonce, encrypt]; the payload is AES-256-CBC with the
// key base64(EncodingAESKey + "="), the IV its first 16 bytes, PKCS#7 padding to 32 bytes, and the
// plaintext random(16) ‖ length(4, big-endian) ‖ JSON ‖ owner key (the app's AppKey). The answer is the
// word `success` encrypted the same way. Nothing is decrypted before the signature and our timestamp
// window (one hour, as for robot callbacks) hold; any failure is a 401 that reaches nothing else.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { OffboardingService } from '../core/offboarding.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import type { Logger } from '../logger.ts';
import { parseJson, readBodyLimited, sendJson } from '../http/body.ts';
import type { EventCrypto } from '../http/encrypted-callback.ts';
import { WINDOW_MS } from './verify.ts';

export const DINGTALK_EVENTS_PATH = '/dingtalk/events';
const MAX_BODY_BYTES = 64 * 1024;

export { EventCrypto } from '../http/encrypted-callback.ts';

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
    const body = raw ? EventBody.safeParse(parseJson(raw)) : undefined;
    if (!body?.success) return this.refuse(req, res, 'malformed_body');
    if (!this.deps.crypto.verify(signature, timestamp, nonce, body.data.encrypt)) return this.refuse(req, res, 'bad_signature');
    const text = this.deps.crypto.decrypt(body.data.encrypt);
    const event = text === null ? undefined : Event.safeParse(parseJson(Buffer.from(text)));
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
