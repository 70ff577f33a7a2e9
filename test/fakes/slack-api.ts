// A local fake of the Slack Web API (node:http) for tests and benches. It records every call and answers
// the way real Slack does, including the refusals: unknown methods, bad tokens, Block Kit limits
// (REFERENCE §2), ephemeral messages to users who are not in the channel. Bolt's WebClient posts
// form-encoded bodies (objects JSON-encoded inside fields); `respond()` posts JSON to a response_url.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeUser { id: string; email?: string; locale?: string; name?: string; deleted?: boolean }
export interface FakeChannel { id: string; isIm?: boolean; isPrivate?: boolean; isExtShared?: boolean; members: string[] }

export interface RecordedCall {
  method: string; // Web API method, or `response_url` for posts to a response URL
  path: string; // request path (tells response URLs apart)
  body: Record<string, unknown>;
  ok: boolean;
  error?: string;
  at: number;
}

/** A file uploaded through files.uploadV2's two steps (upload URL, then completeUploadExternal). */
export interface FakeFile { fileId: string; filename: string; bytes: Buffer; title?: string; channel?: string; completed: boolean }

export interface FakeSlackOptions {
  token?: string;
  teamId?: string;
  botUserId?: string;
  users?: FakeUser[];
  channels?: FakeChannel[];
  /** Page size for conversations.members when the caller asks for more (to exercise paging). */
  membersPageSize?: number;
}

const LIMITS = { blocks: 50, sectionText: 3000, actionsElements: 25, id: 255, buttonValue: 2000, text: 40_000 };

type Handler = (body: Record<string, unknown>) => Record<string, unknown>;

export class FakeSlackApi {
  readonly calls: RecordedCall[] = [];
  readonly token: string;
  readonly teamId: string;
  readonly botUserId: string;
  private readonly users = new Map<string, FakeUser>();
  private readonly channels = new Map<string, FakeChannel>();
  private readonly membersPageSize: number;
  private appToken: string | undefined;
  private socketUrl: (() => string) | undefined;
  private server: Server | undefined;
  private base = '';
  private tsCounter = 0;
  private responseUrlCounter = 0;
  private waiters: { pred: (c: RecordedCall) => boolean; resolve: (c: RecordedCall) => void }[] = [];
  /** `nextCallTo` waiters by request path: a bench waits on thousands of fresh response URLs. */
  private readonly pathWaiters = new Map<string, (c: RecordedCall) => void>();
  /** Files by id: bytes arrive at the upload URL, channel and title with completeUploadExternal. */
  readonly files = new Map<string, FakeFile>();
  private readonly uploadUrls = new Map<string, { fileId: string; filename: string; length: number }>();

  constructor(opts: FakeSlackOptions = {}) {
    this.token = opts.token ?? 'xoxb-test-token';
    this.teamId = opts.teamId ?? 'T0TEST';
    this.botUserId = opts.botUserId ?? 'UBOT';
    this.membersPageSize = opts.membersPageSize ?? 200;
    for (const u of opts.users ?? []) this.addUser(u);
    for (const c of opts.channels ?? []) this.addChannel(c);
  }

  /**
   * Serves `apps.connections.open` (Socket Mode): with the app-level token it answers `url()`, the
   * WebSocket the client should connect to (test/fakes/slack-socket.ts); any other token is refused.
   */
  socketMode(appToken: string, url: () => string): void {
    this.appToken = appToken;
    this.socketUrl = url;
  }

  addUser(user: FakeUser): void { this.users.set(user.id, user); }
  addChannel(channel: FakeChannel): void { this.channels.set(channel.id, channel); }

  /** Base URL for `clientOptions.slackApiUrl`. */
  get apiUrl(): string { return `${this.base}/api/`; }

  /** A fresh response_url served by this fake (what Slack puts into slash commands and actions). */
  responseUrl(): string { return `${this.base}/response/${++this.responseUrlCounter}`; }

  /**
   * Slack accepts posts to a response_url for 30 minutes after the interaction (and up to 5 of them); the
   * fake runs on real time, so a test ages a URL past its 30 minutes explicitly. Posts to it are then
   * refused with a non-2xx status (all the bot relies on).
   */
  expireResponseUrl(url: string): void { this.expiredResponseUrls.add(new URL(url).pathname); }
  private readonly expiredResponseUrls = new Set<string>();

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

  /** Calls of one method (successful and refused). */
  callsTo(method: string): RecordedCall[] { return this.calls.filter((c) => c.method === method); }

