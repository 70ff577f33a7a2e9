// DingTalk's address-book events (通讯录事件), used for offboarding on `user_leave_org`, however they
// arrive: each user who left is offboarded through the shared path (bot/runtime/chat-offboarding.ts).
//  - POST /dingtalk/events (HTTP event subscription): DingTalk encrypts each event with WeCom's scheme
//    (bot/http/encrypted-callback.ts, the app's AppKey as receiver id). The query carries `msg_signature`
//    (older apps: `signature`), `timestamp` (seconds or milliseconds) and `nonce`; the body is
//    `{"encrypt": "…"}`, the plaintext `{EventType, UserId: [...], …}`. The answer is the word `success`
//    encrypted the same way. Nothing is decrypted before the signature and our window (one hour, as for
//    robot callbacks) hold; any failure is a 401 (413 for a body over 64 KB) that reaches nothing else.
//  - the Stream (stream-callbacks.ts): an EVENT frame whose headers name the `eventType` and `eventId`,
//    its data the same event in camelCase (`{timeStamp, userId: [...]}`), on the app's own socket.
import { z } from 'zod';
import { callbackRoute, parseJson } from '../http/body.ts';
import { EncryptedCallback, signedQuery } from '../http/encrypted-callback.ts';
import type { RouteHandler } from '../http/server.ts';
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

/** POST /dingtalk/events: the signature, window and decryption over the body, then the event; answered with `success` sealed. */
export function eventsCallback(d: DingTalkEventDeps): RouteHandler {
  const now = () => (d.now ?? Date.now)();
  return callbackRoute({
    label: 'dingtalk: event', logger: d.logger, maxBytes: MAX_BODY_BYTES,
    accept: async (raw, req) => {
      const q = new URL(req.url ?? '/', 'http://x').searchParams;
      const body = EventBody.safeParse(parseJson(raw));
      if (!body.success) return 'malformed_body';
      const opened = d.crypto.open(body.data.encrypt, { ...signedQuery(q), signature: q.get('msg_signature') ?? q.get('signature') ?? undefined }, now());
      if (!opened.ok) return opened.reason;
      const event = Event.safeParse(parseJson(Buffer.from(opened.value)));
      if (!event.success) return 'undecryptable';
      if (event.data.EventType === USER_LEAVE_ORG) await offboardLeavers(d, event.data.UserId ?? []);
      return 'accepted';
    },
    answer: () => {
      const timeStamp = String(now());
      const sealed = d.crypto.seal('success', timeStamp);
      return { msg_signature: sealed.signature, timeStamp, nonce: sealed.nonce, encrypt: sealed.encrypt };
    },
  });
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
