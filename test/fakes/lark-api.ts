// A local fake of the Lark / Feishu Open API (node:http) for tests. The real SDK client talks to it via
// `domain: 'http://127.0.0.1:<port>'`. It serves the tenant token, messages (create / reply / patch),
// file upload, the contact API and chats, records every call, and refuses what Lark refuses:
// missing or wrong bearer tokens, card JSON 2.0 with unknown fields, the 1.0 `action` module, buttons
// without `behaviors`, cards without `config.update_multi: true`, cards over 30 KB (code 230099,
// HTTP 400), text messages over 150 KB (230025), uploads over 30 MB or empty (234006 / 234010), and
// more than `rateLimits` messages per second to one chat (230020) or from the app (99991400, HTTP 429).
// Form containers are checked as Lark does: named, at the card's root, inputs named, a submit button.
// Tests can make patches fail with a chosen code (230054, 220340, …). With `longConnection` it also
// serves `POST /callback/ws/endpoint`, where the SDK's WSClient asks for its WebSocket URL
// (test/fakes/lark-ws.ts is the socket behind it).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeLarkUser { openId: string; email?: string; resigned?: boolean }
export interface FakeLarkChat { chatId: string; mode: 'p2p' | 'group'; type?: 'private' | 'public'; external?: boolean; members: string[] }

/** What the long-connection endpoint answers: a URL and client config, or an error code. */
export type WsEndpoint = { url: string; clientConfig: Record<string, number> } | { code: number; msg: string };

export interface LarkCall {
  api: string; // e.g. im.message.create
  path: string;
  query: Record<string, string>;
  body: Record<string, unknown>;
  ok: boolean;
  code: number;
  error?: string;
  at: number;
}

export interface SentMessage {
  messageId: string;
  receiveIdType: string;
  receiveId: string; // chat id or open id as sent
  msgType: string;
  card?: Record<string, unknown>;
  fileKey?: string;
  uuid?: string;
  replyTo?: string;
  patches: Record<string, unknown>[];
  /** When the fake received it (Date.now()). */
  at: number;
}

const CARD_LIMIT_BYTES = 30 * 1024;
const TEXT_LIMIT_BYTES = 150 * 1024;
const FILE_LIMIT_BYTES = 30 * 1024 * 1024;

export class FakeLarkApi {
  readonly calls: LarkCall[] = [];
  readonly messages = new Map<string, SentMessage>();
  readonly files = new Map<string, { name: string; bytes: Buffer }>();
  /** The SDK's WSClient refuses to start unless the app id looks real (`cli_` + 16 hex digits). */
  readonly appId: string;
  readonly appSecret = 'test-app-secret-0123456789';
  private readonly token = `t-${randomUUID()}`;
  private readonly users = new Map<string, FakeLarkUser>();
  private readonly chats = new Map<string, FakeLarkChat>();
  private server: Server | undefined;
  private base = '';
  private counter = 0;
  private patchFailures: number[] = [];
  private waiters: { pred: (m: SentMessage) => boolean; resolve: (m: SentMessage) => void }[] = [];
  membersPageSize = 3;
  /** Lark's sending limits (REFERENCE §3): messages per second to one chat / from the whole app. */
  rateLimits = { perChat: 5, perApp: 50 };
  private readonly sendTimes: { receiveId: string; at: number }[] = [];
  /** Sends still to be refused per chat whatever their timing (a loaded machine may space them out). */
  private readonly overLimit = new Map<string, number>();
  private wsEndpoint: (() => WsEndpoint) | undefined;
  private readonly toHold = new Map<string, number>();
  /** Calls read and never answered (`holdNext`), by API name, in order. */
  readonly held: string[] = [];

  constructor(opts: { users?: FakeLarkUser[]; chats?: FakeLarkChat[]; appId?: string } = {}) {
    this.appId = opts.appId ?? 'cli_testapp0001';
    for (const u of opts.users ?? []) this.users.set(u.openId, u);
    for (const c of opts.chats ?? []) this.chats.set(c.chatId, c);
  }

