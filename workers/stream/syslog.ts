// Syslog: RFC 5424 messages over TCP with octet-counting framing (RFC 6587 §3.4.1: "LEN SP MSG"),
// optionally TLS (RFC 5425). Facility 13 (log audit), severity 6 (info). The event's chain fields are
// structured data under `custos@32473` (32473 is the enterprise number RFC 5612 reserves for
// documentation: replace it with your own if your collector filters on it); the record's JSON is the MSG.
// Syslog has no acknowledgement: a batch counts as delivered once the socket took its bytes, and after
// a broken connection the follower resends the last CUSTOS_STREAM_SYSLOG_REPLAY records. That is at
// least once only while what sat in TCP buffers when the collector died is within the replay (kernel
// buffers can hold megabytes when the collector reads slowly): prefer HEC or OTLP for evidence.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { canonicalJSON } from '../../bot/core/audit-event.ts';
import type { SyslogSinkSettings } from '../../bot/config-stream.ts';
import type { SentBatch, SinkPort } from './follower.ts';
import { SinkError, itemTime, type StreamItem } from './items.ts';

const PRI = 13 * 8 + 6;
const BOM = '\uFEFF';
/** How long close() waits for the last bytes to leave before cutting the connection. */
const CLOSE_GRACE_MS = 2000;
/** How long one batch may wait to be taken by the connection before it is cut. */
const WRITE_TIMEOUT_MS = 30_000;

/** SD-PARAM value escaping (RFC 5424 §6.3.3): `"`, `\` and `]`. */
const sdValue = (v: unknown) => String(v).replace(/["\\\]]/g, (c) => `\\${c}`);

export function syslogMessage(item: StreamItem, hostname: string): string {
  const b = item.body as Record<string, unknown>;
  const params: [string, unknown][] = item.kind === 'event'
    ? [['seq', item.seq], ['eventId', b.eventId], ['prevHash', b.prevHash], ['hash', b.hash], ['action', b.action], ['decision', b.decision]]
    : [['n', b.n], ['lastSeq', b.lastSeq], ['lastHash', b.lastHash], ['sig', b.sig]];
  const sd = `[custos@32473 ${params.map(([k, v]) => `${k}="${sdValue(v)}"`).join(' ')}]`;
  const msgId = item.kind === 'event' ? 'AUDIT' : 'CHECKPOINT';
  return `<${PRI}>1 ${itemTime(item).toISOString()} ${hostname} custos - ${msgId} ${sd} ${BOM}${canonicalJSON(item.body)}`;
}

/** One octet-counted frame. */
export function syslogFrame(message: string): Buffer {
  const msg = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${msg.length} `, 'ascii'), msg]);
}

export class SyslogSink implements SinkPort<StreamItem> {
  readonly name = 'syslog';
  private socket: net.Socket | null = null;
  private connecting: Promise<net.Socket> | null = null;

  constructor(private readonly settings: SyslogSinkSettings) {}

  async send(items: StreamItem[]): Promise<SentBatch> {
    if (this.socket?.destroyed) {
      // The connection broke after the socket took earlier batches: what sat in buffers is lost, and
      // reconnecting quietly would go on after it. Failing this send makes the follower resend from
      // its cursor minus the replay; the next send reconnects.
      this.socket = null;
      throw new SinkError(this.name, 'the connection to the collector was lost; resending the last records');
    }
    const socket = await this.connected();
    const frames = Buffer.concat(items.map((i) => syslogFrame(syslogMessage(i, this.settings.hostname))));
    await new Promise<void>((resolve, reject) => {
      // A collector that holds the connection but stops reading fills the buffers and the write never
      // completes: cut the connection after a while (the write fails, the follower resends).
      const stalled = setTimeout(() => socket.destroy(), WRITE_TIMEOUT_MS);
      socket.write(frames, (err) => {
        clearTimeout(stalled);
        if (err) reject(new SinkError(this.name, `write failed (${(err as { code?: string }).code ?? err.name})`)); else resolve();
      });
    }).catch((err: unknown) => { this.forget(socket); throw err; });
    // This send fails, so the follower resends: the next one reconnects without failing again.
    if (socket.destroyed) { this.forget(socket); throw new SinkError(this.name, 'connection closed during the write'); }
    return { confirm: () => Promise.resolve() };
  }

  private forget(socket: net.Socket): void {
    if (this.socket === socket) this.socket = null;
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    if (!s || s.destroyed) return;
    // A collector that stopped reading would hold end() forever: give it a moment, then cut.
    const ended = new Promise<void>((resolve) => s.end(resolve));
    await Promise.race([ended, sleep(CLOSE_GRACE_MS, undefined, { ref: false })]);
    s.destroy();
  }

  private connected(): Promise<net.Socket> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    this.connecting ??= this.connect().finally(() => { this.connecting = null; });
    return this.connecting;
  }

  private connect(): Promise<net.Socket> {
    const { host, port } = this.settings;
    return new Promise((resolve, reject) => {
      const socket = this.settings.tls
        ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...(this.settings.caFile ? { ca: readFileSync(this.settings.caFile) } : {}) })
        : net.connect({ host, port });
      const ready = this.settings.tls ? 'secureConnect' : 'connect';
      const fail = (err: Error) => reject(new SinkError(this.name, `cannot connect to ${host}:${port} (${(err as { code?: string }).code ?? err.message})`));
      socket.once('error', fail);
      socket.once(ready, () => {
        socket.off('error', fail);
        socket.on('error', () => socket.destroy()); // a broken connection: the next send reconnects
        socket.on('end', () => socket.destroy());
        socket.setNoDelay(true);
        this.socket = socket;
        resolve(socket);
      });
    });
  }
}
