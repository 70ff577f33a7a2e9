// POST /lark/events: events and card callbacks. Our verifier runs on the raw bytes first (signature,
// timestamp window, decryption, verification token), then the nonce is claimed once; any failure is a
// 401 and reaches no handler. Only then does the SDK's EventDispatcher see the decrypted payload, with
// `needCheck: false` (its own check is the weak one we replace). Unlike `adaptDefault`, a handler error
// here is caught and answered (500), never an unhandled rejection that ends the process.
import { headerOf, readBodyLimited, sendJson } from '../http/body.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventDispatcher } from '@larksuiteoapi/node-sdk';
import type { Logger } from '../logger.ts';
import type { OnceGuard } from '../runtime/once.ts';
import type { LarkVerifier } from './verify.ts';

export const LARK_EVENTS_PATH = '/lark/events';
const MAX_BODY_BYTES = 1024 * 1024;

export interface LarkReceiverDeps {
  verifier: LarkVerifier;
  dispatcher: EventDispatcher;
  nonces: OnceGuard;
  logger: Logger;
  now?: () => number;
}

export class LarkReceiver {
  constructor(private readonly deps: LarkReceiverDeps) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBodyLimited(req, MAX_BODY_BYTES);
    if (raw === null) return sendJson(res, 413, { error: 'body too large' });
    const verdict = this.deps.verifier.verify(raw, {
      timestamp: headerOf(req, 'x-lark-request-timestamp'), nonce: headerOf(req, 'x-lark-request-nonce'), signature: headerOf(req, 'x-lark-signature'),
    }, (this.deps.now ?? Date.now)());
    if (!verdict.ok) {
      this.deps.logger.warn({ reason: verdict.reason }, 'lark: request refused by the verifier');
      return sendJson(res, 401, { error: 'unauthorized' });
    }
    if (verdict.kind === 'challenge') return sendJson(res, 200, { challenge: verdict.challenge });
    if (!(await this.deps.nonces.first(verdict.nonce))) {
      this.deps.logger.warn({ reason: 'replayed_nonce' }, 'lark: request refused by the verifier');
      return sendJson(res, 401, { error: 'unauthorized' });
    }
    // The SDK reads headers from the prototype (they stay out of JSON.stringify); it never re-checks them here.
    const data = Object.assign(Object.create({ headers: req.headers }) as object, verdict.payload);
    try {
      const result: unknown = await this.deps.dispatcher.invoke(data, { needCheck: false });
      return sendJson(res, 200, result && typeof result === 'object' ? result : {});
    } catch (err) {
      this.deps.logger.error({ err: err instanceof Error ? err.name : typeof err }, 'lark: handler failed');
      return sendJson(res, 500, { error: 'internal error' });
    }
  }
}
