// A local fake of Lark's long-connection server (the WebSocket that `POST /callback/ws/endpoint` hands out;
// see FakeLarkApi.longConnection). It speaks the wire protocol of the SDK's WSClient
// (@larksuiteoapi/node-sdk 1.74, lib/index.js: `pbbp2.Frame`, `WSClient.pingLoop`, `handleControlData`,
// `handleEventData`): binary protobuf `Frame`s; control frames (method 0) carry `type: ping` from the
// client and `type: pong` with the client config (JSON) from the server; data frames (method 1) carry
// `type: event` with `message_id`, `sum`, `seq`, `trace_id` and the event JSON as payload (split into
// `sum` fragments when large), and the client answers each with the same frame, a `biz_rt` header added
// and the payload `{"code": 200|500, "data"?: base64(JSON of the handler's answer)}`. Card callbacks
// (`card.action.trigger`) arrive the same way, as `type: event`; the SDK drops `type: card` frames.
// The SDK does not export its protobuf classes, so the Frame codec below is written out (test code only).
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { WsEndpoint } from './lark-api.ts';
import { Waiting } from './waiting.ts';

/** pbbp2.Frame: SeqID=1, LogID=2, service=3, method=4, headers=5 (key=1, value=2), payloadEncoding=6, payloadType=7, payload=8, LogIDNew=9. */
export interface LarkFrame {
  SeqID: number;
  LogID: number;
  service: number;
  method: number; // 0 control, 1 data
  headers: { key: string; value: string }[];
  payloadEncoding?: string;
  payloadType?: string;
  payload?: Uint8Array;
  LogIDNew?: string;
}

export interface LarkWsAck {
  messageId: string;
  code: number;
  /** The handler's answer (decoded from the base64 `data`), if it gave one. */
  data?: Record<string, unknown>;
  headers: Record<string, string>;
  afterMs: number;
  /** When the acknowledgement arrived (Date.now()), to order it against the bot's other calls. */
  at: number;
}

const SERVICE_ID = 33554678;
const CONTROL = 0;
const DATA = 1;

export class FakeLarkWs {
  readonly acks: LarkWsAck[] = [];
  /** Ping frames received (each answered with a pong). */
  pings = 0;
  /** How many WebSocket connections clients have opened (a reconnect adds one). */
  connections = 0;
  /** Connections refused because their ticket was unknown or already used. */
  refused = 0;
  /** While true the endpoint answers Lark's internal error (1000040343), which the WSClient retries. */
  unavailable = false;
  /** What the endpoint and every pong tell the client (seconds; ReconnectCount -1 = forever). */
  clientConfig = { PingInterval: 120, ReconnectCount: -1, ReconnectInterval: 1, ReconnectNonce: 0 };
  private server: WebSocketServer | undefined;
  private current: WebSocket | undefined;
  private currentPinged = false;
  private port = 0;
  private seq = 0;
  private readonly tickets = new Set<string>();
  private readonly sentAt = new Map<string, number>();
  private readonly waiting = new Waiting('fake Lark ws');

