// A local fake of the DingTalk Open API (node:http) for tests, serving both hosts the adapter uses
// (api.dingtalk.com and oapi.dingtalk.com: tests point DINGTALK_API_URL and DINGTALK_OAPI_URL here).
// It records every call and refuses what DingTalk refuses:
//  - POST /v1.0/oauth2/accessToken: wrong appKey / appSecret → HTTP 400; tokens last `expireIn` 7200 s;
//  - POST /topapi/v2/user/get?access_token=…: a bad token → errcode 40014, an unknown userid → 60121;
//  - POST /v1.0/card/instances/createAndDeliver and PUT /v1.0/card/instances: the token in
//    `x-acs-dingtalk-access-token` (else HTTP 401); the app's card template and robotCode; an
//    outTrackId used once; `cardParamMap` values strings only; the open space id matching its deliver
//    model (`dtv1.card//IM_ROBOT.<userId>` with imRobotOpenDeliverModel, `…IM_GROUP.<cid>` with
//    imGroupOpenDeliverModel); updates only of cards that exist;
//  - POST /v1.0/im/innerGroups/members/query: internal groups only (else HTTP 400), `maxResults` required;
//  - POST /v1.0/gateway/connections/open: the Stream gateway, when a FakeDingTalkStream is attached.
//  - POST oapi /media/upload?access_token=…: multipart/form-data, `type` = file and the file in the part
//    named `media` (its filename), of a documented file type (doc, docx, xls, xlsx, ppt, pptx, zip, pdf,
//    rar; else errcode 40004), at most 20 MB → {errcode: 0, type, media_id, created_at};
//  - POST /v1.0/robot/oToMessages/batchSend: the token header; our robotCode; 1–20 userIds; msgKey
//    `sampleFile` with msgParam the JSON string {mediaId (an uploaded one), fileName, fileType (its
//    extension)} → {processQueryKey, invalidStaffIdList (userids DingTalk does not know), flowControlledStaffIdList}.
// It also signs robot callbacks as DingTalk does (`signedHeaders`), for the tests' driver.
import { createCipheriv, createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readZip } from '../helpers/zip-read.ts';
import { Waiting } from './waiting.ts';

export interface FakeDingTalkUser { userId: string; email?: string; orgEmail?: string; name?: string }

/** A group chat: `inner` when it is an internal group of the organisation (members readable). */
export interface FakeDingTalkGroup { conversationId: string; inner: boolean; members: string[] }

const API_BY_ROUTE = new Map([
  ['POST /v1.0/card/instances/createAndDeliver', 'card.createAndDeliver'],
  ['PUT /v1.0/card/instances', 'card.update'],
  ['POST /v1.0/im/innerGroups/members/query', 'im.innerGroups.members.query'],
  ['POST /v1.0/robot/oToMessages/batchSend', 'robot.oToMessages.batchSend'],
]);

