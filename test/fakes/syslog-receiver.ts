// A fake syslog collector: TCP, or TLS (RFC 5425), with octet-counting framing (RFC 6587 §3.4.1,
// "MSG-LEN SP SYSLOG-MSG", MSG-LEN without leading zeros) and RFC 5424 messages, parsed strictly:
// VERSION 1, PRI 0-191, a full timestamp, structured data with escaped values, MSG as BOM + UTF-8.
// A malformed frame or message closes the connection (what a strict collector does) and is recorded.
// Frames longer than `maxMessage` (RFC 5425: receivers SHOULD accept 8192 octets; default 64 KiB here) too.
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { Waiting } from './waiting.ts';

export interface SyslogMessage { pri: number; timestamp: string; hostname: string; appName: string; msgId: string; sd: Record<string, Record<string, string>>; msg: string }

const HEADER = /^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)) (\S{1,255}) (\S{1,48}) (\S{1,128}) (\S{1,32}) /s;

function parseSd(text: string): { sd: Record<string, Record<string, string>>; rest: string } | null {
  const sd: Record<string, Record<string, string>> = {};
  if (text.startsWith('-')) return { sd, rest: text.slice(1) };
  let i = 0;
  while (text[i] === '[') {
    const idMatch = /^\[([^ =\]"]{1,32})/.exec(text.slice(i));
    if (!idMatch) return null;
    const params: Record<string, string> = {};
    i += idMatch[0].length;
    while (text[i] === ' ') {
      const nm = /^ ([^ =\]"]{1,32})="/.exec(text.slice(i));
      if (!nm) return null;
      i += nm[0].length;
      let v = '';
      for (; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === '\\' && ['"', '\\', ']'].includes(text[i + 1]!)) { v += text[i + 1]; i++; } else if (text[i] === ']') return null; else v += text[i];
      }
      if (text[i] !== '"') return null;
      i++;
      params[nm[1]!] = v;
    }
    if (text[i] !== ']') return null;
    i++;
    sd[idMatch[1]!] = params;
  }
  return i === 0 ? null : { sd, rest: text.slice(i) };
}

export function parseSyslog(text: string): SyslogMessage | null {
  const h = HEADER.exec(text);
  if (!h || Number(h[1]) > 191) return null;
  const parsed = parseSd(text.slice(h[0].length));
  if (!parsed) return null;
  let msg = parsed.rest;
  if (msg !== '' && !msg.startsWith(' ')) return null;
  msg = msg.slice(1);
  if (msg.startsWith('\uFEFF')) msg = msg.slice(1);
  return { pri: Number(h[1]), timestamp: h[2]!, hostname: h[3]!, appName: h[4]!, msgId: h[6]!, sd: parsed.sd, msg };
}

export class FakeSyslogReceiver {
  readonly messages: SyslogMessage[] = [];
  readonly errors: string[] = [];
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private portNo = 0;
  private readonly waiting = new Waiting('fake syslog');

  constructor(private readonly opts: { tls?: { key: string | Buffer; cert: string | Buffer }; maxMessage?: number } = {}) {}

  get port(): number { return this.portNo; }

  async start(port = this.portNo): Promise<void> {
    const onConn = (s: net.Socket) => this.accept(s);
    const server = this.opts.tls ? tls.createServer({ key: this.opts.tls.key, cert: this.opts.tls.cert }, onConn) : net.createServer(onConn);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.portNo = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** The collector dies: every connection is cut (bytes in flight are lost) and the port closes. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  until(done: () => boolean, timeoutMs: number, what: string): Promise<void> { return this.waiting.until(done, timeoutMs, what); }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    const max = this.opts.maxMessage ?? 65_536;
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const sp = buf.indexOf(0x20);
        if (sp < 0) { if (buf.length > 10) this.fail(socket, 'frame length too long or missing'); return; }
        const lenText = buf.subarray(0, sp).toString('ascii');
        if (!/^[1-9]\d{0,9}$/.test(lenText)) { this.fail(socket, `bad MSG-LEN "${lenText.slice(0, 12)}"`); return; }
        const len = Number(lenText);
        if (len > max) { this.fail(socket, `message of ${len} octets exceeds ${max}`); return; }
        if (buf.length < sp + 1 + len) return;
        const text = buf.subarray(sp + 1, sp + 1 + len).toString('utf8');
        buf = buf.subarray(sp + 1 + len);
        const m = parseSyslog(text);
        if (!m) { this.fail(socket, 'not an RFC 5424 message'); return; }
        this.messages.push(m);
      }
    });
    socket.on('data', () => this.waiting.wake());
  }

  private fail(socket: net.Socket, why: string): void {
    this.errors.push(why);
    socket.destroy();
  }
}
