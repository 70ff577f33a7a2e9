// A fake OpenTelemetry collector's OTLP/HTTP logs receiver, JSON encoding (opentelemetry.io/docs/specs/
// otlp: POST /v1/logs, Content-Type application/json, an ExportLogsServiceRequest; 200 with an
// ExportLogsServiceResponse, `partialSuccess.rejectedLogRecords` when some were rejected; 415 for
// another content type, 400 for a malformed request, 503 when unavailable, a retryable code).
// `rejectNext` makes the next request a partial success: its last N records are rejected (not stored).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Waiting } from './waiting.ts';

export interface OtlpLogRecord { timeUnixNano: string; body: { stringValue: string }; attributes: { key: string; value: Record<string, unknown> }[] }

export class FakeOtlpReceiver {
  readonly records: OtlpLogRecord[] = [];
  unavailable = false;
  rejectNext = 0;
  private server: http.Server | null = null;
  private portNo = 0;
  private readonly waiting = new Waiting('fake OTLP receiver');

  get url(): string { return `http://127.0.0.1:${this.portNo}/v1/logs`; }

  async start(port = this.portNo): Promise<void> {
    const server = http.createServer((req, res) => { void this.handle(req, res); });
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

  until(done: () => boolean, timeoutMs: number, what: string): Promise<void> { return this.waiting.until(done, timeoutMs, what); }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const reply = (status: number, body: unknown) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
    if (req.method !== 'POST' || req.url !== '/v1/logs') { reply(404, { code: 5, message: 'not found' }); return; }
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) { reply(415, { code: 3, message: 'unsupported content type' }); return; }
    if (this.unavailable) { reply(503, { code: 14, message: 'unavailable' }); return; }
    let records: OtlpLogRecord[];
    try {
      records = this.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch (err) {
      reply(400, { code: 3, message: (err as Error).message });
      return;
    }
    const rejected = Math.min(this.rejectNext, records.length);
    this.rejectNext = 0;
    this.records.push(...records.slice(0, records.length - rejected));
    reply(200, rejected > 0 ? { partialSuccess: { rejectedLogRecords: String(rejected), errorMessage: 'rejected by the fake' } } : {});
    this.waiting.wake();
  }

  private parse(req: unknown): OtlpLogRecord[] {
    const rl = (req as { resourceLogs?: unknown }).resourceLogs;
    if (!Array.isArray(rl)) throw new Error('resourceLogs must be an array');
    const out: OtlpLogRecord[] = [];
    for (const r of rl as { scopeLogs?: unknown }[]) {
      if (!Array.isArray(r.scopeLogs)) throw new Error('scopeLogs must be an array');
      for (const s of r.scopeLogs as { logRecords?: unknown }[]) {
        if (!Array.isArray(s.logRecords)) throw new Error('logRecords must be an array');
        for (const lr of s.logRecords as OtlpLogRecord[]) {
          if (!/^\d+$/.test(String(lr.timeUnixNano))) throw new Error('timeUnixNano must be a decimal string (fixed64 in JSON)');
          if (typeof lr.body?.stringValue !== 'string') throw new Error('body must be an AnyValue');
          for (const a of lr.attributes ?? []) if (typeof a.key !== 'string' || typeof a.value !== 'object') throw new Error('attributes must be KeyValue');
          out.push(lr);
        }
      }
    }
    return out;
  }
}