/** Upload `type=file` (DingTalk's media upload documentation): these extensions, at most 20 MB. */
const FILE_TYPES = new Set(['doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'zip', 'pdf', 'rar']);
const MAX_MEDIA_BYTES = 20 * 1024 * 1024;

/** A file message delivered into a user's 1:1 robot chat; `text` is the single entry of a zip, as UTF-8. */
export interface DeliveredFile { userId: string; fileName: string; fileType: string; bytes: Buffer; readonly text: string }

export interface DingTalkCall { api: string; ok: boolean; code: string; body: Record<string, unknown>; at: number }

export interface DeliveredCard {
  outTrackId: string;
  /** `robot:<userId>` (a 1:1 robot chat) or `group:<conversationId>`. */
  space: string;
  params: Record<string, string>;
  updates: Record<string, string>[];
}

export class FakeDingTalkApi {
  readonly calls: DingTalkCall[] = [];
  readonly cards = new Map<string, DeliveredCard>();
  readonly files: DeliveredFile[] = [];
  private readonly media = new Map<string, { fileName: string; bytes: Buffer }>();
  readonly appKey = 'dingtestappkey0001';
  readonly appSecret = 'test-dingtalk-app-secret-0123456789';
  readonly cardTemplateId = 'custos-test-template.schema';
  readonly corpId = 'dingcorp0001';
  /** The Stream gateway's connections/open (test/fakes/dingtalk-stream.ts), when a test runs Stream mode. */
  gateway: ((body: Record<string, unknown>) => { status: number; payload: unknown }) | undefined;
  private readonly tokens = new Map<string, number>();
  private readonly users = new Map<string, FakeDingTalkUser>();
  private readonly groups = new Map<string, FakeDingTalkGroup>();
  private readonly waiting = new Waiting('fake dingtalk');
  private server: Server | undefined;
  private base = '';

  constructor(opts: { users?: FakeDingTalkUser[]; groups?: FakeDingTalkGroup[] } = {}) {
    for (const u of opts.users ?? []) this.users.set(u.userId, u);
    for (const g of opts.groups ?? []) this.groups.set(g.conversationId, g);
  }

  get url(): string { return this.base; }
  setUser(user: FakeDingTalkUser): void { this.users.set(user.userId, user); }
  callsOf(api: string): DingTalkCall[] { return this.calls.filter((c) => c.api === api); }
  cardsIn(space: string): DeliveredCard[] { return [...this.cards.values()].filter((c) => c.space === space); }

  /** Waits (polling, ≥ 60 s) for a delivered card matching `pred`. */
  async waitForCard(pred: (c: DeliveredCard) => boolean, timeoutMs = 60_000): Promise<DeliveredCard> {
    await this.waiting.until(() => [...this.cards.values()].some(pred), timeoutMs, 'matching card');
    return [...this.cards.values()].find(pred)!;
  }

  /** Waits (polling, ≥ 60 s) for a delivered file matching `pred`. */
  async waitForFile(pred: (f: DeliveredFile) => boolean, timeoutMs = 60_000): Promise<DeliveredFile> {
    await this.waiting.until(() => this.files.some(pred), timeoutMs, 'matching file');
    return this.files.find(pred)!;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => { void this.route(req, res); });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    if (req.method === 'POST' && url.pathname === '/media/upload') return this.upload(res, url, String(req.headers['content-type'] ?? ''), await readAll(req));
    let body: Record<string, unknown>;
    try {
      body = JSON.parse((await readAll(req)).toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      return this.answer(res, 'malformed', 400, { code: 'InvalidParameter', message: 'body is not JSON' }, {});
    }
    const key = `${req.method} ${url.pathname}`;
    if (key === 'POST /v1.0/oauth2/accessToken') return this.accessToken(res, body);
    if (key === 'POST /v1.0/gateway/connections/open' && this.gateway) {
      const r = this.gateway(body);
      return this.answer(res, 'gateway.connections.open', r.status, r.payload, body);
    }
    if (key === 'POST /topapi/v2/user/get') return this.userGet(res, body, url.searchParams.get('access_token') ?? '');
    const token = req.headers['x-acs-dingtalk-access-token'];
    const api = API_BY_ROUTE.get(key) ?? 'unknown';
    if (api === 'unknown') return this.answer(res, api, 404, { code: 'NotFound', message: 'no such API' }, body);
    if (typeof token !== 'string' || !this.validToken(token)) return this.answer(res, api, 401, { code: 'InvalidAuthentication', message: 'token invalid' }, body);
    if (api === 'im.innerGroups.members.query') return this.groupMembers(res, body);
    if (api === 'robot.oToMessages.batchSend') return this.batchSend(res, body);
    return api === 'card.createAndDeliver' ? this.createAndDeliver(res, body) : this.update(res, body);
  }

  private accessToken(res: ServerResponse, body: Record<string, unknown>): void {
    if (body.appKey !== this.appKey || body.appSecret !== this.appSecret) {
      return this.answer(res, 'oauth2.accessToken', 400, { code: 'invalidClientIdOrSecret', message: 'wrong app key or secret' }, body);
    }
    const token = randomUUID().replace(/-/g, '');
    this.tokens.set(token, Date.now() + 7_200_000);
    return this.answer(res, 'oauth2.accessToken', 200, { accessToken: token, expireIn: 7200 }, body);
  }

  private userGet(res: ServerResponse, body: Record<string, unknown>, token: string): void {
    if (!this.validToken(token)) return this.answer(res, 'user.get', 200, { errcode: 40014, errmsg: '不合法的access_token' }, body, '40014');
    const user = typeof body.userid === 'string' ? this.users.get(body.userid) : undefined;
    if (!user) return this.answer(res, 'user.get', 200, { errcode: 60121, errmsg: '找不到该用户' }, body, '60121');
    const result = { userid: user.userId, name: user.name ?? 'n/a', ...(user.orgEmail ? { org_email: user.orgEmail } : {}), ...(user.email ? { email: user.email } : {}) };
    return this.answer(res, 'user.get', 200, { errcode: 0, errmsg: 'ok', result, request_id: randomUUID() }, body, '0');
  }

  /** Internal groups only; members in pages of `maxResults`, `nextToken` an offset as DingTalk's is opaque. */
  private groupMembers(res: ServerResponse, body: Record<string, unknown>): void {
    const api = 'im.innerGroups.members.query';
    const group = typeof body.openConversationId === 'string' ? this.groups.get(body.openConversationId) : undefined;
    const size = body.maxResults;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) return this.answer(res, api, 400, { code: 'InvalidParameter', message: 'maxResults required' }, body);
    if (!group || !group.inner) return this.answer(res, api, 400, { code: 'InvalidParameter', message: 'not an internal group of this organisation' }, body);
    const from = typeof body.nextToken === 'string' ? Number(body.nextToken) : 0;
    const userIds = group.members.slice(from, from + size);
    const more = from + size < group.members.length;
    return this.answer(res, api, 200, { success: true, userIds, hasMore: more, ...(more ? { nextToken: String(from + size) } : {}) }, body);
  }

  private upload(res: ServerResponse, url: URL, contentType: string, raw: Buffer): void {
    const fail = (errcode: number, errmsg: string) => this.answer(res, 'media.upload', 200, { errcode, errmsg }, {}, String(errcode));
    if (!this.validToken(url.searchParams.get('access_token') ?? '')) return fail(40014, '不合法的access_token');
    const parts = multipart(contentType, raw);
    if (!parts) return fail(40035, '不合法的参数');
    const type = parts.find((p) => p.name === 'type')?.data.toString('utf8') ?? url.searchParams.get('type');
    const media = parts.find((p) => p.name === 'media' && p.filename);
    const ext = media?.filename?.split('.').pop()?.toLowerCase() ?? '';
    if (type !== 'file' || !media || !FILE_TYPES.has(ext)) return fail(40004, '不合法的媒体文件类型');
    if (media.data.length > MAX_MEDIA_BYTES) return fail(40006, '不合法的文件大小');
    const mediaId = `@lADP${randomUUID().replace(/-/g, '')}`;
    this.media.set(mediaId, { fileName: media.filename!, bytes: media.data });
    return this.answer(res, 'media.upload', 200, { errcode: 0, errmsg: 'ok', type: 'file', media_id: mediaId, created_at: Date.now() }, { fileName: media.filename, bytes: media.data.length }, '0');
  }

  private batchSend(res: ServerResponse, body: Record<string, unknown>): void {
    const api = 'robot.oToMessages.batchSend';
    const bad = (message: string) => this.answer(res, api, 400, { code: 'InvalidParameter', message }, body);
    const ids = body.userIds;
    if (body.robotCode !== this.appKey) return bad('robotCode invalid');
    if (!Array.isArray(ids) || ids.length < 1 || ids.length > 20 || !ids.every((u) => typeof u === 'string')) return bad('userIds: 1 to 20 userids');
    if (body.msgKey !== 'sampleFile' || typeof body.msgParam !== 'string') return bad('msgKey or msgParam invalid');
    let p: { mediaId?: unknown; fileName?: unknown; fileType?: unknown };
    try { p = JSON.parse(body.msgParam) as typeof p; } catch { return bad('msgParam is not JSON'); }
    const media = typeof p.mediaId === 'string' ? this.media.get(p.mediaId) : undefined;
    if (!media || typeof p.fileName !== 'string' || !p.fileName || typeof p.fileType !== 'string' || !p.fileName.toLowerCase().endsWith(`.${p.fileType}`)) return bad('msgParam: mediaId, fileName, fileType');
    const invalid = (ids as string[]).filter((u) => !this.users.has(u));
    for (const userId of (ids as string[]).filter((u) => this.users.has(u))) this.files.push(deliveredFile(userId, p.fileName, p.fileType, media.bytes));
    this.waiting.wake();
    return this.answer(res, api, 200, { processQueryKey: randomUUID(), invalidStaffIdList: invalid, flowControlledStaffIdList: [] }, body);
  }

  private createAndDeliver(res: ServerResponse, body: Record<string, unknown>): void {
    const bad = (message: string) => this.answer(res, 'card.createAndDeliver', 400, { code: 'InvalidParameter', message }, body);
    const outTrackId = body.outTrackId;
    if (body.cardTemplateId !== this.cardTemplateId) return bad('cardTemplateId unknown');
    if (typeof outTrackId !== 'string' || outTrackId.length === 0 || outTrackId.length > 200) return bad('outTrackId invalid');
    if (this.cards.has(outTrackId)) return bad('outTrackId already used');
    const params = paramMap(body.cardData);
    if (!params) return bad('cardParamMap values must be strings');
    const space = this.space(body);
    if (!space) return bad('openSpaceId does not match its deliver model or robotCode');
    this.cards.set(outTrackId, { outTrackId, space, params, updates: [] });
    this.waiting.wake();
    const [type, id] = space.split(':');
    return this.answer(res, 'card.createAndDeliver', 200, {
      success: true, result: { outTrackId, deliverResults: [{ spaceType: type === 'robot' ? 'IM_ROBOT' : 'IM_GROUP', spaceId: id, success: true, carrierId: randomUUID() }] },
    }, body);
  }

  private update(res: ServerResponse, body: Record<string, unknown>): void {
    const card = typeof body.outTrackId === 'string' ? this.cards.get(body.outTrackId) : undefined;
    const params = paramMap(body.cardData);
    if (!card || !params) return this.answer(res, 'card.update', 400, { code: 'InvalidParameter', message: card ? 'cardParamMap values must be strings' : 'card not found' }, body);
    const byKey = (body.cardUpdateOptions as { updateCardDataByKey?: boolean } | undefined)?.updateCardDataByKey === true;
    card.params = byKey ? { ...card.params, ...params } : params;
    card.updates.push(params);
    this.waiting.wake();
    return this.answer(res, 'card.update', 200, { success: true, result: true }, body);
  }

  private space(body: Record<string, unknown>): string | null {
    const id = typeof body.openSpaceId === 'string' ? body.openSpaceId : '';
    const robot = /^dtv1\.card\/\/IM_ROBOT\.([A-Za-z0-9_$:-]{1,100})$/.exec(id);
    const group = /^dtv1\.card\/\/IM_GROUP\.([A-Za-z0-9_$:+/=-]{1,200})$/.exec(id);
    const robotModel = body.imRobotOpenDeliverModel as { spaceType?: string; robotCode?: string } | undefined;
    const groupModel = body.imGroupOpenDeliverModel as { robotCode?: string } | undefined;
    if (robot && robotModel?.spaceType === 'IM_ROBOT' && robotModel.robotCode === this.appKey) return `robot:${robot[1]}`;
    if (group && groupModel?.robotCode === this.appKey) return `group:${group[1]}`;
    return null;
  }

  private validToken(token: string): boolean {
    const until = this.tokens.get(token);
    return until !== undefined && until > Date.now();
  }

  private answer(res: ServerResponse, api: string, status: number, payload: unknown, body: Record<string, unknown>, code?: string): void {
    this.calls.push({ api, ok: status === 200 && (code === undefined || code === '0'), code: code ?? String(status), body, at: Date.now() });
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(payload));
  }
}

