// The bot's one HTTP port: Slack's events endpoint (HTTP mode), `/healthz` (the process is up) and
// `/readyz` (every dependency a lookup needs answers: Redis, the database, the audit queue). Readiness
// reports names and ok/failed only, never an error text (it may hold a URL or a host name).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.ts';
import { settleWithin } from '../core/settle.ts';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/** `path` matches exactly; `prefix` matches itself and everything below it (`/scim/v2` → `/scim/v2/Users/…`). */
export type Route = { method: HttpMethod; path: string; handler: RouteHandler } | { methods: 'any'; prefix: string; handler: RouteHandler };
export interface ReadinessCheck { name: string; check: () => Promise<unknown> }

const CHECK_TIMEOUT_MS = 1000;

export function createHttpServer(opts: { routes: Route[]; readiness: ReadinessCheck[]; logger: Logger }): Server {
  const routes: Route[] = [
    { method: 'GET', path: '/healthz', handler: (_req, res) => json(res, 200, { status: 'ok' }) },
    { method: 'GET', path: '/readyz', handler: (_req, res) => readiness(res, opts.readiness) },
    ...opts.routes,
  ];
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = routes.find((r) => ('prefix' in r ? underPrefix(path, r.prefix) : r.path === path && r.method === req.method));
    if (!route) {
      const known = routes.some((r) => 'path' in r && r.path === path);
      return json(res, known ? 405 : 404, { error: known ? 'method not allowed' : 'not found' });
    }
    Promise.resolve(route.handler(req, res)).catch((err: unknown) => {
      opts.logger.error({ err: err instanceof Error ? err.name : typeof err, path }, 'http: handler failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
    });
  });
  // Slack and load balancers keep connections open; bound idle sockets so shutdown is quick.
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  return server;
}

function underPrefix(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

async function readiness(res: ServerResponse, checks: ReadinessCheck[]): Promise<void> {
  const results = await Promise.all(checks.map(async (c) => [c.name, (await settleWithin(c.check(), CHECK_TIMEOUT_MS)) === 'resolved'] as const));
  const ready = results.every(([, ok]) => ok);
  json(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results.map(([n, ok]) => [n, ok ? 'ok' : 'failed'])) });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  return server.address() as AddressInfo;
}

/** Stops accepting, lets in-flight requests finish (up to `graceMs`), then drops what is left. */
export async function closeServer(server: Server, graceMs = 5000): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
}
