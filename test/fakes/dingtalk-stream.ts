// A local fake of DingTalk's Stream gateway for tests, following the Stream protocol description
// (open-dingtalk developerpedia "协议描述", the official docs' stream-mode-protocol-access-description):
//  - POST /v1.0/gateway/connections/open on the fake Open API (FakeDingTalkApi, DINGTALK_API_URL): the
//    app's clientId and clientSecret (else HTTP 400, as the token API refuses them), `subscriptions` of
//    {type: EVENT|CALLBACK, topic}; answers {endpoint, ticket}: this fake's ws:// server and a ticket good
//    for one connection within 90 s;
//  - the WebSocket handshake `GET {endpoint}?ticket=…`: an unknown, used or expired ticket → HTTP 401;
//  - frames it pushes: {specVersion: '1.0', type, headers: {appId, connectionId, contentType, messageId,
//    time, topic}, data} — CALLBACK (robot messages, card clicks), EVENT (the event subscription, topic `*`:
//    the headers add eventType, eventId, eventBornTime, eventCorpId and eventUnifiedAppId, as the SDK's
//    DWClientDownStream and the Java SDK's EventHeaders name them; the data is the event's business part
//    in camelCase, e.g. user_leave_org's {timeStamp, userId: [...]}) and SYSTEM (`ping` with {opaque},
//    `disconnect` with {reason}, after which it closes the socket `disconnectGraceMs` later — DingTalk's
//    10 s by default — unless the client does);
//  - answers it expects: {code, headers: {contentType: 'application/json', messageId}, message, data};
//    an EVENT is answered with data {status: SUCCESS | LATER} (the SDK's EventAck); a CALLBACK or EVENT
//    not answered with code 200 is pushed again on the next connection (DingTalk redelivers
//    what it did not see acknowledged), and anything else the client sends is recorded as malformed.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { FakeDingTalkApi } from './dingtalk.ts';
import { Waiting } from './waiting.ts';

export interface StreamAck { messageId: string; code: number; message: string; data: string; connection: number }
export interface GatewayOpen { clientId: unknown; subscriptions: { type: string; topic: string }[]; ua: unknown }

const TICKET_MS = 90_000;
const newMessageId = () => `${randomUUID().slice(0, 8)}_${Date.now().toString(16)}`;

export class FakeDingTalkStream {
  readonly acks: StreamAck[] = [];
  readonly opens: GatewayOpen[] = [];
  /** Everything the client sent that is not a well-formed answer to a pushed frame. */
  readonly malformed: string[] = [];
  /** Handshakes refused (unknown, used or expired ticket). */
  refusedHandshakes = 0;
  connections = 0;
  /** Who closed each socket told `disconnect`: the client itself, or the gateway when its grace ran out. */
  readonly disconnectedBy: ('client' | 'gateway')[] = [];
  private readonly rotating = new Set<WebSocket>();
  private readonly tickets = new Map<string, number>();
  private readonly frames = new Map<string, string>();
  private readonly unacked = new Set<string>();
  private readonly waiting = new Waiting('fake dingtalk stream');
  private wss: WebSocketServer | undefined;
  private socket: WebSocket | undefined;

  constructor(private readonly api: FakeDingTalkApi, private readonly disconnectGraceMs = 10_000) {}

