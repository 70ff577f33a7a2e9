// The WeCom server API custos uses, over fetch: `gettoken` (cached until shortly before `expires_in`,
// fetched again once when WeCom says the token expired or is invalid), application messages
// (`message/send`: text, template cards, files), the one update a button card allows
// (`message/update_template_card` with a response_code), files (`media/upload?type=file`, multipart
// field `media`, then a `file` message by media_id) and the contact API (`user/get`).
// WeCom answers HTTP 200 with `errcode`; anything but 0 is thrown as WeComApiError with that code.
import { randomBytes } from 'node:crypto';
import { OpenApiClient, type RawBody, type TokenPlace } from '../http/open-api.ts';
import type { Logger } from '../logger.ts';
import type { WeComConfig } from './config.ts';
import type { TemplateCard } from './render.ts';

export class WeComApiError extends Error {
  constructor(readonly api: string, readonly code: number) {
    super(`wecom ${api} failed with errcode ${code}`);
    this.name = 'WeComApiError';
  }
}

/** 40014 invalid access_token, 42001 access_token expired: fetch a new one and retry once. */
const TOKEN_ERRORS = new Set([40014, 42001]);

type Reply = Record<string, unknown> & { errcode?: number };
type Body = Record<string, unknown> | RawBody;

/** media/upload takes a file of more than 5 bytes and at most 20 MB; 40006 (invalid size) is WeCom's code for both. */
export const FILE_BYTES = { min: 6, max: 20 * 1024 * 1024 } as const;

export interface WeComUser { userid: string; email?: string; bizMail?: string; status?: number }

export class WeComApi {
  private readonly client: OpenApiClient;

  constructor(private readonly cfg: Pick<WeComConfig, 'corpId' | 'secret' | 'agentId' | 'apiUrl'>, private readonly logger: Logger, now: () => number = Date.now) {
    this.client = new OpenApiClient(() => this.buyToken(), now);
  }

  async sendText(userId: string, content: string): Promise<{ msgid: string }> {
    const r = await this.call('message/send', { touser: userId, msgtype: 'text', agentid: this.cfg.agentId, text: { content } });
    return { msgid: String(r.msgid ?? '') };
  }

  /** A button card, and the response_code WeCom returns for it (one update, as a click's code allows). */
  async sendCard(userId: string, card: TemplateCard): Promise<{ msgid: string; responseCode?: string }> {
    const r = await this.call('message/send', { touser: userId, msgtype: 'template_card', agentid: this.cfg.agentId, template_card: card });
    return { msgid: String(r.msgid ?? ''), ...(typeof r.response_code === 'string' && r.response_code ? { responseCode: r.response_code } : {}) };
  }

  /** Temporary media (3 days) sent at once as a `safe: 1` file (保密: watermarked, not forwardable); a size WeCom refuses never leaves. */
  async sendFile(userId: string, filename: string, bytes: Buffer): Promise<{ msgid: string; mediaId: string }> {
    if (bytes.length < FILE_BYTES.min || bytes.length > FILE_BYTES.max) throw new WeComApiError('media/upload', 40006);
    const up = await this.call('media/upload', multipart(filename, bytes), { type: 'file' });
    const mediaId = String(up.media_id ?? '');
    const r = await this.call('message/send', { touser: userId, msgtype: 'file', agentid: this.cfg.agentId, file: { media_id: mediaId }, safe: 1 });
    return { msgid: String(r.msgid ?? ''), mediaId };
  }

  /** The single permitted update of a clicked card: its buttons replaced by one label stating the outcome. */
  async finishCard(userId: string, responseCode: string, label: string): Promise<void> {
    await this.call('message/update_template_card', { userids: [userId], agentid: this.cfg.agentId, response_code: responseCode, button: { replace_name: label } });
  }

  async user(userId: string): Promise<WeComUser> {
    const r = await this.call('user/get', undefined, { userid: userId });
    const s = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
    const email = s(r.email);
    const bizMail = s(r.biz_mail);
    return { userid: userId, ...(email ? { email } : {}), ...(bizMail ? { bizMail } : {}), ...(typeof r.status === 'number' ? { status: r.status } : {}) };
  }

  private async call(api: string, body: Body | undefined, query: Record<string, string> = {}, retried = false): Promise<Reply> {
    const r = await this.request(api, body, query, 'query');
    if (r.errcode && TOKEN_ERRORS.has(r.errcode) && !retried) {
      this.client.tokens.forget();
      return this.call(api, body, query, true);
    }
    if (r.errcode) throw new WeComApiError(api, r.errcode);
    return r;
  }

  private async buyToken(): Promise<{ value: string; ttlMs: number }> {
    const r = await this.request('gettoken', undefined, { corpid: this.cfg.corpId, corpsecret: this.cfg.secret }, 'none');
    if (r.errcode || typeof r.access_token !== 'string') throw new WeComApiError('gettoken', r.errcode ?? -1);
    return { value: r.access_token, ttlMs: typeof r.expires_in === 'number' ? r.expires_in * 1000 : 7_200_000 };
  }

  /** A GET without a body; an answer that is not JSON is -1, like a token answer without a token. */
  private async request(api: string, body: Body | undefined, query: Record<string, string>, token: TokenPlace): Promise<Reply> {
    const { ok, status, body: reply } = await this.client.request(body === undefined ? 'GET' : 'POST', `${this.cfg.apiUrl}/cgi-bin/${api}`, body, token, query);
    if (!ok) {
      this.logger.warn({ api, status }, 'wecom: API answered an HTTP error');
      throw new WeComApiError(api, -status);
    }
    if (!reply) throw new WeComApiError(api, -1);
    return reply as Reply;
  }
}

/** One part named `media` with the filename and filelength WeCom asks for (its name is what members see). */
function multipart(filename: string, bytes: Buffer): RawBody {
  const boundary = `custos${randomBytes(12).toString('hex')}`;
  const name = filename.replace(/["\r\n\\]/g, '_');
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="media"; filename="${name}"; filelength=${bytes.length}\r\nContent-Type: application/octet-stream\r\n\r\n`;
  return { bytes: Buffer.concat([Buffer.from(head), bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]), type: `multipart/form-data; boundary=${boundary}` };
}
