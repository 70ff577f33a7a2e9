// The small pieces every hand-written route needs: read a raw body with a size limit (the limit is
// checked while reading, so an oversized body is never held whole) and answer with JSON.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

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