function deliveredFile(userId: string, fileName: string, fileType: string, bytes: Buffer): DeliveredFile {
  return { userId, fileName, fileType, bytes, get text() { return unzipOne(bytes).toString('utf8'); } };
}

/** The parts of a multipart/form-data body: name, filename and bytes; null when it is not one. */
function multipart(contentType: string, raw: Buffer): { name: string; filename?: string; data: Buffer }[] | null {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  if (!contentType.startsWith('multipart/form-data') || !boundary) return null;
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const parts: { name: string; filename?: string; data: Buffer }[] = [];
  let at = raw.indexOf(delimiter);
  while (at >= 0) {
    const next = raw.indexOf(delimiter, at + delimiter.length);
    if (next < 0) break;
    const part = raw.subarray(at + delimiter.length + 2, next - 2); // past CRLF, before CRLF
    const split = part.indexOf('\r\n\r\n');
    const head = part.subarray(0, split).toString('utf8');
    const name = /name="([^"]*)"/.exec(head)?.[1];
    const filename = /filename="([^"]*)"/.exec(head)?.[1];
    if (name !== undefined) parts.push({ name, ...(filename ? { filename } : {}), data: part.subarray(split + 4) });
    at = next;
  }
  return parts;
}

/** The one entry of a zip archive, read by the tests' own ZIP reader (test/helpers/zip-read.ts, apart from the writer). */
export function unzipOne(zip: Buffer): Buffer {
  const entries = readZip(zip);
  if (entries.length !== 1) throw new Error(`a zip of ${entries.length} entries, not one`);
  return entries[0]!.data;
}

