// A fake Splunk HTTP Event Collector with indexer acknowledgement, following Splunk's documented shapes
// (help.splunk.com: "Format events for HTTP Event Collector", "About HTTP Event Collector Indexer
// Acknowledgment", "Troubleshoot HTTP Event Collector" status codes):
//   POST /services/collector/event   `Authorization: Splunk <token>`, `X-Splunk-Request-Channel: <GUID>`
//     body: JSON event objects, concatenated (optionally whitespace-separated), each with a non-empty `event`
//     200 {"text":"Success","code":0,"ackId":N}  (ackIds count from 0 per channel)
//     401 {"text":"Token is required","code":2} / {"text":"Invalid authorization","code":3}
//     403 {"text":"Invalid token","code":4}
//     400 {"text":"No data","code":5} / {"text":"Invalid data format","code":6,"invalid-event-number":i}
//         {"text":"Data channel is missing","code":10} / {"text":"Invalid data channel","code":11}
//         {"text":"Event field is required","code":12,...} / {"text":"Event field cannot be blank","code":13,...}
//     503 {"text":"Server is busy","code":9}
//   POST /services/collector/ack?channel=<GUID>  body {"acks":[0,1]} → {"acks":{"0":true,"1":false}}
//     an ack reported true once is forgotten (a later query of it answers false), as Splunk does.
// A batch is "indexed" `indexDelayMs` after it was accepted; `crash()` loses every batch not yet indexed
// (their acks never turn true), `busy` answers 503, `stop()` / `start()` take the port down and up.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Waiting } from './waiting.ts';

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

interface Batch { events: Record<string, unknown>[]; indexAt: number; lost: boolean }

/** Splits a HEC body into its JSON objects; returns the index of the first bad one instead on failure. */
export function splitConcatenatedJson(body: string): Record<string, unknown>[] | { bad: number } {
  // Fast path: one object per line (what most clients send); anything else goes through the scanner.
  try {
    const lines = body.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
    if (lines.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))) return lines as Record<string, unknown>[];
  } catch { /* not line-separated: scan */ }
  const out: Record<string, unknown>[] = [];
  let i = 0;
  while (i < body.length) {
    while (i < body.length && /\s/.test(body[i]!)) i++;
    if (i >= body.length) break;
    if (body[i] !== '{') return { bad: out.length };
    let depth = 0;
    let inString = false;
    let j = i;
    for (; j < body.length; j++) {
      const c = body[j];
      if (inString) { if (c === '\\') j++; else if (c === '"') inString = false; continue; }
      if (c === '"') inString = true;
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) break;
    }
    try { out.push(JSON.parse(body.slice(i, j + 1)) as Record<string, unknown>); } catch { return { bad: out.length }; }
    i = j + 1;
  }
  return out;
}

export class FakeSplunkHec {
  readonly token: string;
  busy = false;
  indexDelayMs = 5;
  /** Every event body indexed, in indexing order (redeliveries included). */
  readonly indexed: Record<string, unknown>[] = [];
  readonly envelopes: Record<string, unknown>[] = [];
  /** When each entry of `indexed` was indexed (ms since the epoch), for lag measurements. */
  readonly indexedAt: number[] = [];
  /** Keep the envelopes (tests inspect them); a bench turns this off to save memory. */
  keepEnvelopes = true;
  requests = 0;
  private readonly batches = new Map<string, Map<number, Batch>>();
  private readonly nextAck = new Map<string, number>();
  private server: http.Server | null = null;
  private portNo = 0;
  private readonly waiting = new Waiting('fake Splunk HEC');

  constructor(opts: { token: string; maxContentLength?: number }) {
    this.token = opts.token;
    this.maxContentLength = opts.maxContentLength ?? 838_860_800; // limits.conf [http_input] max_content_length
  }

  private readonly maxContentLength: number;

  get url(): string { return `http://127.0.0.1:${this.portNo}`; }

