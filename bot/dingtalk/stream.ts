// DINGTALK_MODE=stream on DingTalk's official SDK, `dingtalk-stream` (README: DingTalk setup, Stream mode):
// no public URL, custos dials out. The SDK's DWClient owns the ticketed WebSocket, the `ping` echo, the
// reconnection 1 s after any close and the dispatch of CALLBACK frames by topic. custos adds the gateway at
// DINGTALK_API_URL (the SDK hard-codes production's), a start that rejects refused credentials (the SDK
// retries every error), an ack once a callback is handled or finally refused (none when our side failed:
// DingTalk delivers it again), and drops frames the SDK would throw on. Event subscriptions (EVENT frames,
// topic `*`) are answered once handled too, where the SDK would ack them before any asynchronous work.
// A frame is DingTalk's (the socket is opened with the app's secret, over TLS); what it says is checked by
// stream-callbacks.ts.
import { DWClient, EventAck, type DWClientConfig, type DWClientDownStream } from 'dingtalk-stream';
import { z } from 'zod';
import { CustosError, ErrorCode } from '../core/errors.ts';
import type { Acceptance } from '../http/body.ts';
import { openApiRequest } from '../http/open-api.ts';
import type { Logger } from '../logger.ts';
import { heartbeat, type PingSocket, type Timers } from '../runtime/heartbeat.ts';

export const GATEWAY_PATH = '/v1.0/gateway/connections/open';
const Opened = z.object({ endpoint: z.url({ protocol: /^wss?$/ }), ticket: z.string().min(1).max(200) });

/**
 * A callback's verdict (bot/http/body.ts), as over HTTP. Acked when accepted or finally refused (logged);
 * not acked — DingTalk delivers it again — when the acceptor throws or our side could not decide.
 */
export type Acceptor = (data: string) => Promise<Acceptance>;
const OUR_FAILURES: ReadonlySet<string> = new Set(['failed', 'ledger_unavailable']);

export interface StreamOptions {
  settings: { apiUrl: string; appKey: string; appSecret: string };
  /** The CALLBACK topics taken, each with the code that accepts its `data`. */
  topics: Record<string, Acceptor>;
  /** The event subscription (EVENT frames: the event's type and id in the headers); none: no events asked for. */
  events?: (headers: Partial<DWClientDownStream['headers']>, data: string) => Promise<Acceptance>;
  logger: Logger;
  /** The heartbeat's period (default 8 s, the SDK's) and timers (tests count the live ones). */
  heartbeat?: { everyMs: number; timers?: Timers };
}

/** The SDK's fields, private in its typings only: pinned to 2.1.5, a rename fails the stream test. */
interface SdkInternals { dw_url?: string; socket?: PingSocket & { close(): void }; userDisconnect: boolean }

/**
 * keepAlive off: 2.1.5 (the newest on npm) never clears its ping interval when a socket closes, so each
 * reconnect adds one and two race, ending healthy sockets; bot/runtime/heartbeat.ts runs one per socket. The SDK's main
 * branch clears it on close (v2.1.6-beta.1, unpublished): once released, keepAlive can replace it.
 * debug off: it would print the ticket and every frame (personal data).
 */
function sdkConfig(o: StreamOptions): DWClientConfig {
  const subscriptions = o.events ? [{ type: 'EVENT', topic: '*' }] : [];
  return { clientId: o.settings.appKey, clientSecret: o.settings.appSecret, subscriptions, ua: 'custos-dingtalk-stream/2', keepAlive: false, debug: false, autoReconnect: true };
}

export class DingTalkStream extends DWClient {
  private closed = false;
  private failing = false;
  private stopHeartbeat = (): void => undefined;

  constructor(private readonly o: StreamOptions) {
    super(sdkConfig(o));
    for (const [topic, accept] of Object.entries(o.topics)) {
      this.registerCallbackListener(topic, (frame: DWClientDownStream) => { void this.answer(frame, accept); });
    }
  }

  /**
   * Connects; a gateway that refuses the app's credentials is a configuration error and rejects. Any other
   * failure (DingTalk unreachable) is retried by the SDK in the background, and readiness reports it.
   */
  async start(): Promise<void> {
    const opened = await this.getEndpoint().then(() => true, (err: unknown) => { if (err instanceof CustosError) throw err; return false; });
    // A socket that does not open is the SDK's to retry (its close handler reconnects), as is an unreachable gateway.
    await (opened ? this._connect().catch(() => undefined) : void this.connect());
  }

  async close(): Promise<void> { this.closed = true; this.stopHeartbeat(); this.disconnect(); }

  /** The SDK's disconnect without its `console` line (its keepAlive is off: no interval of its own to clear). */
  override disconnect(): void { const sdk = this as unknown as SdkInternals; sdk.userDisconnect = true; sdk.socket?.close(); }

