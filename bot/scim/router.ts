// The SCIM 2.0 endpoint under /scim/v2 on the bot's HTTP server. Every request is checked in this
// order before its body is read: a configured bearer token (constant-time compare against each of
// CUSTOS_SCIM_TOKENS), the per-token rate limit (GCRA in Redis, shared by replicas), then the size
// limit while reading. Every refusal is a SCIM error body and a `scim.refused` audit record; a change
// is answered only once its audit record and its effects are done. Without the audit queue nothing
// changes (503), as everywhere in custos.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ScimSettings } from '../config.ts';
import { isCustosError, ErrorCode } from '../core/errors.ts';
import type { Clock } from '../core/ports.ts';
import { headerOf } from '../http/body.ts';
import type { Route } from '../http/server.ts';
import type { Logger } from '../logger.ts';
import type { ScimAudit } from './audit.ts';
import { badRequest, notFound, notImplemented, ScimError } from './errors.ts';
import type { ScimGroups } from './groups.ts';
import { listResponse, resourceTypes, schemas, SCIM_CONTENT_TYPE, serviceProviderConfig } from './protocol.ts';
import type { Answer, Caller, ScimUsers } from './users.ts';

export const SCIM_PREFIX = '/scim/v2';

export interface RateLimiter { take(key: string, nowMs: number, perMinute: number, burst: number): Promise<{ allowed: boolean; retryAfterMs: number }> }

export interface ScimRouterDeps {
  settings: ScimSettings;
  users: ScimUsers;
  groups: ScimGroups;
  audit: ScimAudit;
  limiter: RateLimiter;
  clock: Clock;
  logger: Logger;
}

const digest = (v: string) => createHash('sha256').update(v).digest();

/** The position (token-1, token-2 …) of the presented bearer token, or null. Every token is compared, always. */
export function matchToken(header: string | undefined, tokens: readonly string[]): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  const presented = digest(m?.[1] ?? '');
  let found: string | null = null;
  tokens.forEach((t, i) => { if (timingSafeEqual(digest(t), presented) && m) found = `token-${i + 1}`; });
  return found;
}

export function scimRoute(deps: ScimRouterDeps): Route {
  const expected = deps.settings.tokens.map((t) => t);
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://scim.invalid');
    const method = req.method ?? 'GET';
    const token = matchToken(req.headers.authorization, expected);
    try {
      if (!token) {
        throw new ScimError(401, 'a valid bearer token is required (Authorization: Bearer …, one of CUSTOS_SCIM_TOKENS)', undefined, { 'www-authenticate': 'Bearer realm="custos-scim"' });
      }
      const rate = await deps.limiter.take(`scim-${token}`, deps.clock.now().getTime(), deps.settings.ratePerMinute, deps.settings.rateBurst);
      if (!rate.allowed) throw new ScimError(429, 'too many requests for this token; retry later', 'tooMany', { 'retry-after': String(Math.max(1, Math.ceil(rate.retryAfterMs / 1000))) });
      const caller: Caller = { token, base: baseUrl(req), ifMatch: headerOf(req, 'if-match') };
      const answer = await dispatch(deps, method, url, req, caller);
      send(res, answer.status, answer.body, answer.etag ? { etag: answer.etag } : {});
    } catch (err) {
      const e = toScimError(err, deps.logger);
      await deps.audit.record('scim.refused', token, { resource: resourceOf(url.pathname), status: e.status, method, reason: e.reason }).catch(() => undefined);
      send(res, e.status, e.body(), e.headers);
    }
  };
  return { methods: 'any', prefix: SCIM_PREFIX, handler: handle };
}

