// HTTP routes of the playground. It verifies nobody (that is the point of a local playground), so it
// protects itself the other ways a loopback service can be attacked from a browser:
//  - DNS rebinding: the Host header must name a loopback host (or the configured bind host);
//  - cross-site requests: POSTs must be JSON (a cross-origin JSON POST needs a CORS preflight, which we
//    never grant) and, when the browser sends an Origin, it must be this very host;
//  - no third-party content: a strict Content-Security-Policy, assets served from here.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { EmployeeStore } from '../store/employee-store.ts';
import { parseLocale, type Locale } from '../core/messages.ts';
import type { Route } from '../http/server.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { APP_CSS, APP_JS } from './assets.ts';
import { PLAYGROUND_ACTIONS, PLAYGROUND_CHANNELS, type FlowResult, type PlaygroundFlow, type Turn } from './flow.ts';
import { renderViewHtml } from './html.ts';
import { DOWNLOAD_PATH, type PlaygroundFiles } from './export-delivery.ts';
import type { InboxItem, PlaygroundInbox } from './inbox.ts';
import { ASSET_CSS, ASSET_JS, FAVICON_SVG, renderPage } from './page.ts';

export const API_MESSAGE = '/playground/api/message';
export const API_ACTION = '/playground/api/action';
export const API_INBOX = '/playground/api/inbox';
const MAX_BODY = 16 * 1024;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

const context = {
  employeeId: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/),
  channel: z.enum(PLAYGROUND_CHANNELS).default('dm'),
  members: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,32}$/)).max(200).default([]),
};
/** The last inbox seq the page has shown: replies carry what changed after it. */
const after = z.number().int().min(0).optional();
const messageBody = z.object({ ...context, after, text: z.string().max(2000) });
const actionBody = z.object({
  ...context, after, action: z.enum(PLAYGROUND_ACTIONS), value: z.string().min(1).max(2000),
  form: z.object({
    purpose: z.string().max(2000).optional(), duration: z.string().max(20).optional(),
    groups: z.array(z.string().max(32)).max(20).optional(), reason: z.string().max(2000).optional(),
  }).default({}),
});
const inboxBody = z.object({ employeeId: context.employeeId, after });

export interface PlaygroundRouteDeps {
  flow: PlaygroundFlow;
  employees: Pick<EmployeeStore, 'all'>;
  defaultLocale: Locale;
  bindHost: string;
  logger: Logger;
  metrics?: Metrics;
  inbox?: PlaygroundInbox;
  files?: PlaygroundFiles;
}

export function playgroundRoutes(deps: PlaygroundRouteDeps): Route[] {
  const allowedHosts = new Set([...LOOPBACK_HOSTS, deps.bindHost.toLowerCase()]);
  const guard = (handler: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void) =>
    async (req: IncomingMessage, res: ServerResponse) => {
      const host = hostnameOf(req.headers.host);
      if (!host || !allowedHosts.has(host)) return send(res, 421, 'application/json', JSON.stringify({ error: 'unknown host: open the playground through localhost or 127.0.0.1' }));
      return handler(req, res);
    };
  return [
    {
      method: 'GET', path: '/', handler: guard(async (req, res) => {
        const lang = new URL(req.url ?? '/', 'http://x').searchParams.get('lang');
        const page = renderPage(await deps.employees.all(), lang ? parseLocale(lang, deps.defaultLocale) : deps.defaultLocale);
        send(res, 200, 'text/html; charset=utf-8', page);
      }),
    },
    { method: 'GET', path: ASSET_CSS, handler: guard((_req, res) => send(res, 200, 'text/css; charset=utf-8', APP_CSS)) },
    { method: 'GET', path: ASSET_JS, handler: guard((_req, res) => send(res, 200, 'text/javascript; charset=utf-8', APP_JS)) },
    { method: 'GET', path: '/favicon.ico', handler: guard((_req, res) => send(res, 200, 'image/svg+xml', FAVICON_SVG)) },
    { method: 'GET', path: DOWNLOAD_PATH, handler: guard(download(deps)) },
    { method: 'POST', path: API_MESSAGE, handler: guard(api(deps, messageBody, (b, turn) => deps.flow.text(b.text, turn))) },
    { method: 'POST', path: API_ACTION, handler: guard(api(deps, actionBody, (b, turn) => deps.flow.action(b.action, b.value, turn, stripUndefined(b.form)))) },
    { method: 'POST', path: API_INBOX, handler: guard(inbox(deps)) },
  ];
}