  async start(): Promise<void> {
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: 0, verifyClient: (info, done) => done(this.takeTicket(info.req.url ?? ''), 401) });
    await new Promise<void>((r) => this.wss!.once('listening', r));
    this.wss.on('connection', (ws) => this.connected(ws));
    this.api.gateway = (body) => this.open(body);
  }

  async stop(): Promise<void> {
    for (const c of this.wss?.clients ?? []) c.terminate();
    await new Promise<void>((r) => (this.wss ? this.wss.close(() => r()) : r()));
  }

  get endpoint(): string { return `ws://127.0.0.1:${(this.wss!.address() as AddressInfo).port}/connect`; }
  get isConnected(): boolean { return this.socket !== undefined; }

  /** Pushes a CALLBACK frame on `topic` (now, or on the next connection); returns its messageId. */
  push(topic: string, data: unknown, messageId = newMessageId()): string {
    return this.send('CALLBACK', { topic }, data, messageId);
  }

  /** Pushes an EVENT frame of the event subscription (now, or on the next connection); returns its messageId. */
  pushEvent(event: { eventType: string; eventId: string; eventCorpId: string; data: unknown }, messageId = newMessageId()): string {
    const { data, ...headers } = event;
    return this.send('EVENT', { topic: '*', ...headers, eventBornTime: String(Date.now()), eventUnifiedAppId: 'fake-unified-app' }, data, messageId);
  }

  private send(type: 'CALLBACK' | 'EVENT', headers: Record<string, string>, data: unknown, messageId: string): string {
    const frame = JSON.stringify({
      specVersion: '1.0', type, data: typeof data === 'string' ? data : JSON.stringify(data),
      headers: { appId: 'fake-app', connectionId: `conn-${this.connections}`, contentType: 'application/json', messageId, time: String(Date.now()), ...headers },
    });
    this.frames.set(messageId, frame);
    this.unacked.add(messageId);
    this.socket?.send(frame);
    return messageId;
  }

  /** Sends an already pushed frame again, acknowledged or not (DingTalk's retries). */
  redeliver(messageId: string): void { this.socket?.send(this.frames.get(messageId)!); }

  /** Any text on the socket, as a broken or hostile gateway might send. */
  sendRaw(text: string): void { this.socket?.send(text); }

  /** A SYSTEM ping; the client must echo its data. */
  ping(): string {
    const messageId = `ping-${randomUUID().slice(0, 8)}`;
    this.socket?.send(JSON.stringify({ specVersion: '1.0', type: 'SYSTEM', headers: { contentType: 'application/json', messageId, time: String(Date.now()), topic: 'ping' }, data: JSON.stringify({ opaque: messageId }) }));
    return messageId;
  }

  /** The connection drops without a word (network failure, gateway restart). */
  drop(): void {
    this.socket?.terminate();
    this.socket = undefined;
  }

  /** The path dies without closing (a NAT that forgot the flow): the socket stays open but nothing is read or answered, pings included. */
  silence(): void { this.socket?.pause(); }

  /** DingTalk's graceful rotation: SYSTEM disconnect, then the socket closes after the grace unless the client closes it first. */
  disconnect(): void {
    const s = this.socket;
    if (s) this.rotating.add(s);
    s?.send(JSON.stringify({ specVersion: '1.0', type: 'SYSTEM', headers: { contentType: 'application/json', topic: 'disconnect', time: String(Date.now()) }, data: JSON.stringify({ reason: 'connection is expired' }) }));
    setTimeout(() => {
      if (!s || !this.rotating.delete(s)) return;
      this.disconnectedBy.push('gateway');
      s.terminate();
    }, this.disconnectGraceMs).unref();
  }

  acksOf(messageId: string): StreamAck[] { return this.acks.filter((a) => a.messageId === messageId); }

  async waitForAcks(messageId: string, count = 1, timeoutMs = 60_000): Promise<StreamAck[]> {
    await this.waiting.until(() => this.acksOf(messageId).length >= count, timeoutMs, `${count} acks of ${messageId}`);
    return this.acksOf(messageId);
  }

  async waitFor(done: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
    await this.waiting.until(done, timeoutMs, what);
  }

  async waitForConnections(count: number, timeoutMs = 60_000): Promise<void> {
    await this.waiting.until(() => this.connections >= count && this.socket !== undefined, timeoutMs, `connection #${count}`);
  }

  private open(body: Record<string, unknown>): { status: number; payload: unknown } {
    if (body.clientId !== this.api.appKey || body.clientSecret !== this.api.appSecret) return { status: 400, payload: { code: 'invalidClientIdOrSecret', message: 'wrong client id or secret' } };
    const subs = body.subscriptions;
    const valid = Array.isArray(subs) && subs.length > 0 && subs.every((s: { type?: unknown; topic?: unknown }) => (s.type === 'EVENT' || s.type === 'CALLBACK') && typeof s.topic === 'string');
    if (!valid) return { status: 400, payload: { code: 'InvalidParameter', message: 'subscriptions required' } };
    this.opens.push({ clientId: body.clientId, subscriptions: subs as GatewayOpen['subscriptions'], ua: body.ua });
    const ticket = randomUUID();
    this.tickets.set(ticket, Date.now() + TICKET_MS);
    return { status: 200, payload: { endpoint: this.endpoint, ticket } };
  }

  private takeTicket(url: string): boolean {
    const ticket = new URL(url, 'ws://x').searchParams.get('ticket') ?? '';
    const until = this.tickets.get(ticket);
    this.tickets.delete(ticket);
    const ok = until !== undefined && until > Date.now();
    if (!ok) this.refusedHandshakes += 1;
    return ok;
  }

  private connected(ws: WebSocket): void {
    this.socket?.terminate(); // one connection at a time in this fake: the newest wins
    this.socket = ws;
    const connection = ++this.connections;
    ws.on('message', (raw: Buffer) => this.answered(raw.toString('utf8'), connection));
    ws.on('close', () => {
      if (this.rotating.delete(ws)) this.disconnectedBy.push('client');
      if (this.socket === ws) this.socket = undefined;
      this.waiting.wake();
    });
    for (const id of this.unacked) ws.send(this.frames.get(id)!);
    this.waiting.wake();
  }

  private answered(text: string, connection: number): void {
    try {
      const a = JSON.parse(text) as { code?: unknown; headers?: { messageId?: unknown; contentType?: unknown }; message?: unknown; data?: unknown };
      const ok = typeof a.code === 'number' && typeof a.headers?.messageId === 'string' && a.headers.contentType === 'application/json'
        && typeof a.message === 'string' && typeof a.data === 'string';
      if (!ok) throw new Error('not an answer');
      const messageId = a.headers!.messageId as string;
      this.acks.push({ messageId, code: a.code as number, message: a.message as string, data: a.data as string, connection });
      if (a.code === 200) this.unacked.delete(messageId);
    } catch {
      this.malformed.push(text);
    }
    this.waiting.wake();
  }
}