  /** Resolves with the first recorded call (already made or future) matching `pred`. */
  waitFor(pred: (c: RecordedCall) => boolean, timeoutMs = 60_000): Promise<RecordedCall> {
    const found = this.calls.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`fake Slack: no matching call within ${timeoutMs} ms; calls: ${this.calls.map((c) => c.method).join(', ')}`));
      }, timeoutMs);
      const done = (c: RecordedCall) => { clearTimeout(timer); resolve(c); };
      this.waiters.push({ pred, resolve: done });
    });
  }

  /**
   * Resolves with the next call to `path` — typically a response_url handed out just before the request
   * that should answer it. Unlike `waitFor` it neither scans past calls nor runs a predicate per call, so
   * a load generator's cost stays constant however many calls the fake has recorded.
   */
  nextCallTo(path: string, timeoutMs = 60_000): Promise<RecordedCall> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pathWaiters.delete(path);
        reject(new Error(`fake Slack: no call to ${path} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pathWaiters.set(path, (c) => { clearTimeout(timer); resolve(c); });
    });
  }

  private record(call: RecordedCall): void {
    this.calls.push(call);
    const byPath = this.pathWaiters.get(call.path);
    if (byPath) {
      this.pathWaiters.delete(call.path);
      byPath(call);
    }
    for (const w of [...this.waiters]) {
      if (w.pred(call)) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(call);
      }
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const bytes = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname.startsWith('/upload/')) return this.handleUpload(url.pathname, bytes, String(req.headers['content-type'] ?? ''), res);
    const raw = bytes.toString('utf8');
    const body = parseBody(raw, String(req.headers['content-type'] ?? ''));
    if (url.pathname.startsWith('/response/')) return this.handleResponseUrl(url.pathname, body, res);
    const m = /^\/api\/([A-Za-z.]+)$/.exec(url.pathname);
    const method = m?.[1] ?? url.pathname;
    const answer = (result: Record<string, unknown>) => {
      const ok = result.ok === true;
      this.record({ method, path: url.pathname, body, ok, ...(ok ? {} : { error: String(result.error) }), at: Date.now() });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(result));
    };
    const handler = m ? this.handlers()[method] : undefined;
    if (!handler) return answer({ ok: false, error: 'unknown_method' });
    const auth = String(req.headers.authorization ?? '');
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : typeof body.token === 'string' ? body.token : '';
    // apps.connections.open takes the app-level token (xapp-…), every other method the bot token.
    const expected = method === 'apps.connections.open' ? this.appToken : this.token;
    if (method !== 'api.test' && token !== expected) return answer({ ok: false, error: token ? 'invalid_auth' : 'not_authed' });
    try {
      answer(handler(body));
    } catch (err) {
      answer({ ok: false, error: err instanceof SlackRefusal ? err.code : 'internal_error' });
    }
  }

  /** Step 2 of files.uploadV2: the file's bytes, posted as multipart form data (field "body") or raw. */
  private async handleUpload(path: string, bytes: Buffer, contentType: string, res: ServerResponse): Promise<void> {
    const slot = this.uploadUrls.get(path);
    let content = bytes;
    if (contentType.startsWith('multipart/form-data')) {
      const form = await new Response(new Uint8Array(bytes), { headers: { 'content-type': contentType } }).formData();
      const part = [...form.values()][0];
      content = part instanceof Blob ? Buffer.from(await part.arrayBuffer()) : Buffer.from(String(part ?? ''));
    }
    const ok = slot !== undefined && content.length === slot.length;
    if (slot && ok) this.files.set(slot.fileId, { fileId: slot.fileId, filename: slot.filename, bytes: content, completed: false });
    this.record({ method: 'upload', path, body: { length: content.length }, ok, ...(ok ? {} : { error: slot ? 'length_mismatch' : 'unknown_upload_url' }), at: Date.now() });
    res.writeHead(ok ? 200 : 400, { 'content-type': 'text/plain' });
    res.end(ok ? 'OK' : 'bad upload');
  }

  private handleResponseUrl(path: string, body: Record<string, unknown>, res: ServerResponse): void {
    let error: string | undefined;
    try { checkMessage(body); } catch (err) { error = err instanceof SlackRefusal ? err.code : 'internal_error'; }
    if (this.expiredResponseUrls.has(path)) error = 'expired_url';
    this.record({ method: 'response_url', path, body, ok: error === undefined, ...(error ? { error } : {}), at: Date.now() });
    // Real Slack answers 404 "invalid_blocks"-style failures with a non-2xx status; respond() then throws.
    res.writeHead(error === 'expired_url' ? 404 : error ? 400 : 200, { 'content-type': 'text/plain' });
    res.end(error ?? 'ok');
  }

  private handlers(): Record<string, Handler> {
    return {
      'api.test': () => ({ ok: true }),
      'apps.connections.open': () => {
        if (!this.socketUrl) throw new SlackRefusal('not_allowed_token_type');
        return { ok: true, url: this.socketUrl() };
      },
      'auth.test': () => ({ ok: true, url: 'https://fake.slack.com/', team: 'Fake', team_id: this.teamId, user_id: this.botUserId, bot_id: 'BBOT', user: 'custos' }),
      'users.info': (b) => {
        const user = this.users.get(String(b.user ?? ''));
        if (!user) throw new SlackRefusal('user_not_found');
        return {
          ok: true,
          user: {
            id: user.id, team_id: this.teamId, name: user.name ?? user.id, deleted: user.deleted ?? false,
            locale: user.locale ?? 'en-US',
            profile: { ...(user.email ? { email: user.email } : {}), real_name: user.name ?? user.id },
          },
        };
      },
      'conversations.info': (b) => {
        const ch = this.channel(b.channel);
        return { ok: true, channel: { id: ch.id, is_im: ch.isIm ?? false, is_private: ch.isPrivate ?? ch.isIm ?? false, is_ext_shared: ch.isExtShared ?? false, is_channel: !ch.isIm } };
      },
      'conversations.members': (b) => {
        const ch = this.channel(b.channel);
        const limit = Math.min(Number(b.limit ?? 100) || 100, this.membersPageSize);
        const start = b.cursor ? Number(Buffer.from(String(b.cursor), 'base64').toString()) : 0;
        const page = ch.members.slice(start, start + limit);
        const next = start + limit < ch.members.length ? Buffer.from(String(start + limit)).toString('base64') : '';
        return { ok: true, members: page, response_metadata: { next_cursor: next } };
      },
      'chat.postMessage': (b) => {
        const ch = this.channel(b.channel);
        checkMessage(b);
        return { ok: true, channel: ch.id, ts: this.nextTs(), message: { text: b.text } };
      },
      'chat.postEphemeral': (b) => {
        const ch = this.channel(b.channel);
        if (!ch.members.includes(String(b.user ?? ''))) throw new SlackRefusal('user_not_in_channel');
        checkMessage(b);
        return { ok: true, message_ts: this.nextTs() };
      },
      'chat.update': (b) => {
        const ch = this.channel(b.channel);
        if (!b.ts) throw new SlackRefusal('message_not_found');
        checkMessage(b);
        return { ok: true, channel: ch.id, ts: b.ts };
      },
      'views.open': (b) => {
        if (!b.trigger_id) throw new SlackRefusal('invalid_trigger_id');
        const view = asObject(b.view);
        checkBlocks(asArray(view?.blocks));
        return { ok: true, view: { id: `V${this.nextTs().replace('.', '')}` } };
      },
      'files.getUploadURLExternal': (b) => {
        if (!b.filename || !b.length) throw new SlackRefusal('invalid_arguments');
        const path = `/upload/${this.nextTs()}`;
        const fileId = `F${this.nextTs().replace('.', '')}`;
        this.uploadUrls.set(path, { fileId, filename: String(b.filename), length: Number(b.length) });
        return { ok: true, upload_url: `${this.base}${path}`, file_id: fileId };
      },
      'files.completeUploadExternal': (b) => {
        const files = asArray(b.files);
        if (!files?.length) throw new SlackRefusal('invalid_arguments');
        if (b.channel_id) this.channel(b.channel_id);
        for (const raw of files) {
          const f = asObject(raw);
          const stored = this.files.get(String(f?.id ?? ''));
          if (!stored) throw new SlackRefusal('file_not_found');
          stored.completed = true;
          if (typeof f?.title === 'string') stored.title = f.title;
          if (b.channel_id) stored.channel = String(b.channel_id);
        }
        return { ok: true, files };
      },
      'conversations.open': (b) => {
        const user = String(b.users ?? '').split(',')[0] ?? '';
        if (!this.users.has(user)) throw new SlackRefusal('user_not_found');
        const id = `D${user.slice(1)}`;
        if (!this.channels.has(id)) this.addChannel({ id, isIm: true, members: [user, this.botUserId] });
        return { ok: true, channel: { id } };
      },
    };
  }

  private channel(id: unknown): FakeChannel {
    const ch = this.channels.get(String(id ?? ''));
    if (!ch) throw new SlackRefusal('channel_not_found');
    return ch;
  }

  private nextTs(): string { return `${1_700_000_000 + ++this.tsCounter}.000100`; }
}

class SlackRefusal extends Error {
  constructor(readonly code: string) { super(code); }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** JSON bodies as they are; form bodies field by field, with JSON-looking fields decoded (as Slack does). */
function parseBody(raw: string, contentType: string): Record<string, unknown> {
  if (raw === '') return {};
  if (contentType.includes('application/json')) {
    try { return asObject(JSON.parse(raw)) ?? {}; } catch { return {}; }
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    out[k] = /^[[{]/.test(v) ? safeJson(v) : v;
  }
  return out;
}

function safeJson(v: string): unknown {
  try { return JSON.parse(v); } catch { return v; }
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  if (typeof v === 'string') v = safeJson(v);
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function asArray(v: unknown): unknown[] | undefined {
  if (typeof v === 'string') v = safeJson(v);
  return Array.isArray(v) ? v : undefined;
}

function checkMessage(b: Record<string, unknown>): void {
  const hasText = typeof b.text === 'string' && b.text.length > 0;
  const blocks = b.blocks === undefined ? undefined : asArray(b.blocks);
  if (b.blocks !== undefined && blocks === undefined) throw new SlackRefusal('invalid_blocks_format');
  if (!hasText && !(blocks && blocks.length > 0) && b.delete_original !== true) throw new SlackRefusal('no_text');
  if (typeof b.text === 'string' && b.text.length > LIMITS.text) throw new SlackRefusal('msg_too_long');
  checkBlocks(blocks);
}

function checkBlocks(blocks: unknown[] | undefined): void {
  if (!blocks) return;
  if (blocks.length > LIMITS.blocks) throw new SlackRefusal('invalid_blocks');
  for (const raw of blocks) {
    const block = asObject(raw);
    if (!block || typeof block.type !== 'string') throw new SlackRefusal('invalid_blocks');
    checkId(block.block_id);
    if (block.type === 'section') {
      const text = asObject(block.text);
      if (text && typeof text.text === 'string' && text.text.length > LIMITS.sectionText) throw new SlackRefusal('invalid_blocks');
      const fields = asArray(block.fields);
      if (fields && fields.length > 10) throw new SlackRefusal('invalid_blocks');
      for (const f of fields ?? []) {
        const ft = asObject(f);
        if (typeof ft?.text === 'string' && ft.text.length > 2000) throw new SlackRefusal('invalid_blocks');
      }
      if (block.accessory) checkElement(block.accessory);
      if (!text && !fields) throw new SlackRefusal('invalid_blocks');
    } else if (block.type === 'actions') {
      const elements = asArray(block.elements) ?? [];
      if (elements.length === 0 || elements.length > LIMITS.actionsElements) throw new SlackRefusal('invalid_blocks');
      for (const e of elements) checkElement(e);
    } else if (block.type === 'header') {
      const text = asObject(block.text);
      if (typeof text?.text !== 'string' || text.text.length > 150) throw new SlackRefusal('invalid_blocks');
    } else if (block.type === 'context') {
      const elements = asArray(block.elements) ?? [];
      if (elements.length === 0 || elements.length > 10) throw new SlackRefusal('invalid_blocks');
    } else if (!['divider', 'image', 'input', 'rich_text', 'file', 'video'].includes(block.type)) {
      throw new SlackRefusal('invalid_blocks');
    }
  }
}

function checkElement(raw: unknown): void {
  const e = asObject(raw);
  if (!e) throw new SlackRefusal('invalid_blocks');
  checkId(e.action_id);
  if (e.type === 'button') {
    if (typeof e.value === 'string' && e.value.length > LIMITS.buttonValue) throw new SlackRefusal('invalid_blocks');
    const text = asObject(e.text);
    if (typeof text?.text !== 'string' || text.text.length > 75) throw new SlackRefusal('invalid_blocks');
  }
}

function checkId(id: unknown): void {
  if (id !== undefined && (typeof id !== 'string' || id.length === 0 || id.length > LIMITS.id)) throw new SlackRefusal('invalid_blocks');
}
