// A local fake of the WeCom (企业微信) server API (node:http) and a driver that sends WeCom's callbacks
// to custos the way WeCom does: the message as XML, AES-256-CBC encrypted with the EncodingAESKey
// (random(16) + msg_len + msg + receiveid, via @wecom/crypto), wrapped in `<xml><Encrypt/></xml>` and
// signed with msg_signature = sha1(sorted token, timestamp, nonce, ciphertext) in the query.
// The fake serves gettoken, message/send (text, template_card, file), message/update_template_card,
// media/upload and user/get; records every call; and refuses what WeCom refuses: an upload that is not
// multipart with one `media` part carrying a filename, or of 5 bytes or less or over 20 MB (40006); a
// file message whose media_id is unknown or older than 3 days (40007); a wrong secret (40001), a missing or
// unknown access token (41001 / 40014), an expired one (42001), a wrong agentid (40056), a card that
// breaks the documented shape (at most 6 buttons, keys ≤ 1024 bytes, task_id ≤ 128 bytes of
// [A-Za-z0-9_-@] and unique within the app; errcode 40058 is this fake's choice for "invalid
// parameter"), and a card update whose response_code is unknown, already used (one update only) or
// older than 72 hours. Text over 2048 bytes is cut, as WeCom does, and the cut is recorded.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encrypt, getSignature } from '@wecom/crypto';
import { Waiting } from './waiting.ts';

export interface FakeWeComUser { userid: string; email?: string }
export interface WeComCall { api: string; query: Record<string, string>; body: Record<string, unknown>; errcode: number; at: number }
export interface WeComMessage {
  msgid: string; touser: string; msgtype: 'text' | 'template_card' | 'file';
  text?: string; truncated?: boolean;
  /** A file message: its media (the uploaded bytes and name) and whether it was sent 保密 (safe: 1). */
  file?: { mediaId: string; filename: string; bytes: Buffer; safe: number };
  card?: { task_id: string; source?: { desc?: string }; main_title: { title: string }; sub_title_text?: string; button_list: { text: string; key: string; style?: number }[] };
  /** The update made through a click's response_code (at most one). */
  update?: Record<string, unknown>;
}

export const RESPONSE_CODE_TTL_MS = 72 * 3600_000;
/** Temporary media live 3 days; a file is more than 5 bytes and at most 20 MB (media/upload). */
export const MEDIA_TTL_MS = 3 * 24 * 3600_000;
export const MEDIA_FILE_MAX = 20 * 1024 * 1024;
const TEXT_LIMIT = 2048;
const TASK_ID = /^[A-Za-z0-9_\-@]{1,128}$/;

export class FakeWeComApi {
  readonly corpId = 'wwfake0123456789ab';
  readonly secret = 'fake-app-secret-0123456789';
  readonly agentId = 1000002;
  readonly calls: WeComCall[] = [];
  readonly messages: WeComMessage[] = [];
  /** The fake's clock (ms), for the 72-hour response_code limit and token expiry. */
  now: () => number = Date.now;
  tokenTtlSeconds = 7200;
  private readonly tokens = new Map<string, number>();
  private readonly users = new Map<string, FakeWeComUser>();
  private readonly taskIds = new Set<string>();
  private readonly codes = new Map<string, { msgid: string; userid: string; issued: number; used: boolean }>();
  /** Uploaded temporary media by media_id. */
  readonly media = new Map<string, { type: string; filename: string; bytes: Buffer; created: number }>();
  private readonly waiting = new Waiting('fake WeCom');
  private server: Server | undefined;
  url = '';

