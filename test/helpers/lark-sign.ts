// Lark pushes as Lark sends them: a v2 event envelope encrypted with the encrypt key (AES-256-CBC,
// key sha256(encryptKey), random IV prepended, base64) in `{ "encrypt": … }`, and the headers
// X-Lark-Request-Timestamp / -Nonce / -Signature = sha256(timestamp + nonce + encryptKey + rawBody).
import { createCipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { larkSignature } from '../../bot/lark/verify.ts';

export const ENCRYPT_KEY = 'test-encrypt-key-0123456789';
export const VERIFICATION_TOKEN = 'test-verification-token-0123';

export function encrypt(encryptKey: string, plaintext: string): string {
  const key = createHash('sha256').update(encryptKey).digest();
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  return Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final()]).toString('base64');
}

export interface SignedRequest { body: string; headers: Record<string, string> }

export function signed(payload: unknown, opts: { encryptKey?: string; signKey?: string; timestamp?: number; nonce?: string; plaintext?: boolean } = {}): SignedRequest {
  const encryptKey = opts.encryptKey ?? ENCRYPT_KEY;
  const body = opts.plaintext ? JSON.stringify(payload) : JSON.stringify({ encrypt: encrypt(encryptKey, JSON.stringify(payload)) });
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = opts.nonce ?? randomUUID();
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-lark-request-timestamp': timestamp,
      'x-lark-request-nonce': nonce,
      'x-lark-signature': larkSignature(opts.signKey ?? encryptKey, timestamp, nonce, body),
    },
  };
}

export async function post(url: string, req: SignedRequest): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: req.headers, body: req.body });
  return { status: res.status, text: await res.text() };
}

let seq = 0;
export function eventId(): string { return `ev_${Date.now().toString(36)}_${++seq}_${randomBytes(4).toString('hex')}`; }

/** A v2 envelope (`schema: '2.0'`, header with event_id / token / event_type). */
export function envelope(eventType: string, event: Record<string, unknown>, opts: { eventId?: string; token?: string } = {}): Record<string, unknown> {
  return {
    schema: '2.0',
    header: {
      event_id: opts.eventId ?? eventId(), token: opts.token ?? VERIFICATION_TOKEN, create_time: String(Date.now()),
      event_type: eventType, tenant_key: 'tenant_test', app_id: 'cli_testapp0001',
    },
    event,
  };
}

export function messageEvent(m: { openId: string; chatId: string; group?: boolean; text: string; mentionBot?: boolean; eventId?: string; token?: string }): Record<string, unknown> {
  const mentions = m.mentionBot ? [{ key: '@_user_1', id: { open_id: 'ou_bot' }, name: 'custos', tenant_key: 'tenant_test' }] : [];
  const text = m.mentionBot ? `@_user_1 ${m.text}` : m.text;
  return envelope('im.message.receive_v1', {
    sender: { sender_id: { open_id: m.openId }, sender_type: 'user', tenant_key: 'tenant_test' },
    message: {
      message_id: `om_in_${randomBytes(6).toString('hex')}`, create_time: String(Date.now()), chat_id: m.chatId,
      chat_type: m.group ? 'group' : 'p2p', message_type: 'text', content: JSON.stringify({ text }), mentions,
    },
  }, { ...(m.eventId ? { eventId: m.eventId } : {}), ...(m.token ? { token: m.token } : {}) });
}

export function cardAction(a: { openId: string; value: Record<string, string>; messageId: string; chatId: string; eventId?: string; formValue?: Record<string, unknown> }): Record<string, unknown> {
  return envelope('card.action.trigger', {
    operator: { open_id: a.openId, tenant_key: 'tenant_test' },
    token: `c-${randomUUID()}`,
    action: { value: a.value, tag: 'button', ...(a.formValue ? { form_value: a.formValue, name: `${a.value.a ?? ''}_button` } : {}) },
    host: 'im_message',
    context: { open_message_id: a.messageId, open_chat_id: a.chatId },
  }, a.eventId ? { eventId: a.eventId } : {});
}

export function menuEvent(openId: string, key: string): Record<string, unknown> {
  return envelope('application.bot.menu_v6', { operator: { operator_id: { open_id: openId } }, event_key: key, timestamp: Date.now() });
}

export function userDeleted(openId: string): Record<string, unknown> {
  return envelope('contact.user.deleted_v3', { object: { open_id: openId, name: '' } });
}

export function userResigned(openId: string): Record<string, unknown> {
  return envelope('contact.user.updated_v3', { object: { open_id: openId, status: { is_resigned: true } }, old_object: { status: { is_resigned: false } } });
}

export function urlVerification(challenge: string, token = VERIFICATION_TOKEN): Record<string, unknown> {
  return { challenge, token, type: 'url_verification' };
}
