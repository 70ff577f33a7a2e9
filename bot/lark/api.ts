// The few Open API calls the bot makes, over the real SDK client. Lark answers errors two ways: HTTP
// 200 with `code !== 0` (returned, not thrown) and HTTP 4xx/5xx with `{ code, msg }` (thrown as an
// AxiosError). Both become one LarkApiError carrying the numeric code, never Lark's message text.
import * as lark from '@larksuiteoapi/node-sdk';
import type { Logger } from '../logger.ts';
import type { LarkCard } from './cards.ts';
import { larkSdkLogger } from './sdk-logger.ts';

/** Codes on the card update / callback paths after which the card cannot be updated: send a new message. */
export const CARD_NOT_UPDATABLE = new Set([230054, 220340, 230011, 230031]);

/**
 * Lark's sending limits (about 5 messages/s to one chat, 50/s per app) answer with these codes; a send
 * is retried after a short pause (the approval flow sends a burst: cards, DMs, progress, the file).
 */
export const RATE_LIMITED = new Set([230020, 99991400]);
const RATE_LIMIT_PAUSES_MS = [300, 700, 1200];

export class LarkApiError extends Error {
  constructor(readonly api: string, readonly code: number, readonly httpStatus?: number) {
    super(`lark ${api} failed with code ${code}`);
    this.name = 'LarkApiError';
  }
}

export type ReceiveIdType = 'chat_id' | 'open_id';
export type LarkChatKind = { mode: 'p2p' | 'group' | 'topic' | string; private: boolean; external: boolean };
export interface LarkUser { email?: string; resigned: boolean }

export class LarkApi {
  constructor(readonly client: lark.Client) {}

  /** `logger` is required: without it the SDK prints whole error objects (request bodies: cards) to stdout. */
  static create(settings: { appId: string; appSecret: string; domain: string }, logger: Logger): LarkApi {
    // Never `disableTokenCache: true`: the SDK then sends no Authorization header at all (REFERENCE §3).
    // Each client gets its own token cache: the SDK's default cache is process-global and keyed by app
    // id only, so two clients of one app on different domains (tests, migrations) would share tokens.
    return new LarkApi(new lark.Client({
      appId: settings.appId, appSecret: settings.appSecret, domain: settings.domain,
      loggerLevel: lark.LoggerLevel.warn, cache: tokenCache(), logger: larkSdkLogger(logger),
    }));
  }

  async sendCard(receiveIdType: ReceiveIdType, receiveId: string, card: LarkCard, uuid?: string): Promise<string> {
    const res = await withRateLimitRetry(() => call('im.message.create', () => this.client.im.v1.message.create({
      params: { receive_id_type: receiveIdType },
      data: { receive_id: receiveId, msg_type: 'interactive', content: JSON.stringify(card), ...(uuid ? { uuid: uuid.slice(0, 50) } : {}) },
    })));
    return res.data?.message_id ?? '';
  }

  async replyCard(messageId: string, card: LarkCard, uuid?: string): Promise<string> {
    const res = await call('im.message.reply', () => this.client.im.v1.message.reply({
      path: { message_id: messageId },
      data: { msg_type: 'interactive', content: JSON.stringify(card), ...(uuid ? { uuid: uuid.slice(0, 50) } : {}) },
    }));
    return res.data?.message_id ?? '';
  }

  /** Cards are updated with `patch` (`update` edits only text and post messages). */
  async patchCard(messageId: string, card: LarkCard): Promise<void> {
    await withRateLimitRetry(() => call('im.message.patch', () => this.client.im.v1.message.patch({ path: { message_id: messageId }, data: { content: JSON.stringify(card) } })));
  }

  /**
   * Patches a card in place; when Lark says it cannot be updated any more (CARD_NOT_UPDATABLE: too old,
   * recalled, …) sends it to `openId` as a new message instead, so the reader still sees the outcome.
   * Other failures are thrown.
   */
  async patchOrResend(messageId: string, openId: string, card: LarkCard, uuid?: string): Promise<'patched' | 'resent'> {
    try {
      await this.patchCard(messageId, card);
      return 'patched';
    } catch (err) {
      if (!(err instanceof LarkApiError) || !CARD_NOT_UPDATABLE.has(err.code)) throw err;
      await this.sendCard('open_id', openId, card, uuid);
      return 'resent';
    }
  }