  constructor(users: FakeWeComUser[] = []) {
    for (const u of users) this.users.set(u.userid, u);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => { void this.route(req, res); });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => { if (this.server) this.server.close(() => resolve()); else resolve(); });
  }

  setUser(u: FakeWeComUser): void { this.users.set(u.userid, u); }
  /** Makes every issued token expired (42001 on next use). */
  expireTokens(): void { for (const k of this.tokens.keys()) this.tokens.set(k, 0); }

  sentTo(userid: string): WeComMessage[] { return this.messages.filter((m) => m.touser === userid); }
  apiCalls(api: string): WeComCall[] { return this.calls.filter((c) => c.api === api); }

  async waitFor(pred: (m: WeComMessage) => boolean, timeoutMs = 60_000): Promise<WeComMessage> {
    let found: WeComMessage | undefined;
    await this.waiting.until(() => (found = this.messages.find(pred)) !== undefined, timeoutMs, 'matching message');
    return found!;
  }

  /** A click on a card's button as WeCom reports it: the event's fields, with a fresh response_code. */
  click(m: WeComMessage, key: string): Record<string, string> {
    const code = `rc-${randomUUID()}`;
    this.codes.set(code, { msgid: m.msgid, userid: m.touser, issued: this.now(), used: false });
    return { MsgType: 'event', Event: 'template_card_event', FromUserName: m.touser, CreateTime: String(Math.floor(this.now() / 1000)),
      EventKey: key, TaskId: m.card?.task_id ?? '', CardType: 'button_interaction', ResponseCode: code, AgentID: String(this.agentId) };
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const raw = await readAll(req);
    if (url.pathname === '/cgi-bin/media/upload') {
      const tokenError = this.checkToken(query.access_token);
      const reply = tokenError ? { errcode: tokenError, errmsg: 'access_token' } : this.upload(query.type, req.headers['content-type'] ?? '', raw);
      return this.answer(res, 'media/upload', query, { bytes: raw.length }, reply);
    }
    let body: Record<string, unknown>;
    try { body = raw.length ? JSON.parse(raw.toString('utf8')) as Record<string, unknown> : {}; } catch { return this.answer(res, 'bad-json', query, {}, { errcode: 47001, errmsg: 'data format error' }); }
    const api = url.pathname.replace(/^\/cgi-bin\//, '');
    if (api === 'gettoken') return this.answer(res, api, query, body, this.getToken(query));
    const tokenError = this.checkToken(query.access_token);
    if (tokenError) return this.answer(res, api, query, body, { errcode: tokenError, errmsg: 'access_token' });
    switch (api) {
      case 'message/send': return this.answer(res, api, query, body, this.send(body));
      case 'message/update_template_card': return this.answer(res, api, query, body, this.update(body));
      case 'user/get': {
        const u = this.users.get(query.userid ?? '');
        return this.answer(res, api, query, body, u ? { errcode: 0, errmsg: 'ok', userid: u.userid, status: 1, ...(u.email ? { email: u.email } : {}) } : { errcode: 60111, errmsg: 'userid not found' });
      }
      default: return this.answer(res, api, query, body, { errcode: 404, errmsg: 'unknown api' }, 404);
    }
  }

  private getToken(q: Record<string, string>): Record<string, unknown> {
    if (q.corpid !== this.corpId) return { errcode: 40013, errmsg: 'invalid corpid' };
    if (q.corpsecret !== this.secret) return { errcode: 40001, errmsg: 'invalid credential' };
    const token = randomBytes(24).toString('hex');
    this.tokens.set(token, this.now() + this.tokenTtlSeconds * 1000);
    return { errcode: 0, errmsg: 'ok', access_token: token, expires_in: this.tokenTtlSeconds };
  }

  private checkToken(token: string | undefined): number {
    if (!token) return 41001;
    const until = this.tokens.get(token);
    if (until === undefined) return 40014;
    return until <= this.now() ? 42001 : 0;
  }

  private send(b: Record<string, unknown>): Record<string, unknown> {
    if (b.agentid !== this.agentId) return { errcode: 40056, errmsg: 'invalid agentid' };
    const touser = typeof b.touser === 'string' ? b.touser : '';
    if (!this.users.has(touser)) return { errcode: 81013, errmsg: 'user & party & tag all invalid', invaliduser: touser };
    const msgid = `msg-${randomUUID()}`;
    if (b.msgtype === 'text') {
      const content = (b.text as { content?: unknown } | undefined)?.content;
      if (typeof content !== 'string' || content === '') return { errcode: 44004, errmsg: 'empty content' };
      const bytes = Buffer.from(content);
      const truncated = bytes.length > TEXT_LIMIT;
      this.push({ msgid, touser, msgtype: 'text', text: truncated ? bytes.subarray(0, TEXT_LIMIT).toString('utf8') : content, ...(truncated ? { truncated } : {}) });
      return { errcode: 0, errmsg: 'ok', msgid };
    }
    if (b.msgtype === 'template_card') {
      const card = b.template_card as WeComMessage['card'] & { card_type?: string };
      const problem = cardProblem(card, this.taskIds);
      if (problem) return { errcode: 40058, errmsg: problem };
      this.taskIds.add(card!.task_id);
      this.push({ msgid, touser, msgtype: 'template_card', card: card! });
      // The send's own code allows one update too (update_template_card's docs), within the same 72 hours.
      const code = `send-${randomUUID()}`;
      this.codes.set(code, { msgid, userid: touser, issued: this.now(), used: false });
      return { errcode: 0, errmsg: 'ok', msgid, response_code: code };
    }
    if (b.msgtype === 'file') {
      const mediaId = (b.file as { media_id?: unknown } | undefined)?.media_id;
      const media = typeof mediaId === 'string' ? this.media.get(mediaId) : undefined;
      if (!media || media.type !== 'file' || this.now() - media.created > MEDIA_TTL_MS) return { errcode: 40007, errmsg: 'invalid media_id' };
      this.push({ msgid, touser, msgtype: 'file', file: { mediaId: mediaId as string, filename: media.filename, bytes: media.bytes, safe: Number(b.safe ?? 0) } });
      return { errcode: 0, errmsg: 'ok', msgid };
    }
    return { errcode: 40008, errmsg: 'invalid message type' };
  }

  /** media/upload: multipart/form-data with one part named `media` that has a filename (what members see). */
  private upload(type: string | undefined, contentType: string, raw: Buffer): Record<string, unknown> {
    if (!['image', 'voice', 'video', 'file'].includes(type ?? '')) return { errcode: 40004, errmsg: 'invalid media type' };
    const part = mediaPart(contentType, raw);
    if (!part) return { errcode: 41005, errmsg: 'media data missing' };
    if (part.bytes.length <= 5 || (type === 'file' && part.bytes.length > MEDIA_FILE_MAX)) return { errcode: 40006, errmsg: 'invalid file size' };
    const mediaId = `media-${randomUUID()}`;
    const created = this.now();
    this.media.set(mediaId, { type: type!, filename: part.filename, bytes: part.bytes, created });
    return { errcode: 0, errmsg: 'ok', type, media_id: mediaId, created_at: String(Math.floor(created / 1000)) };
  }

  private update(b: Record<string, unknown>): Record<string, unknown> {
    if (b.agentid !== this.agentId) return { errcode: 40056, errmsg: 'invalid agentid' };
    const code = this.codes.get(typeof b.response_code === 'string' ? b.response_code : '');
    if (!code) return { errcode: 40058, errmsg: 'invalid response_code' };
    if (code.used) return { errcode: 40058, errmsg: 'response_code already used' };
    if (this.now() - code.issued > RESPONSE_CODE_TTL_MS) return { errcode: 40058, errmsg: 'response_code expired' };
    const m = this.messages.find((x) => x.msgid === code.msgid)!;
    const replace = (b.button as { replace_name?: unknown } | undefined)?.replace_name;
    if (b.button && (typeof replace !== 'string' || replace === '' || chars(replace) > 10)) return { errcode: 40058, errmsg: 'button.replace_name' };
    code.used = true;
    m.update = b.button ? { button: b.button } : { template_card: b.template_card };
    this.waiting.wake();
    return { errcode: 0, errmsg: 'ok' };
  }

  private push(m: WeComMessage): void {
    this.messages.push(m);
    this.waiting.wake();
  }

  private answer(res: ServerResponse, api: string, query: Record<string, string>, body: Record<string, unknown>, reply: Record<string, unknown>, status = 200): void {
    const { access_token: _t, corpsecret: _s, ...safe } = query;
    this.calls.push({ api, query: safe, body, errcode: Number(reply.errcode ?? 0), at: this.now() });
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(reply));
  }
}