/** An export file from the requester's inbox, as an attachment (the bytes the export worker wrote). */
function download(deps: PlaygroundRouteDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
    const file = /^[A-Za-z0-9_-]{24}$/.test(id) ? await deps.files?.get(id) : null;
    if (!file) return refuse(res, 404, 'no such file');
    res.writeHead(200, {
      'content-type': file.filename.endsWith('.zip') ? 'application/zip' : 'text/csv; charset=utf-8', // the compliance pack is a ZIP
      'content-disposition': `attachment; filename="${file.filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
      'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer',
    });
    res.end(file.data);
  };
}

/** What the approval flow and the export worker posted to the employee since the page last saw (`after`). */
function inbox(deps: PlaygroundRouteDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return refuse(res, 415, 'send application/json');
    const origin = req.headers.origin;
    if (origin !== undefined && hostOf(origin) !== (req.headers.host ?? '').toLowerCase()) return refuse(res, 403, 'cross-origin request refused');
    let parsed;
    try {
      parsed = inboxBody.safeParse(JSON.parse(await readBody(req)));
    } catch {
      return refuse(res, 400, 'the body must be one JSON object of at most 16 KiB');
    }
    if (!parsed.success) return refuse(res, 400, 'invalid fields: employeeId, after');
    send(res, 200, 'application/json', JSON.stringify(await inboxSince(deps, parsed.data.employeeId, parsed.data.after ?? 0)));
  };
}

/** The inbox items after `after`, and the cursor the page sends next time. */
async function inboxSince(deps: PlaygroundRouteDeps, employeeId: string, after: number | undefined, again: InboxItem[] = []): Promise<{ inbox: (InboxItem & { again?: true })[]; cursor: number }> {
  if (!deps.inbox || after === undefined) return { inbox: again.map((i) => ({ ...i, again: true })), cursor: after ?? 0 };
  const items = await deps.inbox.since(employeeId, after);
  const shownAgain = new Set(again.map((i) => i.ref));
  const inbox = [...items.filter((i) => !shownAgain.has(i.ref)), ...again.map((i) => ({ ...i, again: true as const }))];
  return { inbox, cursor: Math.max(after, ...items.map((i) => i.seq), ...again.map((i) => i.seq)) };
}

function stripUndefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

function api<S extends typeof messageBody | typeof actionBody>(
  deps: PlaygroundRouteDeps, schema: S, run: (body: z.infer<S>, turn: Turn) => Promise<FlowResult>,
) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = process.hrtime.bigint();
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return refuse(res, 415, 'send application/json');
    const origin = req.headers.origin;
    if (origin !== undefined && hostOf(origin) !== (req.headers.host ?? '').toLowerCase()) return refuse(res, 403, 'cross-origin request refused');
    let raw: unknown;
    try {
      raw = JSON.parse(await readBody(req));
    } catch {
      return refuse(res, 400, 'the body must be one JSON object of at most 16 KiB');
    }
    const parsed = schema.safeParse(raw);
    // Names the fields only, never their values (a message may hold a phone number).
    if (!parsed.success) return refuse(res, 400, `invalid fields: ${[...new Set(parsed.error.issues.map((i) => i.path.join('.')))].join(', ')}`);
    const requestId = newRequestId();
    const body = parsed.data as z.infer<S>;
    const turn: Turn = { employeeId: body.employeeId, channel: body.channel, members: body.members, requestId };
    const result = await run(body, turn);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    deps.metrics?.observeCommand('playground', result.command, seconds);
    deps.logger.info({ requestId, employeeId: body.employeeId, command: result.command, replies: result.replies.map((r) => r.view.kind), ms: Math.round(seconds * 1000) }, 'playground: command');
    res.setHeader('x-request-id', requestId);
    send(res, 200, 'application/json', JSON.stringify({
      requestId,
      command: result.command,
      replies: result.replies.map((r) => ({ to: r.to, kind: r.view.kind, html: renderViewHtml(r.view) })),
      // `pending` shows the pending approval cards again, at the bottom, with their refs (clicks update them).
      ...(await inboxSince(deps, body.employeeId, body.after, result.again ?? [])),
    }));
  };
}

/** A correlation id for one request; it travels into the audit event (`correlationId`) and the logs. */
export function newRequestId(): string {
  // Letters-only prefix and base64url: never a long digit run the audit PII guard would reject.
  return `pg-${randomBytes(12).toString('base64url')}`;
}

function hostnameOf(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined;
  const h = hostHeader.toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  return h.split(':')[0];
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function refuse(res: ServerResponse, status: number, error: string): void {
  send(res, status, 'application/json', JSON.stringify({ error }));
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  });
  res.end(body);
}