  /** Uploads a file (im.file.create, ≤ 30 MB) and sends it as a file message; returns its file key. */
  async sendFile(receiveIdType: ReceiveIdType, receiveId: string, fileName: string, content: Buffer, uuid?: string): Promise<string> {
    if (content.length > FILE_LIMIT_BYTES) throw new LarkApiError('im.file.create', FILE_TOO_LARGE);
    const up = await this.client.im.v1.file.create({ data: { file_type: 'stream', file_name: fileName, file: content } })
      .catch((err: unknown) => { throw asApiError('im.file.create', err); });
    const fileKey = up?.file_key;
    if (!fileKey) throw new LarkApiError('im.file.create', -1);
    await withRateLimitRetry(() => call('im.message.create', () => this.client.im.v1.message.create({
      params: { receive_id_type: receiveIdType },
      data: { receive_id: receiveId, msg_type: 'file', content: JSON.stringify({ file_key: fileKey }), ...(uuid ? { uuid: uuid.slice(0, 50) } : {}) },
    })));
    return fileKey;
  }

  async user(openId: string): Promise<LarkUser> {
    const res = await call('contact.user.get', () => this.client.contact.v3.user.get({ path: { user_id: openId }, params: { user_id_type: 'open_id' } }));
    const u = res.data?.user;
    const email = u?.enterprise_email || u?.email;
    return { ...(email ? { email } : {}), resigned: u?.status?.is_resigned === true };
  }

  async chat(chatId: string): Promise<LarkChatKind> {
    const res = await call('im.chat.get', () => this.client.im.v1.chat.get({ path: { chat_id: chatId } }));
    const d = res.data;
    return { mode: d?.chat_mode ?? 'group', private: d?.chat_type !== 'public', external: d?.external === true };
  }

  /** Every member's open_id, across pages. */
  async chatMembers(chatId: string): Promise<string[]> {
    const members: string[] = [];
    let pageToken: string | undefined;
    do {
      const res = await call('im.chatMembers.get', () => this.client.im.v1.chatMembers.get({
        path: { chat_id: chatId }, params: { member_id_type: 'open_id', page_size: 100, ...(pageToken ? { page_token: pageToken } : {}) },
      }));
      for (const m of res.data?.items ?? []) if (m.member_id) members.push(m.member_id);
      pageToken = res.data?.has_more ? res.data.page_token : undefined;
    } while (pageToken);
    return members;
  }
}

/** The SDK's Cache contract (`expire` is an absolute time in ms), in memory, for one client. */
function tokenCache(): lark.Cache {
  const entries = new Map<string, { value: unknown; expire?: number }>();
  const k = (key: string | symbol, ns?: string) => `${ns ?? ''}|${String(key)}`;
  return {
    set: async (key, value, expire, options) => { entries.set(k(key as string | symbol, options?.namespace), { value, ...(expire ? { expire } : {}) }); return true; },
    get: async (key, options) => {
      const e = entries.get(k(key as string | symbol, options?.namespace));
      return e && (e.expire === undefined || e.expire > Date.now()) ? e.value : undefined;
    },
  };
}

/** im.file.create takes files up to 30 MB (larger: code 234006); checked before uploading anything. */
export const FILE_LIMIT_BYTES = 30 * 1024 * 1024;
export const FILE_TOO_LARGE = 234006;

async function withRateLimitRetry<T>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      const pause = RATE_LIMIT_PAUSES_MS[attempt];
      if (!(err instanceof LarkApiError) || !RATE_LIMITED.has(err.code) || pause === undefined) throw err;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

async function call<T extends { code?: number } | null | undefined>(api: string, fn: () => Promise<T>): Promise<NonNullable<T>> {
  let res: T;
  try {
    res = await fn();
  } catch (err) {
    throw asApiError(api, err);
  }
  if (!res || res.code !== 0) throw new LarkApiError(api, res?.code ?? -1);
  return res as NonNullable<T>;
}

function asApiError(api: string, err: unknown): LarkApiError {
  if (err instanceof LarkApiError) return err;
  const response = (err as { response?: { status?: number; data?: { code?: unknown } } }).response;
  const code = typeof response?.data?.code === 'number' ? response.data.code : -1;
  return new LarkApiError(api, code, response?.status);
}