async function dispatch(deps: ScimRouterDeps, method: string, url: URL, req: IncomingMessage, caller: Caller): Promise<Answer> {
  const parts = url.pathname.slice(SCIM_PREFIX.length).split('/').filter(Boolean).map(decodeURIComponent);
  const [collection, id, ...rest] = parts;
  if (rest.length > 0) throw notFound('resource');
  const base = caller.base;
  if (method === 'GET' && !id) {
    if (collection === 'ServiceProviderConfig') return { status: 200, body: serviceProviderConfig(base) };
    if (collection === 'ResourceTypes') { const all = resourceTypes(base); return { status: 200, body: listResponse(all, all.length, 1) }; }
    if (collection === 'Schemas') { const all = schemas(base); return { status: 200, body: listResponse(all, all.length, 1) }; }
  }
  if (method === 'GET' && id && (collection === 'ResourceTypes' || collection === 'Schemas')) {
    const found = (collection === 'ResourceTypes' ? resourceTypes(base) : schemas(base)).find((r) => r.id === id);
    if (!found) throw notFound(`${collection} ${id.slice(0, 64)}`);
    return { status: 200, body: found };
  }
  unsupported(collection, id, url.searchParams);
  const service = collection === 'Users' ? deps.users : collection === 'Groups' ? deps.groups : null;
  if (!service) throw notFound(`endpoint /${(collection ?? '').slice(0, 40)}`);
  if (!id) {
    if (method === 'GET') return service.list(url.searchParams, base);
    if (method === 'POST') return service.create(await readJson(req, deps.settings.maxBodyBytes), caller);
    throw new ScimError(405, `${method} is not allowed on /${collection}`);
  }
  switch (method) {
    case 'GET': return service.get(id, base);
    case 'PUT': return service.replace(id, await readJson(req, deps.settings.maxBodyBytes), caller);
    case 'PATCH': return service.patch(id, await readJson(req, deps.settings.maxBodyBytes), caller);
    case 'DELETE': return service.delete(id, caller);
    default: throw new ScimError(405, `${method} is not allowed on /${collection}/{id}`);
  }
}

/**
 * The optional parts of SCIM custos does not offer, refused as such (501) rather than as unknown paths
 * or silently ignored: an IdP that tries them learns why. ServiceProviderConfig says the same.
 */
function unsupported(collection: string | undefined, id: string | undefined, query: URLSearchParams): void {
  if (collection === 'Bulk') throw notImplemented('bulk operations are not supported (ServiceProviderConfig bulk.supported is false); send each change as its own request');
  if (collection === 'Me') throw notImplemented('the /Me alias is not supported: a token here stands for the identity provider, not for a user');
  if (collection === '.search' || id === '.search') throw notImplemented('POST .search is not supported; query with GET and filter');
  if (query.has('sortBy') || query.has('sortOrder')) throw notImplemented('sorting is not supported (ServiceProviderConfig sort.supported is false); results come in a stable order by id');
}

/** The body as JSON, refused past `limit` bytes (413, read no further) or when it is not JSON (400). */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (type && !/^application\/(scim\+)?json\b/.test(type)) throw new ScimError(415, 'the body must be application/scim+json or application/json');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new ScimError(413, `the body is larger than CUSTOS_SCIM_MAX_BODY_BYTES (${limit} bytes)`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new ScimError(413, `the body is larger than CUSTOS_SCIM_MAX_BODY_BYTES (${limit} bytes)`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw badRequest('invalidSyntax', 'the body is not valid JSON');
  }
}

function toScimError(err: unknown, logger: Logger): ScimError {
  if (err instanceof ScimError) return err;
  if (isCustosError(err, ErrorCode.AuditUnavailable)) return new ScimError(503, 'the audit log is unavailable, so nothing was changed; retry later', undefined, { 'retry-after': '5' });
  logger.error({ err: err instanceof Error ? err.name : typeof err }, 'scim: request failed');
  return new ScimError(500, 'internal error; nothing was changed or the change is incomplete, retry the request');
}

function resourceOf(path: string): 'User' | 'Group' | 'none' {
  if (path.startsWith(`${SCIM_PREFIX}/Users`)) return 'User';
  if (path.startsWith(`${SCIM_PREFIX}/Groups`)) return 'Group';
  return 'none';
}

function baseUrl(req: IncomingMessage): string {
  const proto = headerOf(req, 'x-forwarded-proto') === 'https' ? 'https' : 'http';
  const host = (headerOf(req, 'host') ?? 'localhost').replace(/[^A-Za-z0-9.:[\]-]/g, '');
  return `${proto}://${host}${SCIM_PREFIX}`;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  if (res.headersSent) return;
  res.writeHead(status, { ...(body === undefined ? {} : { 'content-type': `${SCIM_CONTENT_TYPE}; charset=utf-8` }), ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}