  get domain(): string { return this.base; }
  addChat(chat: FakeLarkChat): void { this.chats.set(chat.chatId, chat); }
  setUser(user: FakeLarkUser): void { this.users.set(user.openId, user); }
  /**
   * Serves the long-connection endpoint (`POST /callback/ws/endpoint`, body `{AppID, AppSecret}`): with
   * this app's credentials it answers `{URL, ClientConfig}` from `endpoint`; other credentials get the
   * SDK's `auth_failed` code (514), which the WSClient treats as final. `endpoint` may answer an error
   * code itself (an outage: 1000040343, which the WSClient retries).
   */
  longConnection(endpoint: () => WsEndpoint): void { this.wsEndpoint = endpoint; }
  /**
   * The next `count` calls to `api` are read and never answered nor carried out: a network that loses
   * them. The caller waits until its own timeout, or dies meanwhile (a bot killed mid-answer).
   */
  holdNext(api: string, count = 1): void { this.toHold.set(api, (this.toHold.get(api) ?? 0) + count); }
  /** The next `codes.length` patches fail with these codes (HTTP 400), in order. */
  failNextPatches(...codes: number[]): void { this.patchFailures.push(...codes); }

  async start(): Promise<void> {
    this.server = createServer((req, res) => { void this.handle(req, res); });
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  callsOf(api: string): LarkCall[] { return this.calls.filter((c) => c.api === api); }
  sent(): SentMessage[] { return [...this.messages.values()]; }

  /** Messages sent to a chat or user (by the id they were sent to), in order. */
  sentTo(receiveId: string): SentMessage[] { return this.sent().filter((m) => m.receiveId === receiveId); }

  /** Resolves with the first message (already sent or arriving later) that satisfies `pred`. */
  waitFor(pred: (m: SentMessage) => boolean, timeoutMs = 60_000): Promise<SentMessage> {
    const found = this.sent().find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = { pred, resolve: (m: SentMessage) => { clearTimeout(timer); resolve(m); } };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no matching Lark message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    const query = Object.fromEntries(url.searchParams.entries());
    const raw = await readAll(req);
    const isJson = (req.headers['content-type'] ?? '').includes('json');
    let body: Record<string, unknown> = {};
    if (isJson && raw.length) {
      try { body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>; } catch { return this.answer(res, 'bad.json', url.pathname, query, {}, 400, 9499, 'invalid json'); }
    }
    const route = this.route(req.method ?? 'GET', url.pathname);
    if (!route) return this.answer(res, 'unknown', url.pathname, query, body, 404, 404, 'not found');
    // The token call and the long-connection endpoint authenticate with the app id and secret in the body.
    if (route.api !== 'auth.tenant_access_token' && route.api !== 'ws.endpoint' && req.headers.authorization !== `Bearer ${this.token}`) {
      return this.answer(res, route.api, url.pathname, query, body, 400, 99991663, 'invalid access token');
    }
    const hold = this.toHold.get(route.api) ?? 0;
    if (hold > 0) {
      this.toHold.set(route.api, hold - 1);
      this.held.push(route.api);
      return;
    }
    const out = route.run({ body, query, raw, contentType: req.headers['content-type'] ?? '' }, route.params);
    return this.answer(res, route.api, url.pathname, query, body, out.status ?? (out.code === 0 ? 200 : 400), out.code, out.msg, out.data, out.extra);
  }

  private answer(res: ServerResponse, api: string, path: string, query: Record<string, string>, body: Record<string, unknown>, status: number, code: number, msg?: string, data?: unknown, extra?: Record<string, unknown>): void {
    this.calls.push({ api, path, query, body, ok: code === 0, code, ...(code !== 0 && msg ? { error: msg } : {}), at: Date.now() });
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code, msg: msg ?? 'success', ...(data !== undefined ? { data } : {}), ...(extra ?? {}) }));
  }

  private route(method: string, path: string): { api: string; params: string[]; run: RouteFn } | undefined {
    const table: [string, RegExp, string, RouteFn][] = [
      ['POST', /^\/open-apis\/auth\/v3\/tenant_access_token\/internal$/, 'auth.tenant_access_token', (r) => this.tenantToken(r.body)],
      ['POST', /^\/callback\/ws\/endpoint$/, 'ws.endpoint', (r) => this.endpoint(r.body)],
      ['POST', /^\/open-apis\/im\/v1\/messages$/, 'im.message.create', (r) => this.create(r.body, r.query)],
      ['POST', /^\/open-apis\/im\/v1\/messages\/([^/]+)\/reply$/, 'im.message.reply', (r, p) => this.create(r.body, { receive_id_type: 'reply' }, p[0])],
      ['PATCH', /^\/open-apis\/im\/v1\/messages\/([^/]+)$/, 'im.message.patch', (r, p) => this.patch(p[0]!, r.body)],
      ['POST', /^\/open-apis\/im\/v1\/files$/, 'im.file.create', (r) => this.upload(r.raw, r.contentType)],
      ['GET', /^\/open-apis\/contact\/v3\/users\/([^/]+)$/, 'contact.user.get', (r, p) => this.user(p[0]!, r.query)],
      ['GET', /^\/open-apis\/im\/v1\/chats\/([^/]+)$/, 'im.chat.get', (_r, p) => this.chat(p[0]!)],
      ['GET', /^\/open-apis\/im\/v1\/chats\/([^/]+)\/members$/, 'im.chatMembers.get', (r, p) => this.members(p[0]!, r.query)],
    ];
    for (const [m, re, api, run] of table) {
      const match = m === method ? re.exec(path) : null;
      if (match) return { api, params: match.slice(1).map(decodeURIComponent), run };
    }
    return undefined;
  }

  private tenantToken(body: Record<string, unknown>): Outcome {
    if (body.app_id !== this.appId || body.app_secret !== this.appSecret) return { code: 10014, msg: 'app secret invalid' };
    return { code: 0, extra: { tenant_access_token: this.token, expire: 7200 } };
  }

  private endpoint(body: Record<string, unknown>): Outcome {
    // Refusals come as HTTP 200 with `data: {}`: the WSClient reads the code only from a 2xx body (axios
    // throws on others) and destructures data.URL first; otherwise it takes every refusal for a network
    // error and retries forever, so its codes (514 final, 1000040343 retried) would be unreachable.
    const refuse = (code: number, msg: string): Outcome => ({ code, msg, data: {}, status: 200 });
    if (!this.wsEndpoint) return refuse(403, 'long connection not enabled for this app');
    if (body.AppID !== this.appId || body.AppSecret !== this.appSecret) return refuse(514, 'auth failed');
    const answer = this.wsEndpoint();
    if ('code' in answer) return refuse(answer.code, answer.msg);
    return { code: 0, data: { URL: answer.url, ClientConfig: answer.clientConfig } };
  }

  private create(body: Record<string, unknown>, query: Record<string, string>, replyTo?: string): Outcome {
    const receiveIdType = query.receive_id_type ?? '';
    if (!replyTo && !['open_id', 'chat_id', 'user_id', 'union_id', 'email'].includes(receiveIdType)) return { code: 230001, msg: 'invalid receive_id_type' };
    const receiveId = replyTo ? (this.messages.get(replyTo)?.receiveId ?? '') : String(body.receive_id ?? '');
    if (!replyTo && receiveIdType === 'chat_id' && !this.chats.has(receiveId)) return { code: 230002, msg: 'bot not in chat' };
    if (!replyTo && receiveIdType === 'open_id' && !this.users.has(receiveId)) return { code: 230013, msg: 'user not in the bot\'s availability' };
    if (replyTo && !this.messages.has(replyTo)) return { code: 230011, msg: 'message not found' };
    const limited = this.rateLimited(receiveId);
    if (limited) return limited;
    const msgType = String(body.msg_type ?? '');
    if (msgType === 'text' && String(body.content).length > TEXT_LIMIT_BYTES) return { code: 230025, msg: 'message content too long' };
    const content = parseContent(body.content);
    if (!content) return { code: 230001, msg: 'content is not a JSON string' };
    let card: Record<string, unknown> | undefined;
    let fileKey: string | undefined;
    if (msgType === 'interactive') {
      const problem = cardProblem(content, String(body.content).length);
      if (problem) return { code: 230099, msg: `Failed to create card content: ${problem}` };
      card = content;
    } else if (msgType === 'file') {
      fileKey = String(content.file_key ?? '');
      if (!this.files.has(fileKey)) return { code: 234003, msg: 'file_key not found' };
    } else if (msgType !== 'text') {
      return { code: 230001, msg: `unsupported msg_type in fake: ${msgType}` };
    }
    const uuid = typeof body.uuid === 'string' ? body.uuid : undefined;
    const messageId = `om_${++this.counter}`;
    const msg: SentMessage = { messageId, receiveIdType: replyTo ? 'reply' : receiveIdType, receiveId, msgType, ...(card ? { card } : {}), ...(fileKey ? { fileKey } : {}), ...(uuid ? { uuid } : {}), ...(replyTo ? { replyTo } : {}), patches: [], at: Date.now() };
    this.messages.set(messageId, msg);
    this.notify(msg);
    return { code: 0, data: { message_id: messageId, msg_type: msgType } };
  }

  /** Counts a send; the code Lark would answer when over a limit within the last second. */
  private rateLimited(receiveId: string): Outcome | undefined {
    const forced = this.overLimit.get(receiveId) ?? 0;
    if (forced > 0) {
      this.overLimit.set(receiveId, forced - 1);
      return { code: 230020, msg: 'message rate limit for this chat' };
    }
    const now = Date.now();
    while (this.sendTimes.length && this.sendTimes[0]!.at <= now - 1000) this.sendTimes.shift();
    if (this.sendTimes.length >= this.rateLimits.perApp) return { code: 99991400, msg: 'request trigger frequency limit', status: 429 };
    if (this.sendTimes.filter((t) => t.receiveId === receiveId).length >= this.rateLimits.perChat) return { code: 230020, msg: 'message rate limit for this chat' };
    this.sendTimes.push({ receiveId, at: now });
    return undefined;
  }

  /** The next `n` sends to `receiveId` are answered 230020, as when that chat is over its limit. */
  refuseChatSends(receiveId: string, n: number): void { this.overLimit.set(receiveId, n); }

  /** Messages the app was refused for its sending rate (tests check the bot retried them). */
  rateLimitedCalls(): LarkCall[] { return this.calls.filter((c) => c.code === 230020 || c.code === 99991400); }

  private patch(messageId: string, body: Record<string, unknown>): Outcome {
    const msg = this.messages.get(messageId);
    const failure = this.patchFailures.shift();
    if (failure !== undefined) return { code: failure, msg: 'card cannot be updated (injected)' };
    if (!msg) return { code: 230011, msg: 'message not found' };
    if (msg.msgType !== 'interactive' || !msg.card) return { code: 230001, msg: 'only cards can be patched' };
    if ((msg.card.config as Record<string, unknown> | undefined)?.update_multi !== true) return { code: 230001, msg: 'the sent card lacks update_multi' };
    const content = parseContent(body.content);
    if (!content) return { code: 230001, msg: 'content is not a JSON string' };
    const problem = cardProblem(content, String(body.content).length);
    if (problem) return { code: 230099, msg: `Failed to create card content: ${problem}` };
    msg.patches.push(content);
    msg.card = content;
    this.notify(msg);
    return { code: 0, data: {} };
  }

  private upload(raw: Buffer, contentType: string): Outcome {
    const boundary = /boundary=(.+)$/.exec(contentType)?.[1];
    if (!boundary) return { code: 234001, msg: 'multipart body expected' };
    const text = raw.toString('latin1');
    const name = /name="file_name"\r\n\r\n([^\r]*)/.exec(text)?.[1];
    const fileStart = text.indexOf('\r\n\r\n', text.indexOf('name="file"'));
    const fileEnd = text.indexOf(`\r\n--${boundary}`, fileStart);
    if (!name || fileStart < 0 || fileEnd < 0) return { code: 234001, msg: 'file or file_name missing' };
    const bytes = raw.subarray(fileStart + 4, fileEnd);
    if (bytes.length === 0) return { code: 234010, msg: 'file is empty' };
    if (bytes.length > FILE_LIMIT_BYTES) return { code: 234006, msg: 'file size exceeds the limit' };
    const fileKey = `file_${++this.counter}`;
    this.files.set(fileKey, { name: Buffer.from(name, 'latin1').toString('utf8'), bytes });
    return { code: 0, data: { file_key: fileKey } };
  }

  private user(openId: string, query: Record<string, string>): Outcome {
    if (query.user_id_type !== 'open_id') return { code: 41012, msg: 'user_id_type must be open_id in the fake' };
    const u = this.users.get(openId);
    if (!u) return { code: 41050, msg: 'no user authority error' };
    return { code: 0, data: { user: { open_id: u.openId, ...(u.email ? { enterprise_email: u.email } : {}), status: { is_resigned: u.resigned === true, is_activated: true } } } };
  }

  private chat(chatId: string): Outcome {
    const c = this.chats.get(chatId);
    if (!c) return { code: 232011, msg: 'bot not in chat' };
    return { code: 0, data: { chat_id: c.chatId, chat_mode: c.mode, chat_type: c.type ?? 'private', external: c.external === true } };
  }

  private members(chatId: string, query: Record<string, string>): Outcome {
    const c = this.chats.get(chatId);
    if (!c) return { code: 232011, msg: 'bot not in chat' };
    if (query.member_id_type !== 'open_id') return { code: 232001, msg: 'member_id_type must be open_id in the fake' };
    const start = Number(query.page_token ?? '0');
    const size = Math.min(Number(query.page_size ?? '20'), this.membersPageSize);
    const page = c.members.slice(start, start + size);
    const more = start + size < c.members.length;
    return { code: 0, data: { items: page.map((m) => ({ member_id: m, member_id_type: 'open_id' })), has_more: more, ...(more ? { page_token: String(start + size) } : {}), member_total: c.members.length } };
  }

  private notify(msg: SentMessage): void {
    const ready = this.waiters.filter((w) => w.pred(msg));
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve(msg);
  }
}