  async start(port = this.portNo): Promise<void> {
    const server = http.createServer((req, res) => { void this.handle(req, res); });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.portNo = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** The indexer fails: batches accepted but not yet indexed are lost. */
  crash(): void {
    const now = Date.now();
    for (const ch of this.batches.values()) for (const b of ch.values()) if (b.indexAt > now) b.lost = true;
  }

  until(done: () => boolean, timeoutMs: number, what: string): Promise<void> { this.index(); return this.waiting.until(() => { this.index(); return done(); }, timeoutMs, what); }

  private index(): void {
    const now = Date.now();
    for (const ch of this.batches.values()) {
      for (const b of ch.values()) {
        if (b.lost || b.indexAt > now || b.indexAt < 0) continue;
        for (const e of b.events) { this.indexed.push(e.event as Record<string, unknown>); this.indexedAt.push(now); }
        b.indexAt = -1; // indexed
      }
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) { size += (c as Buffer).length; if (size <= this.maxContentLength) chunks.push(c as Buffer); }
    this.requests++;
    const reply = (status: number, body: unknown) => { res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }); res.end(JSON.stringify(body)); };
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method !== 'POST' || !['/services/collector/event', '/services/collector', '/services/collector/ack'].includes(url.pathname)) { reply(404, { text: 'The requested URL was not found on this server.', code: 404 }); return; }
    if (size > this.maxContentLength) { reply(413, { text: 'Content-Length of request exceeds max_content_length', code: 27 }); return; }
    const auth = req.headers.authorization;
    if (!auth) { reply(401, { text: 'Token is required', code: 2 }); return; }
    const m = /^Splunk (\S+)$/.exec(auth);
    if (!m) { reply(401, { text: 'Invalid authorization', code: 3 }); return; }
    if (m[1] !== this.token) { reply(403, { text: 'Invalid token', code: 4 }); return; }
    if (this.busy) { reply(503, { text: 'Server is busy', code: 9 }); return; }
    const channel = (req.headers['x-splunk-request-channel'] as string | undefined) ?? url.searchParams.get('channel');
    if (!channel) { reply(400, { text: 'Data channel is missing', code: 10 }); return; }
    if (!GUID.test(channel)) { reply(400, { text: 'Invalid data channel', code: 11 }); return; }
    const body = Buffer.concat(chunks).toString('utf8');
    if (url.pathname === '/services/collector/ack') { this.ack(channel, body, reply); return; }
    if (body.trim() === '') { reply(400, { text: 'No data', code: 5 }); return; }
    const events = splitConcatenatedJson(body);
    if (!Array.isArray(events)) { reply(400, { text: 'Invalid data format', code: 6, 'invalid-event-number': events.bad }); return; }
    for (const [i, e] of events.entries()) {
      if (!('event' in e)) { reply(400, { text: 'Event field is required', code: 12, 'invalid-event-number': i }); return; }
      if (e.event === '' || e.event === null || (typeof e.event === 'object' && Object.keys(e.event as object).length === 0)) { reply(400, { text: 'Event field cannot be blank', code: 13, 'invalid-event-number': i }); return; }
    }
    const ackId = this.nextAck.get(channel) ?? 0;
    this.nextAck.set(channel, ackId + 1);
    if (!this.batches.has(channel)) this.batches.set(channel, new Map());
    this.batches.get(channel)!.set(ackId, { events, indexAt: Date.now() + this.indexDelayMs, lost: false });
    if (this.keepEnvelopes) this.envelopes.push(...events);
    reply(200, { text: 'Success', code: 0, ackId });
    this.waiting.wake();
  }

  private ack(channel: string, body: string, reply: (s: number, b: unknown) => void): void {
    let ids: unknown;
    try { ids = (JSON.parse(body) as { acks?: unknown }).acks; } catch { ids = undefined; }
    if (!Array.isArray(ids) || !ids.every((i) => Number.isInteger(i))) { reply(400, { text: 'Invalid data format', code: 6 }); return; }
    this.index();
    const ch = this.batches.get(channel);
    const acks: Record<string, boolean> = {};
    for (const id of ids as number[]) {
      const b = ch?.get(id);
      acks[String(id)] = Boolean(b && b.indexAt === -1);
      if (acks[String(id)]) ch!.delete(id); // reported once, then forgotten
    }
    reply(200, { acks });
    this.waiting.wake();
  }
}