  async start(): Promise<void> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    this.server = server;
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    this.port = (server.address() as AddressInfo).port;
    server.on('connection', (ws, req) => {
      // Like Lark, a URL is good for one connection: the ticket must be one the endpoint issued.
      const ticket = new URL(req.url ?? '/', 'ws://fake').searchParams.get('ticket') ?? '';
      if (!this.tickets.delete(ticket)) {
        this.refused++;
        ws.close(1008, 'invalid ticket');
        return;
      }
      this.connections++;
      this.current = ws;
      this.currentPinged = false;
      ws.on('message', (data: Buffer) => this.onFrame(ws, data));
      this.waiting.wake();
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** What the endpoint answers: a fresh one-use URL shaped like Lark's (device_id and service_id in the query). */
  endpoint(): WsEndpoint {
    if (this.unavailable) return { code: 1000040343, msg: 'internal error' };
    const ticket = randomUUID();
    this.tickets.add(ticket);
    const url = `ws://127.0.0.1:${this.port}/ws/v2?fpid=493&aid=552564&device_id=${7000 + this.connections}&access_key=fake&service_id=${SERVICE_ID}&ticket=${ticket}`;
    return { url, clientConfig: { ...this.clientConfig } };
  }

  /**
   * Resolves once at least `n` connections have been opened and the latest has sent its first ping. The
   * WSClient pings from its 'open' handler but attaches its frame listener only a few ticks later
   * (`tryConnect`: connect() resolves, then communicate()); a frame pushed before the ping reached us could
   * arrive in between and be lost, so "connected" means "pinged".
   */
  async connected(n = 1, timeoutMs = 60_000): Promise<void> {
    await this.waiting.until(() => this.connections >= n && this.current?.readyState === 1 && this.currentPinged, timeoutMs, `${n} connection(s)`);
  }

  /** Resolves once at least `n` pings have arrived. */
  async pinged(n = 1, timeoutMs = 60_000): Promise<void> {
    await this.waiting.until(() => this.pings >= n, timeoutMs, `${n} ping(s)`);
  }

  /**
   * Sends `event` (a v2 envelope) as data frame(s) on the open connection, split into `fragments` parts
   * as Lark splits large events; returns the frame's message id (Lark's, not the event's id).
   */
  sendEvent(event: Record<string, unknown>, fragments = 1): string {
    const ws = this.current;
    if (!ws || ws.readyState !== 1) throw new Error('fake Lark ws: no open connection');
    const messageId = randomUUID();
    const bytes = Buffer.from(JSON.stringify(event), 'utf8');
    const size = Math.ceil(bytes.length / fragments);
    this.sentAt.set(messageId, Date.now());
    for (let i = 0; i < fragments; i++) {
      ws.send(encodeFrame({
        SeqID: ++this.seq, LogID: this.seq, service: SERVICE_ID, method: DATA,
        headers: [
          { key: 'type', value: 'event' }, { key: 'message_id', value: messageId }, { key: 'sum', value: String(fragments) },
          { key: 'seq', value: String(i) }, { key: 'trace_id', value: randomUUID() },
        ],
        payload: bytes.subarray(i * size, (i + 1) * size),
      }));
    }
    return messageId;
  }

  /** Drops the connection without a close handshake, as a network failure or a Lark restart would. */
  drop(): void {
    this.current?.terminate();
  }

  /** The client's response to data frame `messageId`, once it arrives. */
  async ackFor(messageId: string, timeoutMs = 60_000): Promise<LarkWsAck> {
    await this.waiting.until(() => this.acks.some((a) => a.messageId === messageId), timeoutMs, `ack of ${messageId}`);
    return this.acks.find((a) => a.messageId === messageId)!;
  }

  private onFrame(ws: WebSocket, raw: Buffer): void {
    let frame: LarkFrame;
    try { frame = decodeFrame(raw); } catch { return; }
    const headers = Object.fromEntries(frame.headers.map((h) => [h.key, h.value]));
    if (frame.method === CONTROL && headers.type === 'ping') {
      this.pings++;
      if (ws === this.current) this.currentPinged = true;
      ws.send(encodeFrame({
        SeqID: 0, LogID: 0, service: frame.service, method: CONTROL, headers: [{ key: 'type', value: 'pong' }],
        payload: Buffer.from(JSON.stringify(this.clientConfig)),
      }));
    } else if (frame.method === DATA && headers.message_id) {
      const body = JSON.parse(Buffer.from(frame.payload ?? []).toString('utf8')) as { code: number; data?: string };
      const sent = this.sentAt.get(headers.message_id) ?? Date.now();
      this.acks.push({
        messageId: headers.message_id, code: body.code, headers, afterMs: Date.now() - sent, at: Date.now(),
        ...(body.data ? { data: JSON.parse(Buffer.from(body.data, 'base64').toString('utf8')) as Record<string, unknown> } : {}),
      });
    }
    this.waiting.wake();
  }
}

// --- protobuf wire format, just what Frame needs: varints (wire type 0) and length-delimited (2) ---

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) { out.push((v % 0x80) | 0x80); v = Math.floor(v / 0x80); }
  out.push(v);
  return out;
}

function bytesField(field: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(varint((field << 3) | 2)), Buffer.from(varint(bytes.length)), bytes]);
}

function varintField(field: number, n: number): Buffer {
  return Buffer.from([...varint(field << 3), ...varint(n)]);
}

export function encodeFrame(f: LarkFrame): Buffer {
  const parts = [varintField(1, f.SeqID), varintField(2, f.LogID), varintField(3, f.service), varintField(4, f.method)];
  for (const h of f.headers) {
    parts.push(bytesField(5, Buffer.concat([bytesField(1, Buffer.from(h.key)), bytesField(2, Buffer.from(h.value))])));
  }
  if (f.payloadEncoding !== undefined) parts.push(bytesField(6, Buffer.from(f.payloadEncoding)));
  if (f.payloadType !== undefined) parts.push(bytesField(7, Buffer.from(f.payloadType)));
  if (f.payload !== undefined) parts.push(bytesField(8, f.payload));
  if (f.LogIDNew !== undefined) parts.push(bytesField(9, Buffer.from(f.LogIDNew)));
  return Buffer.concat(parts);
}

/** Field number → values (numbers for varints, bytes for length-delimited), other wire types skipped. */
function fields(buf: Uint8Array): Map<number, (number | Uint8Array)[]> {
  const out = new Map<number, (number | Uint8Array)[]>();
  let pos = 0;
  const readVarint = (): number => {
    let n = 0;
    let mul = 1;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const b = buf[pos++]!;
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      mul *= 0x80;
    }
  };
  while (pos < buf.length) {
    const tag = readVarint();
    const field = tag >>> 3;
    const wire = tag & 7;
    let value: number | Uint8Array;
    if (wire === 0) value = readVarint();
    else if (wire === 2) { const len = readVarint(); value = buf.subarray(pos, pos + len); pos += len; }
    else if (wire === 1) { pos += 8; continue; } else if (wire === 5) { pos += 4; continue; } else throw new Error(`wire type ${wire}`);
    out.set(field, [...(out.get(field) ?? []), value]);
  }
  return out;
}

export function decodeFrame(buf: Uint8Array): LarkFrame {
  const f = fields(buf);
  const num = (n: number): number => { const v = f.get(n)?.[0]; if (typeof v !== 'number') throw new Error(`Frame field ${n} missing`); return v; };
  const str = (v: number | Uint8Array | undefined) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : undefined);
  const headers = (f.get(5) ?? []).map((h) => {
    const hf = fields(h as Uint8Array);
    return { key: str(hf.get(1)?.[0]) ?? '', value: str(hf.get(2)?.[0]) ?? '' };
  });
  const payload = f.get(8)?.[0];
  return {
    SeqID: num(1), LogID: num(2), service: num(3), method: num(4), headers,
    ...(payload instanceof Uint8Array ? { payload } : {}),
  };
}