type RouteFn = (r: { body: Record<string, unknown>; query: Record<string, string>; raw: Buffer; contentType: string }, params: string[]) => Outcome;
interface Outcome { code: number; msg?: string; data?: unknown; status?: number; extra?: Record<string, unknown> }

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function parseContent(content: unknown): Record<string, unknown> | undefined {
  if (typeof content !== 'string') return undefined;
  try {
    const v: unknown = JSON.parse(content);
    return v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

// ---- card JSON 2.0 validation (the subset the bot may use; anything else is refused as unknown) ----

const TOP = ['schema', 'config', 'header', 'body', 'card_link'];
const CONFIG = ['update_multi', 'streaming_mode', 'streaming_config', 'summary', 'locales', 'enable_forward', 'width_mode', 'use_custom_translation', 'enable_forward_interaction', 'style'];
const HEADER = ['title', 'subtitle', 'text_tag_list', 'template', 'icon', 'padding'];
const BODY = ['direction', 'padding', 'horizontal_spacing', 'horizontal_align', 'vertical_spacing', 'vertical_align', 'elements'];
const TEXT = ['tag', 'content', 'text_size', 'text_align', 'text_color', 'lines'];
const ELEMENTS: Record<string, string[]> = {
  div: ['tag', 'element_id', 'margin', 'width', 'text', 'fields', 'icon'],
  markdown: ['tag', 'element_id', 'margin', 'content', 'text_align', 'text_size', 'icon'],
  hr: ['tag', 'element_id', 'margin'],
  button: ['tag', 'element_id', 'margin', 'type', 'size', 'width', 'text', 'icon', 'hover_tips', 'disabled', 'disabled_tips', 'confirm', 'behaviors', 'name', 'form_action_type'],
  form: ['tag', 'element_id', 'margin', 'name', 'elements', 'direction', 'padding', 'horizontal_spacing', 'vertical_spacing', 'horizontal_align', 'vertical_align', 'confirm'],
  input: ['tag', 'element_id', 'margin', 'name', 'required', 'disabled', 'placeholder', 'default_value', 'width', 'max_length', 'label', 'label_position', 'input_type', 'rows', 'auto_resize', 'max_rows', 'behaviors', 'confirm', 'fallback'],
  multi_select_static: ['tag', 'element_id', 'margin', 'type', 'name', 'required', 'disabled', 'placeholder', 'width', 'options', 'selected_values'],
};
const FORM_ONLY = ['input', 'multi_select_static'];
const BUTTON_TYPES = ['default', 'primary', 'danger', 'text', 'primary_text', 'danger_text', 'primary_filled', 'danger_filled', 'laser'];

/** The first reason Lark would refuse this card, or undefined. */
export function cardProblem(card: Record<string, unknown>, jsonLength: number): string | undefined {
  if (jsonLength > CARD_LIMIT_BYTES) return 'card larger than 30 KB';
  if (card.schema !== '2.0') return 'schema must be "2.0"';
  const top = unknownIn(card, TOP, 'card');
  if (top) return top;
  const config = asObj(card.config);
  if (!config) return 'config missing';
  const c = unknownIn(config, CONFIG, 'config');
  if (c) return c;
  if (config.update_multi !== true) return 'config.update_multi must be true in card JSON 2.0';
  if (card.header !== undefined) {
    const header = asObj(card.header);
    if (!header) return 'header must be an object';
    const h = unknownIn(header, HEADER, 'header') ?? textProblem(header.title, 'header.title');
    if (h) return h;
  }
  const body = asObj(card.body);
  if (!body || !Array.isArray(body.elements)) return 'body.elements missing';
  const b = unknownIn(body, BODY, 'body');
  if (b) return b;
  if (body.elements.length === 0) return 'body.elements is empty';
  return elementsProblem(body.elements, 'body.elements', false);
}

/** Checks a list of elements (the body's, or a form's); forms only at the root, inputs only in forms. */
function elementsProblem(elements: unknown[], where: string, inForm: boolean): string | undefined {
  for (const [i, raw] of elements.entries()) {
    const at = `${where}[${i}]`;
    const e = asObj(raw);
    if (!e || typeof e.tag !== 'string') return `${at} has no tag`;
    if (e.tag === 'action') return `${at}: the "action" module is not supported in card JSON 2.0`;
    const allowed = ELEMENTS[e.tag];
    if (!allowed) return `${at}: unknown tag "${e.tag}"`;
    const p = unknownIn(e, allowed, `${at} (${e.tag})`);
    if (p) return p;
    const problem = elementProblem(e, at, inForm);
    if (problem) return problem;
  }
  return undefined;
}

function elementProblem(e: Record<string, unknown>, at: string, inForm: boolean): string | undefined {
  if (e.tag === 'div' && e.text !== undefined) return textProblem(e.text, `${at}.text`);
  if (e.tag === 'markdown' && typeof e.content !== 'string') return `${at}.content must be a string`;
  if (e.tag === 'form') {
    if (inForm) return `${at}: a form cannot contain a form`;
    if (typeof e.name !== 'string' || !e.name) return `${at}: a form needs a name`;
    if (!Array.isArray(e.elements) || e.elements.length === 0) return `${at}.elements missing`;
    const inner = elementsProblem(e.elements, `${at}.elements`, true);
    if (inner) return inner;
    const submits = e.elements.filter((x) => asObj(x)?.tag === 'button' && asObj(x)?.form_action_type === 'submit');
    return submits.length === 0 ? `${at}: a form needs a submit button` : undefined;
  }
  if (FORM_ONLY.includes(String(e.tag))) {
    if (!inForm) return `${at}: ${String(e.tag)} with form data must sit inside a form`;
    if (typeof e.name !== 'string' || !e.name) return `${at}: a form field needs a name`;
    if (e.label !== undefined) { const tp = textProblem(e.label, `${at}.label`); if (tp) return tp; }
    if (e.placeholder !== undefined) { const tp = textProblem(e.placeholder, `${at}.placeholder`); if (tp) return tp; }
    if (e.max_length !== undefined && (typeof e.max_length !== 'number' || e.max_length < 1 || e.max_length > 1000)) return `${at}.max_length must be 1..1000`;
    if (e.tag === 'multi_select_static' && (!Array.isArray(e.options) || e.options.some((o) => textProblem(asObj(o)?.text, `${at}.options[].text`) || typeof asObj(o)?.value !== 'string'))) {
      return `${at}.options must be { text, value } objects`;
    }
    return undefined;
  }
  if (e.tag === 'button') return buttonProblem(e, at, inForm);
  return undefined;
}

function buttonProblem(e: Record<string, unknown>, at: string, inForm: boolean): string | undefined {
  const tp = textProblem(e.text, `${at}.text`);
  if (tp) return tp;
  if (e.type !== undefined && !BUTTON_TYPES.includes(String(e.type))) return `${at}.type "${String(e.type)}" is not a button type`;
  if (e.form_action_type !== undefined) {
    if (!inForm) return `${at}: form_action_type outside a form`;
    if (!['submit', 'reset'].includes(String(e.form_action_type))) return `${at}.form_action_type must be submit or reset`;
    if (typeof e.name !== 'string' || !e.name) return `${at}: a form button needs a name`;
  }
  if (!Array.isArray(e.behaviors) || e.behaviors.length === 0) return `${at}: a 2.0 button needs behaviors`;
  for (const beh of e.behaviors) {
    const o = asObj(beh);
    if (!o || !['callback', 'open_url'].includes(String(o.type))) return `${at}.behaviors: unknown behavior`;
    if (o.type === 'callback' && !asObj(o.value)) return `${at}.behaviors: callback needs an object value`;
    const extra = unknownIn(o, o.type === 'callback' ? ['type', 'value'] : ['type', 'default_url', 'pc_url', 'ios_url', 'android_url'], 'behavior');
    if (extra) return extra;
  }
  return undefined;
}

function unknownIn(o: Record<string, unknown>, allowed: string[], where: string): string | undefined {
  const bad = Object.keys(o).find((k) => !allowed.includes(k));
  return bad ? `unknown field "${bad}" in ${where}` : undefined;
}

function textProblem(v: unknown, where: string): string | undefined {
  const o = asObj(v);
  if (!o) return `${where} missing`;
  if (o.tag !== 'plain_text' && o.tag !== 'lark_md') return `${where}.tag must be plain_text or lark_md`;
  if (typeof o.content !== 'string') return `${where}.content must be a string`;
  const bad = Object.keys(o).find((k) => !TEXT.includes(k));
  return bad ? `unknown field "${bad}" in ${where}` : undefined;
}

function asObj(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : undefined;
}

/** All visible text of a card (header title, div texts, markdown, button labels), one piece per line. */
export function cardText(card: Record<string, unknown> | undefined): string {
  if (!card) return '';
  const out: string[] = [];
  const title = asObj(asObj(asObj(card.header)?.title))?.content;
  if (typeof title === 'string') out.push(title);
  for (const raw of flatElements(card)) {
    const e = asObj(raw);
    if (!e) continue;
    const text = asObj(e.text)?.content;
    if (typeof text === 'string') out.push(text);
    if (typeof e.content === 'string') out.push(e.content);
  }
  return out.join('\n');
}

/** The card's `label: value` lines as a map. */
export function cardFieldMap(card: Record<string, unknown> | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of cardText(card).split('\n')) {
    const m = /^([^:【]+): (.*)$/.exec(line);
    if (m) map.set(m[1]!, m[2]!);
  }
  return map;
}

/** The callback values of the card's buttons. */
export function cardButtons(card: Record<string, unknown> | undefined): { label: string; value: Record<string, string> }[] {
  const out: { label: string; value: Record<string, string> }[] = [];
  for (const raw of flatElements(card)) {
    const e = asObj(raw);
    if (e?.tag !== 'button') continue;
    const beh = (e.behaviors as Record<string, unknown>[]).find((b) => b.type === 'callback');
    out.push({ label: String(asObj(e.text)?.content ?? ''), value: (beh?.value ?? {}) as Record<string, string> });
  }
  return out;
}

/** The body's elements with each form's children in place of the form. */
function flatElements(card: Record<string, unknown> | undefined): unknown[] {
  const top = (asObj(card?.body)?.elements as unknown[] | undefined) ?? [];
  return top.flatMap((e) => (asObj(e)?.tag === 'form' ? [e, ...((asObj(e)?.elements as unknown[] | undefined) ?? [])] : [e]));
}

/** The names of a card's form fields (inputs and selects), form by form. */
export function cardFormFields(card: Record<string, unknown> | undefined): string[] {
  return flatElements(card).map((e) => asObj(e)).filter((e) => e && ['input', 'multi_select_static'].includes(String(e.tag))).map((e) => String(e!.name));
}
