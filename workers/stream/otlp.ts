// OpenTelemetry logs over OTLP/HTTP with the JSON encoding (POST …/v1/logs, an
// ExportLogsServiceRequest). Written by hand rather than with @opentelemetry/exporter-logs-otlp-http:
// that exporter reports a partial success (`partialSuccess.rejectedLogRecords` > 0) as success, and
// the cursor must not move past records the collector rejected; it also needs the SDK's LoggerProvider
// and its own batching, while the stream already batches by seq. The record itself is the log body
// (its JSON, hashing as stored); seq, event id and hashes are attributes for de-duplication.
import { Agent, request } from 'undici';
import { canonicalJSON } from '../../bot/core/audit-event.ts';
import type { OtlpSinkSettings } from '../../bot/config-stream.ts';
import type { SentBatch, SinkPort } from './follower.ts';
import { SinkError, itemTime, type StreamItem } from './items.ts';

const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

export function otlpLogRecord(item: StreamItem): Record<string, unknown> {
  const nanos = `${BigInt(itemTime(item).getTime()) * 1_000_000n}`;
  const attrs = [str('custos.kind', item.kind), { key: 'custos.seq', value: { intValue: String(item.seq) } }, str('custos.hash', item.hash)];
  if (item.kind === 'event') attrs.push(str('custos.event_id', item.body.eventId), str('custos.prev_hash', item.body.prevHash), str('custos.action', String(item.body.action)));
  return {
    timeUnixNano: nanos,
    observedTimeUnixNano: nanos,
    severityNumber: 9, // INFO
    severityText: 'INFO',
    eventName: item.kind === 'event' ? 'custos.audit.event' : 'custos.audit.checkpoint',
    body: { stringValue: canonicalJSON(item.body) },
    attributes: attrs,
  };
}

export class OtlpLogsSink implements SinkPort<StreamItem> {
  readonly name = 'otlp';
  private readonly agent = new Agent({ connections: 16, keepAliveTimeout: 30_000 });

  constructor(private readonly settings: OtlpSinkSettings) {}

  async send(items: StreamItem[]): Promise<SentBatch> {
    const body = JSON.stringify({
      resourceLogs: [{
        resource: { attributes: [str('service.name', 'custos')] },
        scopeLogs: [{ scope: { name: 'custos.audit' }, logRecords: items.map(otlpLogRecord) }],
      }],
    });
    let res;
    try {
      res = await request(this.settings.url, { method: 'POST', headers: { ...this.settings.headers, 'content-type': 'application/json' }, body, dispatcher: this.agent, headersTimeout: 30_000, bodyTimeout: 30_000 });
    } catch (err) {
      throw new SinkError(this.name, `cannot reach the collector (${(err as { code?: string }).code ?? (err as Error).name})`);
    }
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new SinkError(this.name, `collector answered ${res.statusCode}`, [429, 502, 503, 504].includes(res.statusCode));
    let rejected: number;
    try {
      const answer = JSON.parse(text || '{}') as { partialSuccess?: { rejectedLogRecords?: string | number; errorMessage?: string } };
      rejected = Number(answer.partialSuccess?.rejectedLogRecords ?? 0);
    } catch {
      throw new SinkError(this.name, 'collector answered 200 with a body that is not JSON');
    }
    if (rejected > 0) throw new SinkError(this.name, `collector rejected ${rejected} of ${items.length} log records; the batch will be sent again`);
    return { confirm: () => Promise.resolve() };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