function cardProblem(card: (WeComMessage['card'] & { card_type?: string }) | undefined, taskIds: Set<string>): string | null {
  if (!card || card.card_type !== 'button_interaction') return 'card_type';
  // The documented lengths (message/send, 按钮交互型): title ≤ 26 characters, sub_title_text ≤ 112,
  // source.desc ≤ 13, button text ≤ 10. WeCom calls them 建议 (advised); custos keeps to them, so the fake refuses more.
  if (!card.main_title?.title || chars(card.main_title.title) > 26) return 'main_title.title';
  if (card.sub_title_text !== undefined && chars(card.sub_title_text) > 112) return 'sub_title_text';
  if (card.source?.desc !== undefined && chars(card.source.desc) > 13) return 'source.desc';
  if (typeof card.task_id !== 'string' || !TASK_ID.test(card.task_id)) return 'task_id';
  if (taskIds.has(card.task_id)) return 'task_id repeated';
  const buttons = card.button_list;
  if (!Array.isArray(buttons) || buttons.length < 1 || buttons.length > 6) return 'button_list';
  if (buttons.some((x) => !x.text || chars(x.text) > 10 || typeof x.key !== 'string' || x.key === '' || Buffer.byteLength(x.key) > 1024)) return 'button';
  if (new Set(buttons.map((x) => x.key)).size !== buttons.length) return 'button key repeated';
  return null;
}

