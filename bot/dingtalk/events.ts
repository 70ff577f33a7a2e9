// DingTalk's address-book events (通讯录事件), used for offboarding on `user_leave_org`, however they
// arrive: each user who left is offboarded through the shared path (bot/runtime/chat-offboarding.ts).
//  - POST /dingtalk/events (HTTP event subscription): DingTalk encrypts each event with WeCom's scheme
//    (bot/http/encrypted-callback.ts, the app's AppKey as receiver id). The query carries `msg_signature`
//    (older apps: `signature`), `timestamp` (seconds or milliseconds) and `nonce`; the body is
//    `{"encrypt": "…"}`, the plaintext `{EventType, UserId: [...], …}`. The answer is the word `success`
//    encrypted the same way. Nothing is decrypted before the signature and our window (one hour, as for
//    robot callbacks) hold; any failure is a 401 that reaches nothing else.
//  - the Stream (stream-callbacks.ts): an EVENT frame whose headers name the `eventType` and `eventId`,
//    its data the same event in camelCase (`{timeStamp, userId: [...]}`), on the app's own socket.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { parseJson, readBodyLimited, sendJson } from '../http/body.ts';
import { EncryptedCallback } from '../http/encrypted-callback.ts';
import { offboardChatUser, type ChatOffboardingDeps } from '../runtime/chat-offboarding.ts';
import { WINDOW_MS } from './verify.ts';

export const DINGTALK_EVENTS_PATH = '/dingtalk/events';
export const USER_LEAVE_ORG = 'user_leave_org';
const MAX_BODY_BYTES = 64 * 1024;

const EventBody = z.object({ encrypt: z.string().min(1).max(MAX_BODY_BYTES) });
const UserIds = z.array(z.string().max(100)).max(1000);
const Event = z.object({ EventType: z.string().max(64), UserId: UserIds.optional() }).loose();

/** The event subscription's crypto: its token and EncodingAESKey, the app's AppKey as receiver id. */
export function dingtalkEventCrypto(events: { token: string; aesKey: string }, appKey: string): EncryptedCallback {
  return new EncryptedCallback({ token: events.token, encodingAesKey: events.aesKey, receiver: appKey, windowSeconds: WINDOW_MS / 1000, milliseconds: true });
}

export interface DingTalkEventDeps extends ChatOffboardingDeps {
  crypto: EncryptedCallback;
  now?: () => number;
}

export class DingTalkEvents {
  constructor(private readonly deps: DingTalkEventDeps) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const signed = { signature: q.get('msg_signature') ?? q.get('signature') ?? undefined, timestamp: q.get('timestamp') ?? undefined, nonce: q.get('nonce') ?? undefined };
    const raw = await readBodyLimited(req, MAX_BODY_BYTES);
    const body = raw ? EventBody.safeParse(parseJson(raw)) : undefined;
    if (!body?.success) return this.refuse(req, res, 'malformed_body');
    const opened = this.deps.crypto.open(body.data.encrypt, signed, this.now());
    if (!opened.ok) return this.refuse(req, res, opened.reason);
    const event = Event.safeParse(parseJson(Buffer.from(opened.value)));
    if (!event.success) return this.refuse(req, res, 'undecryptable');
    if (event.data.EventType === USER_LEAVE_ORG) await offboardLeavers(this.deps, event.data.UserId ?? []);
    const timeStamp = String(this.now());
    const sealed = this.deps.crypto.seal('success', timeStamp);
    return sendJson(res, 200, { msg_signature: sealed.signature, timeStamp, nonce: sealed.nonce, encrypt: sealed.encrypt });
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  private refuse(req: IncomingMessage, res: ServerResponse, reason: string): void {
    req.resume(); // what was not read is discarded
    this.deps.logger.warn({ reason }, 'dingtalk: event refused');
    sendJson(res, 401, { error: 'unauthorized' });
  }
}

/** A Stream EVENT frame's data (its type from the headers): 'ok' once handled, 'malformed' (nothing done) when it is not the event it says. */
export async function streamedEvent(deps: ChatOffboardingDeps, eventType: string, data: string): Promise<'ok' | 'malformed'> {
  if (eventType !== USER_LEAVE_ORG) return 'ok';
  const event = z.object({ userId: UserIds }).loose().safeParse(parseJson(Buffer.from(data, 'utf8')));
  if (!event.success) return 'malformed';
  await offboardLeavers(deps, event.data.userId);
  return 'ok';
}

/** Each bound employee who left is offboarded. */
async function offboardLeavers(deps: ChatOffboardingDeps, userIds: string[]): Promise<void> {
  for (const userId of userIds) await offboardChatUser(deps, 'dingtalk', userId);
}
