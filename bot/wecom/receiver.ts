// GET and POST /wecom/callback, WeCom's callback mode. GET is the URL check when the callback is
// saved: echostr is verified and decrypted like any message and its plaintext answered as is. POST
// carries `<xml><ToUserName/><AgentID/><Encrypt/></xml>`: the ciphertext is cut out of the raw bytes
// (nothing else is parsed yet), msg_signature and the timestamp window are checked over it, it is
// decrypted and its receiveid checked, and only then is the plaintext XML parsed and handled. Any
// failure is answered 401 (400 for a body that is not WeCom's envelope) and reaches no handler, no
// API call and no audit event. An empty 200 tells WeCom "received, no passive reply".
import type { IncomingMessage, ServerResponse } from 'node:http';
import { XMLParser } from 'fast-xml-parser';
import { readBodyLimited } from '../http/body.ts';
import type { Logger } from '../logger.ts';
import type { Fields, WeComHandlers } from './handlers.ts';
import { signedQuery, type EncryptedCallback } from '../http/encrypted-callback.ts';

export const WECOM_CALLBACK_PATH = '/wecom/callback';
const MAX_BODY_BYTES = 64 * 1024;
const ENVELOPE = /^\s*<xml>[\s\S]*<Encrypt><!\[CDATA\[([A-Za-z0-9+/=]{1,60000})\]\]><\/Encrypt>[\s\S]*<\/xml>\s*$/;

export interface WeComReceiverDeps {
  verifier: EncryptedCallback;
  handlers: Pick<WeComHandlers, 'handle'>;
  corpId: string;
  agentId: number;
  logger: Logger;
  now?: () => number;
  onHandlerCall?: (msgType: string) => void;
}

const parser = new XMLParser({ parseTagValue: false, ignoreAttributes: true, processEntities: false, trimValues: false });

export class WeComReceiver {
  constructor(private readonly deps: WeComReceiverDeps) {}

  /** The URL check: echostr decrypted, answered as plain text. */
  verifyUrl(req: IncomingMessage, res: ServerResponse): void {
    const q = query(req);
    const verdict = this.deps.verifier.open(q.get('echostr') ?? '', signedQuery(q), this.now());
    if (!verdict.ok) return this.refuse(res, verdict.reason);
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(verdict.value);
  }

  async callback(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBodyLimited(req, MAX_BODY_BYTES);
    if (raw === null) return send(res, 413, 'body too large');
    const envelope = ENVELOPE.exec(raw.toString('utf8'));
    if (!envelope || raw.toString('utf8').split('<Encrypt>').length !== 2) return this.refuse(res, 'malformed', 400);
    const verdict = this.deps.verifier.open(envelope[1]!, signedQuery(query(req)), this.now());
    if (!verdict.ok) return this.refuse(res, verdict.reason);
    const fields = plaintextFields(verdict.value);
    if (!fields || fields.ToUserName !== this.deps.corpId) return this.refuse(res, 'malformed', 400);
    // Another application's callback (a shared URL, a misconfiguration): not ours to act on.
    if (fields.AgentID && fields.AgentID !== String(this.deps.agentId)) return send(res, 200, '');
    try {
      this.deps.onHandlerCall?.(fields.MsgType ?? '');
      await this.deps.handlers.handle(fields);
      return send(res, 200, '');
    } catch (err) {
      this.deps.logger.error({ err: err instanceof Error ? err.name : typeof err }, 'wecom: handler failed');
      return send(res, 500, 'internal error');
    }
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  private refuse(res: ServerResponse, reason: string, status = 401): void {
    this.deps.logger.warn({ reason }, 'wecom: callback refused');
    send(res, status, status === 401 ? 'unauthorized' : 'bad request');
  }
}

/** The decrypted message's top-level fields as strings; null when it is not one `<xml>` element. */
export function plaintextFields(xml: string): Fields | null {
  // No DTDs: entity tricks have no place in WeCom's messages.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return null;
  let doc: unknown;
  try {
    doc = parser.parse(xml);
  } catch {
    return null;
  }
  const root = doc && typeof doc === 'object' ? (doc as Record<string, unknown>).xml : undefined;
  if (!root || typeof root !== 'object' || Array.isArray(root)) return null;
  const fields: Fields = {};
  for (const [k, v] of Object.entries(root)) if (typeof v === 'string') fields[k] = v;
  return fields;
}

function query(req: IncomingMessage): URLSearchParams {
  return new URL(req.url ?? '/', 'http://local').searchParams;
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}
