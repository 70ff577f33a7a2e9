// The scaled-out deployment on one machine, for test/scale/ and bench/soak: a Redis topology
// (redis-topology.ts), two bot processes (`custos start --only bot`) behind a small round-robin HTTP
// proxy, and two worker processes (`custos start --only worker`), on the FerretDB the test run started.
// The proxy behaves like a load balancer with passive health checks: a backend that refuses a connection
// is skipped (and the request, which it never saw, goes to the next one); one that dies while holding a
// request yields 502 — the sender (Slack) then retries, as it does for any request not acknowledged.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { custosArgs, freePort, root } from './run-custos.ts';

export interface CustosProcess {
  name: string;
  child: ChildProcess;
  port?: number;
  exited: Promise<number | null>;
  log(): string;
}

/** `custos start --only <component>`; a bot gets HTTP_PORT (Slack's /slack/events and /readyz). */
export async function startComponent(name: string, component: 'bot' | 'worker', env: NodeJS.ProcessEnv): Promise<CustosProcess> {
  const port = component === 'bot' ? await freePort() : undefined;
  const child = spawn(process.execPath, custosArgs(['start', '--only', component]), {
    cwd: root, env: { PATH: process.env.PATH, ...env, HTTP_PORT: String(port ?? 0), LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  // Kept whole up to 20 MB: a failed drill reads a request's lines from early in the run (scale-diagnose.ts).
  child.stderr!.on('data', (d: Buffer) => { log += d.toString(); if (log.length > 20_000_000) log = log.slice(-10_000_000); });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { name, child, ...(port ? { port } : {}), exited, log: () => log };
}

export async function waitReady(p: CustosProcess, what: RegExp | undefined, ms = 180_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (p.child.exitCode !== null) throw new Error(`${p.name} exited: ${p.log().slice(-2000)}`);
    const ok = p.port
      ? await fetch(`http://127.0.0.1:${p.port}/readyz`).then((r) => r.status === 200).catch(() => false)
      : what!.test(p.log());
    if (ok) return;
    if (Date.now() > end) throw new Error(`${p.name} not ready: ${p.log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

export async function killHard(p: CustosProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGKILL');
  await p.exited;
}

/** SIGTERM, and its exit code; 'still running' if it has not exited within `ms` (a drill must fail, not hang). */
export async function stopGracefully(p: CustosProcess, ms = 90_000): Promise<number | null | 'still running'> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode;
  p.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still running'>((r) => { timer = setTimeout(() => r('still running'), ms); });
  try { return await Promise.race([p.exited, late]); } finally { clearTimeout(timer); }
}

export interface ProxyRecord { backend: number; status: number }

export interface RoundRobinProxy {
  url: string;
  /** Backend ports; replace one on a restart. */
  backends: number[];
  /** Each forwarded request's backend and status, in order (what the drills attribute replies by). */
  served: ProxyRecord[];
  /** Requests forwarded to `port` whose path starts with `prefix` and not yet answered (what a SIGKILL there would cut). */
  holding(port: number, prefix: string): number;
  close(): Promise<void>;
}

export async function startProxy(backends: number[]): Promise<RoundRobinProxy> {
  const served: ProxyRecord[] = [];
  const open = new Map<number, string[]>();
  let next = 0;
  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse, tries: number) => {
    const list = proxy.backends;
    const port = list[next++ % list.length]!;
    const path = req.url ?? '';
    open.set(port, [...(open.get(port) ?? []), path]);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      const held = open.get(port) ?? [];
      const i = held.indexOf(path);
      if (i >= 0) held.splice(i, 1);
    };
    res.on('close', close);
    const out = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        served.push({ backend: port, status: up.statusCode ?? 502 });
        res.writeHead(up.statusCode ?? 502, { ...up.headers, 'x-custos-backend': String(port) });
        res.end(Buffer.concat(chunks));
      });
      up.on('error', () => { served.push({ backend: port, status: 502 }); if (!res.headersSent) { res.writeHead(502); res.end(); } });
    });
    out.on('error', (err: NodeJS.ErrnoException) => {
      close();
      // Refused: the backend never saw the request, so another may take it. Anything else: it may have.
      if (err.code === 'ECONNREFUSED' && tries < list.length * 2) { forward(req, body, res, tries + 1); return; }
      served.push({ backend: port, status: 502 });
      if (!res.headersSent) { res.writeHead(502); res.end(); }
    });
    out.end(body);
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => forward(req, Buffer.concat(chunks), res, 0));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const proxy: RoundRobinProxy = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    backends: [...backends],
    served,
    holding: (port, prefix) => (open.get(port) ?? []).filter((p) => p.startsWith(prefix)).length,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
  return proxy;
}