  /** The SDK's getEndpoint (the same request and answer) at DINGTALK_API_URL instead of its fixed host. */
  override async getEndpoint(): Promise<this> {
    try {
      const { endpoint, ticket } = await this.open();
      if (this.closed) throw new Error('dingtalk stream: closed');
      (this as unknown as SdkInternals).dw_url = `${endpoint}?ticket=${encodeURIComponent(ticket)}`;
      return this;
    } catch (err) {
      // Once per outage: the SDK retries every second.
      if (!this.failing && !this.closed) this.o.logger.warn({ err: err instanceof Error ? err.name : typeof err }, 'dingtalk stream: the gateway cannot be reached; retrying');
      this.failing = true;
      throw err;
    }
  }

  /** Connected: a heartbeat per socket (above: not the SDK's keepAlive), ended with it. */
  override async _connect(): Promise<void> {
    await super._connect();
    this.failing = false;
    const { everyMs, timers } = this.o.heartbeat ?? { everyMs: 8_000 };
    const dead = () => this.o.logger.warn({ everyMs }, 'dingtalk stream: no pong within the heartbeat; reconnecting');
    this.stopHeartbeat = heartbeat((this as unknown as SdkInternals).socket!, everyMs, dead, timers);
    this.o.logger.info({ topics: Object.keys(this.o.topics).length }, 'dingtalk stream connected');
  }

  override onDownStream(data: string): void {
    try { super.onDownStream(data); } catch { this.o.logger.warn({ reason: 'malformed_frame' }, 'dingtalk stream: frame dropped'); }
  }

  /**
   * The SDK acks an EVENT at once with what a synchronous listener returns; the work behind an event
   * (offboarding) is asynchronous, so custos answers when it is done, in the SDK's own ack shape: SUCCESS
   * (handled or finally refused), or LATER when our side failed (DingTalk delivers it again).
   */
  override onEvent(frame: DWClientDownStream): void {
    void this.answerEvent(frame);
  }

  private async answerEvent(frame: DWClientDownStream): Promise<void> {
    const headers: Partial<DWClientDownStream['headers']> = frame.headers ?? {};
    const accept = this.o.events ?? (async () => 'accepted');
    const ok = await this.settle('event', () => accept(headers, typeof frame.data === 'string' ? frame.data : ''));
    if (headers.messageId) this.send(headers.messageId, { status: ok ? EventAck.SUCCESS : EventAck.LATER });
  }

  private async open(): Promise<z.infer<typeof Opened>> {
    if (this.closed) throw new Error('dingtalk stream: closed');
    const { apiUrl } = this.o.settings;
    const { clientId, clientSecret, ua, subscriptions } = this.config;
    const { ok, status, body } = await openApiRequest('POST', `${apiUrl}${GATEWAY_PATH}`, { clientId, clientSecret, ua, subscriptions }, { accept: 'application/json' });
    if (status >= 400 && status < 500) {
      throw new CustosError(ErrorCode.ConfigInvalid, `DingTalk refused the Stream connection (HTTP ${status}); check DINGTALK_APP_KEY and DINGTALK_APP_SECRET, and that the robot receives messages in Stream mode`,
        { settings: ['DINGTALK_APP_KEY', 'DINGTALK_APP_SECRET'] });
    }
    const opened = Opened.safeParse(body);
    if (!ok || !opened.success) throw new Error(`dingtalk stream: the gateway answered ${status} without an endpoint`);
    // Never a weaker channel than the call that opened it: ws:// only behind an http:// API URL (a local fake or proxy).
    if (opened.data.endpoint.startsWith('ws:') && !apiUrl.startsWith('http:')) throw new Error('dingtalk stream: refusing a ws:// endpoint from an https gateway');
    return opened.data;
  }

  /** Acknowledged (`{response: null}`, code 200) when handled or finally refused; silence asks DingTalk to retry. */
  private async answer(frame: DWClientDownStream, accept: Acceptor): Promise<void> {
    const ok = await this.settle(frame.headers.topic ?? 'callback', () => accept(typeof frame.data === 'string' ? frame.data : ''));
    if (ok && frame.headers.messageId) this.socketCallBackResponse(frame.headers.messageId, null);
  }

  /** Whether to ack: accepted, or refused for good (logged); not when the acceptor threw or our side failed. */
  private async settle(topic: string, accept: () => Promise<Acceptance>): Promise<boolean> {
    const verdict = await accept().catch(() => 'failed');
    if (verdict !== 'accepted') this.o.logger.warn({ topic, reason: verdict }, 'dingtalk stream: callback refused');
    return verdict === 'accepted' || !OUR_FAILURES.has(verdict);
  }
}
