// One request to a platform's Open API over fetch (DingTalk's and WeCom's; Lark and Slack use their SDKs):
// a timeout (longer for a file upload), the app's access token (token-cache.ts) in the query or a header,
// and the answer's JSON. What an error looks like is each platform's (DingTalk: an HTTP status with
// `code`, or errcode at 200; WeCom: errcode at 200), so the status and body are handed back for the
// adapter to map into its own error. Neither a body sent nor one received is logged here (cards and
// contacts hold customer data).
import { TokenCache } from './token-cache.ts';

/** A multipart body the caller built itself (WeCom's upload names a `filelength` FormData cannot write). */
export interface RawBody { bytes: Buffer; type: string }
export type Payload = Record<string, unknown> | FormData | RawBody | undefined;
/** Where the token goes: nowhere (the token request itself), the `access_token` query parameter, or a header. */
export type TokenPlace = 'none' | 'query' | { header: string };
/** `body`: the answer as a JSON object, null when it is not one. */
export interface OpenApiReply { ok: boolean; status: number; body: Record<string, unknown> | null }

const TIMEOUT_MS = 10_000;
const UPLOAD_TIMEOUT_MS = 60_000;

export class OpenApiClient {
  readonly tokens: TokenCache;

  /** `buy`: the platform's token request (made through this client with token 'none'). */
  constructor(buy: () => Promise<{ value: string; ttlMs: number }>, now: () => number) {
    this.tokens = new TokenCache(buy, now);
  }

  async request(method: 'GET' | 'POST' | 'PUT', url: string, payload: Payload, token: TokenPlace, query: Record<string, string> = {}): Promise<OpenApiReply> {
    const value = token === 'none' ? undefined : await this.tokens.get();
    const q = { ...query, ...(token === 'query' ? { access_token: value! } : {}) };
    return openApiRequest(method, url, payload, typeof token === 'object' ? { [token.header]: value! } : {}, q);
  }
}

/** The request without a token (DingTalk's Stream gateway is opened with the app's key and secret in the body). */
export async function openApiRequest(method: 'GET' | 'POST' | 'PUT', url: string, payload: Payload, extraHeaders: Record<string, string> = {}, query: Record<string, string> = {}): Promise<OpenApiReply> {
  const q = new URLSearchParams(query).toString();
  const { body: sent, headers } = encode(payload);
  const upload = payload instanceof FormData || isRaw(payload);
  const res = await fetch(q ? `${url}?${q}` : url, {
    method, body: sent, headers: { ...headers, ...extraHeaders }, signal: AbortSignal.timeout(upload ? UPLOAD_TIMEOUT_MS : TIMEOUT_MS),
  });
  const body: unknown = await res.json().catch(() => null);
  return { ok: res.ok, status: res.status, body: body && typeof body === 'object' && !Array.isArray(body) ? body as Record<string, unknown> : null };
}

function isRaw(p: Payload): p is RawBody {
  return p !== undefined && !(p instanceof FormData) && Buffer.isBuffer(p.bytes) && typeof p.type === 'string';
}

/** JSON, a FormData (fetch sets its content type and boundary) or a raw multipart body; nothing for a GET. */
function encode(p: Payload): { body: string | FormData | Buffer | null; headers: Record<string, string> } {
  if (p === undefined) return { body: null, headers: {} };
  if (p instanceof FormData) return { body: p, headers: {} };
  if (isRaw(p)) return { body: p.bytes, headers: { 'content-type': p.type } };
  return { body: JSON.stringify(p), headers: { 'content-type': 'application/json' } };
}