/** The `media` part of a multipart body: its filename and bytes; null when the shape is not WeCom's. */
function mediaPart(contentType: string, raw: Buffer): { filename: string; bytes: Buffer } | null {
  const boundary = /^multipart\/form-data;\s*boundary=("?)([^";]+)\1$/i.exec(contentType.trim())?.[2];
  if (!boundary) return null;
  const delimiter = Buffer.from(`--${boundary}`);
  const start = raw.indexOf(delimiter);
  const headEnd = raw.indexOf('\r\n\r\n', start);
  const end = raw.indexOf(Buffer.from(`\r\n--${boundary}`), headEnd);
  if (start !== 0 || headEnd < 0 || end < 0) return null;
  const head = raw.subarray(start + delimiter.length, headEnd).toString('utf8');
  const disposition = /content-disposition:\s*form-data;([^\r\n]*)/i.exec(head)?.[1] ?? '';
  const filename = /filename="([^"]+)"/.exec(disposition)?.[1];
  if (!/\bname="media"/.test(disposition) || !filename) return null;
  return { filename, bytes: Buffer.from(raw.subarray(headEnd + 4, end)) };
}

function chars(s: string): number {
  return Array.from(s).length;
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

// ---- the callback driver -----------------------------------------------------------------------------

export interface SignOptions {
  token?: string; aesKey?: string; receiveId?: string; timestampSeconds?: number; nonce?: string;
  /** Changes the signed request after signing (tampering). */
  tamper?: (r: { query: Record<string, string>; body: string }) => void;
}

/** A message as WeCom's plaintext XML: every field in CDATA except the numeric ones. */
export function messageXml(fields: Record<string, string>): string {
  const numeric = new Set(['CreateTime', 'AgentID', 'MsgId']);
  return `<xml>${Object.entries(fields).map(([k, v]) => (numeric.has(k) ? `<${k}>${v}</${k}>` : `<${k}><![CDATA[${v}]]></${k}>`)).join('')}</xml>`;
}

export class WeComCallbackDriver {
  constructor(readonly opts: { url: string; token: string; aesKey: string; corpId: string; agentId: number; now?: () => number }) {}

  /** The signed query and envelope for `plaintext`, as WeCom would POST it. */
  sign(plaintext: string, o: SignOptions = {}): { query: Record<string, string>; body: string } {
    const ciphertext = encrypt(o.aesKey ?? this.opts.aesKey, plaintext, o.receiveId ?? this.opts.corpId);
    const timestamp = String(o.timestampSeconds ?? Math.floor((this.opts.now ?? Date.now)() / 1000));
    const nonce = o.nonce ?? String(Math.floor(Math.random() * 1e9));
    const query = { msg_signature: getSignature(o.token ?? this.opts.token, timestamp, nonce, ciphertext), timestamp, nonce };
    const body = `<xml><ToUserName><![CDATA[${this.opts.corpId}]]></ToUserName><AgentID><![CDATA[${this.opts.agentId}]]></AgentID><Encrypt><![CDATA[${ciphertext}]]></Encrypt></xml>`;
    const r = { query, body };
    o.tamper?.(r);
    return r;
  }

  async post(r: { query: Record<string, string>; body: string }): Promise<{ status: number; text: string }> {
    const res = await fetch(`${this.opts.url}?${new URLSearchParams(r.query).toString()}`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: r.body });
    return { status: res.status, text: await res.text() };
  }

  /** Sends the message `fields` (ToUserName and AgentID added) encrypted and signed. */
  send(fields: Record<string, string>, o: SignOptions = {}): Promise<{ status: number; text: string }> {
    return this.post(this.sign(messageXml({ ToUserName: this.opts.corpId, ...fields, AgentID: fields.AgentID ?? String(this.opts.agentId) }), o));
  }

  /** The URL check WeCom makes when the callback URL is saved. */
  async verifyUrl(echo: string, o: SignOptions = {}): Promise<{ status: number; text: string }> {
    const ciphertext = encrypt(o.aesKey ?? this.opts.aesKey, echo, o.receiveId ?? this.opts.corpId);
    const timestamp = String(o.timestampSeconds ?? Math.floor((this.opts.now ?? Date.now)() / 1000));
    const nonce = o.nonce ?? '1372623149';
    const q = { msg_signature: getSignature(o.token ?? this.opts.token, timestamp, nonce, ciphertext), timestamp, nonce, echostr: ciphertext };
    const res = await fetch(`${this.opts.url}?${new URLSearchParams(q).toString()}`);
    return { status: res.status, text: await res.text() };
  }
}
