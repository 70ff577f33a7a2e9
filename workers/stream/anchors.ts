// Checkpoint anchors outside the database: each signed checkpoint appended as one JSON line to a file
// (fsynced before it counts), and/or POSTed to an HTTP endpoint (a 2xx counts). `custos audit verify
// --anchors FILE` checks the chain against such copies (bot/core/audit-anchors.ts), so rewriting the
// database together with its own checkpoints is caught. Anchor sinks take checkpoints only.
import { open } from 'node:fs/promises';
import { Agent, request } from 'undici';
import { anchorLine } from '../../bot/core/audit-anchors.ts';
import type { SentBatch, SinkPort } from './follower.ts';
import { SinkError, type StreamItem } from './items.ts';

function checkpointsOnly(name: string, items: StreamItem[]) {
  return items.map((i) => {
    if (i.kind !== 'checkpoint') throw new SinkError(name, 'an anchor takes checkpoints only', false);
    return i.body;
  });
}

export class AnchorFileSink implements SinkPort<StreamItem> {
  readonly name = 'anchor-file';
  constructor(private readonly file: string) {}

  async send(items: StreamItem[]): Promise<SentBatch> {
    const lines = checkpointsOnly(this.name, items).map((cp) => `${anchorLine(cp)}\n`).join('');
    const fh = await open(this.file, 'a', 0o600).catch((err: Error) => { throw new SinkError(this.name, `cannot open the anchor file (${(err as { code?: string }).code ?? err.name})`); });
    try {
      await fh.appendFile(lines, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    return { confirm: () => Promise.resolve() };
  }
}

export class AnchorUrlSink implements SinkPort<StreamItem> {
  readonly name = 'anchor-url';
  private readonly agent = new Agent({ connections: 2 });
  constructor(private readonly url: string) {}

  async send(items: StreamItem[]): Promise<SentBatch> {
    for (const cp of checkpointsOnly(this.name, items)) {
      let status: number;
      try {
        const res = await request(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: anchorLine(cp), dispatcher: this.agent, headersTimeout: 30_000, bodyTimeout: 30_000 });
        await res.body.dump();
        status = res.statusCode;
      } catch (err) {
        throw new SinkError(this.name, `cannot reach the anchor endpoint (${(err as { code?: string }).code ?? (err as Error).name})`);
      }
      if (status < 200 || status > 299) throw new SinkError(this.name, `anchor endpoint answered ${status}`);
    }
    return { confirm: () => Promise.resolve() };
  }

  async close(): Promise<void> { await this.agent.close(); }
}
