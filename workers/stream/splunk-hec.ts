// Splunk HTTP Event Collector with indexer acknowledgement. A 200 from /services/collector/event only
// means "parsed": the batch is confirmed once /services/collector/ack reports its ackId true (Splunk
// docs: About HTTP Event Collector Indexer Acknowledgment). Token in `Authorization: Splunk <token>`,
// the acknowledgement channel in `X-Splunk-Request-Channel`. Each event carries seq, event id and the
// hashes (in the event body and as indexed `fields`) so Splunk searches can de-duplicate by seq.
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { SplunkSinkSettings } from '../../bot/config-stream.ts';
import type { SentBatch, SinkPort } from './follower.ts';
import { SinkError, itemTime, type StreamItem } from './items.ts';

/** One HEC event object (Splunk's JSON event protocol): the record is the event, seq an indexed field. */
export function hecEnvelope(item: StreamItem, index: string | undefined): Record<string, unknown> {
  return {
    time: itemTime(item).getTime() / 1000,
    host: 'custos',
    source: 'custos',
    sourcetype: item.kind === 'event' ? 'custos:audit' : 'custos:checkpoint',
    ...(index ? { index } : {}),
    fields: { custos_kind: item.kind, custos_seq: String(item.seq) },
    event: item.body,
  };
}

/** A batch as one request body: event objects one per line (HEC accepts them concatenated). */
export function hecBody(items: StreamItem[], index: string | undefined): string {
  return items.map((i) => JSON.stringify(hecEnvelope(i, index))).join('\n');
}

/** Adds to a bounded set (oldest out): batches a restarted follower forgot must not pile up. */
function remember(set: Set<number>, id: number): void {
  set.add(id);
  if (set.size > 256) set.delete(set.values().next().value!);
}

interface HecAnswer { text?: string; code?: number; ackId?: number; acks?: Record<string, boolean> }

export class SplunkHecSink implements SinkPort<StreamItem> {
  readonly name = 'splunk';
  private readonly agent = new Agent({ connections: 16, keepAliveTimeout: 30_000 });
  private readonly headers: Record<string, string>;
  // Acknowledgement is asked for every batch still waiting at once (the ack endpoint takes a list), and
  // answers for later batches are kept for their own confirmation: one ack request per round instead
  // of one per batch. Splunk reports an ackId true once, so a kept answer is the only copy.
  private readonly waiting = new Set<number>();
  private readonly indexed = new Set<number>();

  constructor(private readonly settings: SplunkSinkSettings) {
    this.headers = {
      authorization: `Splunk ${settings.token}`,
      'x-splunk-request-channel': settings.channel,
      'content-type': 'application/json',
    };
  }

  async send(items: StreamItem[]): Promise<SentBatch> {
    const body = hecBody(items, this.settings.index);
    const answer = await this.post('/services/collector/event', body);
    if (typeof answer.ackId !== 'number') {
      // Without an ackId nothing could ever confirm the batch: the token has acknowledgement disabled.
      throw new SinkError(this.name, 'HEC answered without an ackId: enable indexer acknowledgement on the token', false);
    }
    const ackId = answer.ackId;
    this.indexed.delete(ackId); // a reused ackId (the indexer restarted) is a new batch
    remember(this.waiting, ackId);
    return { confirm: () => this.waitForAck(ackId) };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Polls the ack endpoint until the batch is indexed; rejects after the configured timeout. */
  private async waitForAck(ackId: number): Promise<void> {
    const until = Date.now() + this.settings.ackTimeoutMs;
    for (let delay = 20; ; delay = Math.min(delay * 2, 1000)) {
      if (this.indexed.delete(ackId)) return;
      const asked = [...new Set([ackId, ...this.waiting])];
      const answer = await this.post(`/services/collector/ack?channel=${encodeURIComponent(this.settings.channel)}`, JSON.stringify({ acks: asked }));
      for (const id of asked) {
        if (answer.acks?.[String(id)] !== true) continue;
        this.waiting.delete(id);
        remember(this.indexed, id);
      }
      if (this.indexed.delete(ackId)) return;
      if (Date.now() + delay > until) {
        this.waiting.delete(ackId);
        throw new SinkError(this.name, `ackId ${ackId} not acknowledged within ${this.settings.ackTimeoutMs} ms; the batch will be sent again`);
      }
      await sleep(delay);
    }
  }

  private async post(path: string, body: string): Promise<HecAnswer> {
    let res;
    try {
      res = await request(`${this.settings.url}${path}`, { method: 'POST', headers: this.headers, body, dispatcher: this.agent, headersTimeout: 30_000, bodyTimeout: 30_000 });
    } catch (err) {
      throw new SinkError(this.name, `cannot reach HEC (${(err as { code?: string }).code ?? (err as Error).name})`);
    }
    const text = await res.body.text();
    let answer: HecAnswer = {};
    try { answer = JSON.parse(text) as HecAnswer; } catch { /* a proxy's HTML error page */ }
    if (res.statusCode !== 200) {
      throw new SinkError(this.name, `HEC answered ${res.statusCode} code ${answer.code ?? '?'} "${answer.text ?? ''}"`, res.statusCode >= 500 || res.statusCode === 429);
    }
    return answer;
  }
}
