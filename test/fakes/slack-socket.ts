// A local fake of Slack's Socket Mode WebSocket endpoint (the URL `apps.connections.open` hands out; see
// FakeSlackApi.socketMode). It behaves as Slack does on the wire: `hello` once a client connects,
// envelopes (`slash_commands`, `interactive`, `events_api`) carrying the same payloads as the HTTP
// requests, acknowledgements as `{envelope_id, payload}`, and `disconnect` when it wants the client to
// reconnect. It records every acknowledgement with how long it took.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { Waiting } from './waiting.ts';

/** `at`: when the acknowledgement arrived (Date.now()), to order it against the bot's Web API calls. */
export interface SocketAck { envelopeId: string; payload: Record<string, unknown>; afterMs: number; at: number }

export class FakeSlackSocket {
  readonly acks: SocketAck[] = [];
  /** How many WebSocket connections clients have opened (a reconnect adds one). */
  connections = 0;
  private server: WebSocketServer | undefined;
  private current: WebSocket | undefined;
  private port = 0;
  private ticket = 0;
  private readonly sentAt = new Map<string, number>();
  private readonly waiting = new Waiting('fake Slack socket');

  async start(): Promise<void> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    this.server = server;
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    this.port = (server.address() as AddressInfo).port;
    server.on('connection', (ws) => {
      this.connections++;
      this.current = ws;
      ws.on('message', (data) => this.onMessage(String(data)));
      ws.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'fake-socket' }, connection_info: { app_id: 'A0FAKE' } }));
      this.waiting.wake();
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A fresh connection URL (what apps.connections.open returns). */
  url(): string {
    return `ws://127.0.0.1:${this.port}/link/?ticket=${++this.ticket}&app_id=A0FAKE`;
  }

  /** Resolves once at least `n` connections have been opened. */
  async connected(n = 1, timeoutMs = 60_000): Promise<void> {
    await this.waiting.until(() => this.connections >= n && this.current?.readyState === 1, timeoutMs, `${n} connection(s)`);
  }

  /** Sends an envelope of `type` with `payload` on the open connection; returns its envelope id. */
  send(type: 'slash_commands' | 'interactive' | 'events_api', payload: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
    if (!this.current || this.current.readyState !== 1) throw new Error('fake Slack socket: no open connection');
    const envelopeId = randomUUID();
    this.sentAt.set(envelopeId, Date.now());
    this.current.send(JSON.stringify({ envelope_id: envelopeId, type, payload, accepts_response_payload: type !== 'events_api', ...extra }));
    return envelopeId;
  }

  /** Cuts the open connection without a word, as a network failure does. */
  drop(): void {
    this.current?.terminate();
  }

  /** Asks the client to reconnect, as Slack does when it recycles a connection. */
  requestReconnect(): void {
    this.current?.send(JSON.stringify({ type: 'disconnect', reason: 'refresh_requested', debug_info: { host: 'fake-socket' } }));
  }

  /** The acknowledgement of `envelopeId`, once it arrives. */
  async ackFor(envelopeId: string, timeoutMs = 60_000): Promise<SocketAck> {
    await this.waiting.until(() => this.acks.some((a) => a.envelopeId === envelopeId), timeoutMs, `ack of ${envelopeId}`);
    return this.acks.find((a) => a.envelopeId === envelopeId)!;
  }

  private onMessage(raw: string): void {
    let msg: { envelope_id?: unknown; payload?: unknown };
    try { msg = JSON.parse(raw) as typeof msg; } catch { return; }
    if (typeof msg.envelope_id !== 'string') return;
    const sent = this.sentAt.get(msg.envelope_id) ?? Date.now();
    this.acks.push({ envelopeId: msg.envelope_id, payload: (msg.payload ?? {}) as Record<string, unknown>, afterMs: Date.now() - sent, at: Date.now() });
    this.waiting.wake();
  }
}
