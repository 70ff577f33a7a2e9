// DINGTALK_MODE=stream: DingTalk's Stream protocol (open.dingtalk.com "Stream 模式协议"), spoken here
// over undici's WebSocket because the official `dingtalk-stream` SDK is not among the project's
// dependencies (README: DingTalk, "Stream mode"). No public URL: custos dials out.
//  1. POST {DINGTALK_API_URL}/v1.0/gateway/connections/open with the app's clientId/clientSecret and the
//     CALLBACK topics it takes; DingTalk answers {endpoint, ticket} (a ticket is good for one connection).
//  2. WebSocket to `${endpoint}?ticket=…`. DingTalk pushes frames {specVersion, type, headers: {topic,
//     messageId, contentType, time}, data}; custos answers each with {code, headers: {contentType,
//     messageId}, message, data} — SYSTEM `ping` echoed, CALLBACK acked once handled.
//  3. A SYSTEM `disconnect` (DingTalk rotates connections) or a dropped socket: a new ticket, a new socket,
//     after a back-off that grows while DingTalk cannot be reached.
// The socket is authenticated by the app's secret (the gateway call) and TLS, so a frame is DingTalk's;
// what it says is still checked and deduplicated by the same code as an HTTP callback (stream-callbacks.ts).
import { WebSocket } from 'undici';
import { z } from 'zod';
import { CustosError, ErrorCode } from '../core/errors.ts';
import type { Logger } from '../logger.ts';

export const GATEWAY_PATH = '/v1.0/gateway/connections/open';
const Opened = z.object({ endpoint: z.url({ protocol: /^wss?$/ }), ticket: z.string().min(1).max(200) });
const Frame = z.object({
  type: z.enum(['SYSTEM', 'EVENT', 'CALLBACK']),
  headers: z.object({ topic: z.string().max(200), messageId: z.string().max(200).optional() }),
  data: z.string().max(256 * 1024).default(''),
});
type Frame = z.infer<typeof Frame>;

/** What custos answers a callback with: `ok` (handled or finally refused) or `retry` (our side failed). */
export type StreamVerdict = 'ok' | 'retry';

export interface StreamOptions {
  settings: { apiUrl: string; appKey: string; appSecret: string };
  /** The CALLBACK topics taken, each with the code that accepts its `data`. */
  topics: Record<string, (data: string) => Promise<StreamVerdict>>;
  logger: Logger;
  /** The first reconnect waits this long, doubling per failed attempt up to a minute. */
  reconnectBaseMs?: number;
}

export class DingTalkStream {
  private socket: WebSocket | undefined;
  private closed = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: StreamOptions) {}

  /**
   * Connects; a gateway that refuses the app's credentials is a configuration error and rejects. Any other
   * failure (DingTalk unreachable) keeps retrying in the background, and readiness reports it.
   */
  async start(): Promise<void> {
    try {
      await this.connect();
    } catch (err) {
      if (err instanceof CustosError) throw err;
      this.failures = 1;
      this.reconnect();
    }
  }

  connected(): boolean { return this.socket?.readyState === WebSocket.OPEN; }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.socket?.close();
  }

  private async connect(): Promise<void> {
    const { endpoint, ticket } = await this.open();
    const socket = new WebSocket(`${endpoint}?ticket=${encodeURIComponent(ticket)}`);
    socket.addEventListener('message', (e) => { void this.onFrame(socket, e.data); });
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve(), { once: true });
      socket.addEventListener('error', () => reject(new Error('dingtalk stream: the socket did not open')), { once: true });
    });
    if (this.closed) return socket.close();
    this.socket = socket;
    this.failures = 0;
    socket.addEventListener('close', () => { if (this.socket === socket) this.reconnect(); });
    this.o.logger.info({ topics: Object.keys(this.o.topics).length }, 'dingtalk stream connected');
  }

  private async open(): Promise<z.infer<typeof Opened>> {
    const { apiUrl, appKey, appSecret } = this.o.settings;
    const res = await fetch(`${apiUrl}${GATEWAY_PATH}`, {
      method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        clientId: appKey, clientSecret: appSecret, ua: 'custos-dingtalk-stream/1',
        subscriptions: Object.keys(this.o.topics).map((topic) => ({ type: 'CALLBACK', topic })),
      }),
    });
    const body: unknown = await res.json().catch(() => null);
    if (res.status >= 400 && res.status < 500) {
      throw new CustosError(ErrorCode.ConfigInvalid, `DingTalk refused the Stream connection (HTTP ${res.status}); check DINGTALK_APP_KEY and DINGTALK_APP_SECRET, and that the robot receives messages in Stream mode`,
        { settings: ['DINGTALK_APP_KEY', 'DINGTALK_APP_SECRET'] });
    }
    const opened = Opened.safeParse(body);
    if (!res.ok || !opened.success) throw new Error(`dingtalk stream: the gateway answered ${res.status} without an endpoint`);
    // Never a weaker channel than the call that opened it: ws:// only behind an http:// API URL (a local fake or proxy).
    if (opened.data.endpoint.startsWith('ws:') && !apiUrl.startsWith('http:')) throw new Error('dingtalk stream: refusing a ws:// endpoint from an https gateway');
    return opened.data;
  }

  /** A new ticket and socket, after 1 s, 2 s, 4 s … (at most a minute) while attempts fail. */
  private reconnect(): void {
    this.socket = undefined;
    if (this.closed) return;
    const wait = Math.min((this.o.reconnectBaseMs ?? 1000) * 2 ** this.failures, 60_000);
    this.o.logger.warn({ attempt: this.failures + 1, waitMs: wait }, 'dingtalk stream: reconnecting');
    this.timer = setTimeout(() => {
      this.connect().catch((err: unknown) => {
        this.failures += 1;
        this.o.logger.warn({ err: err instanceof Error ? err.name : typeof err }, 'dingtalk stream: reconnect failed');
        this.reconnect();
      });
    }, wait);
  }

  private async onFrame(socket: WebSocket, raw: unknown): Promise<void> {
    let frame: Frame;
    try {
      const parsed = Frame.safeParse(JSON.parse(typeof raw === 'string' ? raw : Buffer.from(raw as ArrayBuffer).toString('utf8')));
      if (!parsed.success) throw new Error('not a frame');
      frame = parsed.data;
    } catch {
      return this.o.logger.warn({ reason: 'malformed_frame' }, 'dingtalk stream: frame dropped');
    }
    const { topic, messageId } = frame.headers;
    if (frame.type === 'SYSTEM') {
      if (topic === 'ping') ack(socket, messageId, 200, frame.data);
      // DingTalk closes this socket ten seconds after saying so: the next one is opened now.
      if (topic === 'disconnect' && this.socket === socket) { this.socket = undefined; socket.close(1000); this.failures = 0; this.reconnect(); }
      return;
    }
    const accept = frame.type === 'CALLBACK' ? this.o.topics[topic] : undefined;
    if (!accept) return ack(socket, messageId, 404, JSON.stringify({ response: null }));
    const verdict = await accept(frame.data).catch(() => 'retry' as const);
    ack(socket, messageId, verdict === 'ok' ? 200 : 500, JSON.stringify({ response: null }));
  }
}

/** The protocol's answer to a pushed frame (DingTalk redelivers what it does not see answered). */
function ack(socket: WebSocket, messageId: string | undefined, code: number, data: string): void {
  if (!messageId || socket.readyState !== WebSocket.OPEN) return;
  socket.send(JSON.stringify({ code, headers: { contentType: 'application/json', messageId }, message: code === 200 ? 'OK' : code === 404 ? 'topic not subscribed' : 'internal error', data }));
}
