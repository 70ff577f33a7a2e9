// The small pieces every hand-written route needs: read a raw body with a size limit (the limit is
// checked while reading, so an oversized body is never held whole), answer with JSON, and a platform
// callback's steps in their order (checks on the request, the body, the verdict, a refusal that says nothing).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.ts';

/** The raw body, or null once it exceeds `max` bytes (the rest is not read). */
export async function readBodyLimited(req: IncomingMessage, max: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A request header's one value (Node gives a repeated one as a list: its first). */
export function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The body as JSON, or null when it is not JSON (a schema then refuses it). */
export function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return null;
  }
}

/** A shared secret compared in constant time (both hashed first, so their lengths do not show); never an empty one. */
export function sameSecret(got: string, want: string): boolean {
  const a = createHash('sha256').update(got).digest();
  return got.length > 0 && timingSafeEqual(a, createHash('sha256').update(want).digest());
}

/** A callback's verdict: 'accepted', or why not (a short code for the log; never the body). */
export type Acceptance = 'accepted' | (string & {});

export interface CallbackRoute {
  /** Its log line's prefix when refused (`dingtalk: callback`). */
  label: string;
  logger: Logger;
  maxBytes: number;
  /** What is checked before the body is read (a header signature, the URL's token): why not, or null. */
  before?: (req: IncomingMessage) => string | null;
  accept: (raw: Buffer, req: IncomingMessage) => Promise<Acceptance>;
  /** The 200 answer's body (default `{}`). */
  answer?: () => unknown;
}

/**
 * A platform's callback endpoint: `before`, then the body (at most `maxBytes`, else 413) to `accept`.
 * Accepted: 200; refused: a 401 that says nothing more, the reason logged, anything unread discarded.
 */
export function callbackRoute(r: CallbackRoute): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const refuse = (req: IncomingMessage, res: ServerResponse, reason: string) => {
    req.resume();
    r.logger.warn({ reason }, `${r.label} refused`);
    sendJson(res, 401, { error: 'unauthorized' });
  };
  return async (req, res) => {
    const early = r.before?.(req);
    if (early) return refuse(req, res, early);
    const raw = await readBodyLimited(req, r.maxBytes);
    if (raw === null) return sendJson(res, 413, { error: 'body too large' });
    const verdict = await r.accept(raw, req);
    return verdict === 'accepted' ? sendJson(res, 200, r.answer ? r.answer() : {}) : refuse(req, res, verdict);
  };
}