function paramMap(cardData: unknown): Record<string, string> | null {
  const map = (cardData as { cardParamMap?: unknown } | undefined)?.cardParamMap;
  if (!map || typeof map !== 'object' || Array.isArray(map)) return null;
  const entries = Object.entries(map as Record<string, unknown>);
  return entries.every(([, v]) => typeof v === 'string') ? Object.fromEntries(entries) as Record<string, string> : null;
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** DingTalk's callback headers: `timestamp` (ms) and `sign` = base64(HMAC-SHA256(secret, `${timestamp}\n${secret}`)). */
export function signedHeaders(secret: string, timestamp = Date.now()): { timestamp: string; sign: string } {
  const ts = String(timestamp);
  return { timestamp: ts, sign: createHmac('sha256', secret).update(`${ts}\n${secret}`).digest('base64') };
}

/** A robot text message as DingTalk delivers it (receive-message payload). */
/**
 * A robot message as DingTalk POSTs it. In a group the robot is in `atUsers` (its dingtalkId the
 * chatbotUserId, no staffId) and its own @ is not in the text; `mentioned` are the other people picked
 * (`@name` stays in the text): a member with their staffId, an outsider (`staffId` undefined) without.
 */
export function robotMessage(o: { userId: string; conversationId: string; text: string; group?: boolean; msgId?: string; robotCode: string; corpId: string; mentioned?: { staffId?: string }[] }): Record<string, unknown> {
  const now = Date.now();
  const people = (o.mentioned ?? []).map((p) => ({ dingtalkId: `$:LWCP_v1:$${randomUUID().slice(0, 8)}`, ...(p.staffId ? { staffId: p.staffId } : {}) }));
  return {
    conversationId: o.conversationId,
    atUsers: o.group ? [{ dingtalkId: '$:LWCP_v1:$bot', staffId: '' }, ...people] : people,
    chatbotCorpId: o.corpId, chatbotUserId: '$:LWCP_v1:$bot',
    msgId: o.msgId ?? `msg${randomUUID().replace(/-/g, '')}`,
    senderNick: '测试', isAdmin: false, senderStaffId: o.userId,
    sessionWebhookExpiredTime: now + 5_400_000, createAt: now, senderCorpId: o.corpId,
    conversationType: o.group ? '2' : '1', senderId: `$:LWCP_v1:$${o.userId}`,
    ...(o.group ? { conversationTitle: '测试群', isInAtList: true } : {}),
    sessionWebhook: 'https://oapi.dingtalk.com/robot/sendBySession?session=test',
    text: { content: o.text }, robotCode: o.robotCode, msgtype: 'text',
  };
}

/**
 * An event-subscription request as DingTalk sends it (written here from DingTalk's description, apart
 * from bot/dingtalk/events.ts, so the two are checked against each other): AES-256-CBC, key
 * base64(aesKey + '='), IV its first 16 bytes, PKCS#7 to 32 bytes over random(16) ‖ length ‖ JSON ‖
 * owner key; `msg_signature` = sha1 hex of the sorted [token, timestamp, nonce, encrypt].
 */
export function encryptedEvent(o: { token: string; aesKey: string; ownerKey: string; event: unknown; timestamp?: number; nonce?: string }): { query: string; body: string; encrypt: string } {
  const key = Buffer.from(`${o.aesKey}=`, 'base64');
  const json = Buffer.from(JSON.stringify(o.event), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length);
  const plain = Buffer.concat([randomBytes(16), len, json, Buffer.from(o.ownerKey, 'utf8')]);
  const pad = 32 - (plain.length % 32);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  const encrypt = Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]).toString('base64');
  const timestamp = String(o.timestamp ?? Date.now());
  const nonce = o.nonce ?? randomBytes(6).toString('hex');
  const signature = createHash('sha1').update([o.token, timestamp, nonce, encrypt].sort().join('')).digest('hex');
  return { query: `msg_signature=${signature}&timestamp=${timestamp}&nonce=${nonce}`, body: JSON.stringify({ encrypt }), encrypt };
}

/**
 * A card click as DingTalk's card callback delivers it (HTTP mode, the registered callback URL): the
 * card's outTrackId, the clicker, and `content`, the JSON string of `{cardPrivateData: {actionIds,
 * params}}` with the params the template's button sends (custos's `action` and `value`, plus a form's inputs).
 */
export function cardCallback(o: { outTrackId: string; userId: string; corpId: string; params: Record<string, unknown>; actionId?: string }): string {
  return JSON.stringify({
    type: 'actionCallback', outTrackId: o.outTrackId, corpId: o.corpId, userId: o.userId,
    content: JSON.stringify({ cardPrivateData: { actionIds: [o.actionId ?? 'submit'], params: o.params } }),
  });
}

/** The buttons on a delivered card as the template shows them. */
export function cardButtons(card: DeliveredCard): { id: string; text: string; value: string }[] {
  return JSON.parse(card.params.buttons ?? '[]') as { id: string; text: string; value: string }[];
}
