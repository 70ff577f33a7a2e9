// POST /dingtalk/card: clicks on custos's interactive cards (HTTP callback mode). DingTalk POSTs the
// URL registered for the app's card callbacks (card/callbacks/register) with a JSON body
// `{type: 'actionCallback', outTrackId, corpId, userId, content}`, `content` being the JSON string
// `{cardPrivateData: {actionIds, params}}` with the params the template's button sends (our `action`
// and `value`, and a form's inputs). The card callback carries no signature custos could check (the
// robot's `sign` header is for robot messages), so, in this order, each failure a 401 with no effect:
//  1. the registered URL's `token` (DINGTALK_CARD_CALLBACK_TOKEN) must match, before the body is read;
//  2. the body (≤ 64 KB) must be a card callback of our organisation (corpId);
//  3. the card ledger (card-ledger.ts): a card we delivered, seen by the clicker, with that button now;
//  4. a redelivery of the same body is answered 200 and dropped, so a click decides once.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { parseJson, readBodyLimited, sameSecret, sendJson } from '../http/body.ts';
import type { Logger } from '../logger.ts';
import type { CardLedger } from './card-ledger.ts';
import { correlationIdOf, type DingTalkHandlers } from './handlers.ts';

export const DINGTALK_CARD_PATH = '/dingtalk/card';
const MAX_BODY_BYTES = 64 * 1024;

const CardCallback = z.object({
  type: z.literal('actionCallback'),
  outTrackId: z.string().min(1).max(200),
  corpId: z.string().max(100).optional(),
  userId: z.string().min(1).max(100),
  content: z.string().max(60_000),
});
const Content = z.object({
  cardPrivateData: z.object({
    actionIds: z.array(z.string().max(100)).max(10).optional(),
    params: z.record(z.string().max(40), z.unknown()),
  }),
});

/** A verified click: who, on which card, which button, and the form's inputs when it was a form. */
export interface CardClick { outTrackId: string; space: string; group?: string; userId: string; action: string; value: string; inputs: Record<string, unknown>; correlationId: string }

/** `token`: the registered URL's (HTTP mode); none in Stream mode, where only `accept` is used. */
export interface CardCallbackDeps { token: string | undefined; corpId: string | undefined; ledger: CardLedger; handlers: DingTalkHandlers; logger: Logger }

export class DingTalkCardCallback {
  constructor(private readonly deps: CardCallbackDeps) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const token = new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? '';
    if (!this.deps.token || !sameSecret(token, this.deps.token)) {
      req.resume();
      return this.refuse(res, 'bad_token');
    }
    const raw = await readBodyLimited(req, MAX_BODY_BYTES);
    if (raw === null) return sendJson(res, 413, { error: 'body too large' });
    const verdict = await this.accept(raw);
    return verdict === 'accepted' ? sendJson(res, 200, {}) : this.refuse(res, verdict);
  }

  /** Steps 2-4 for a click's body, from the HTTP callback or the Stream (its `data`): 'accepted' (first or redelivered), else why not. */
  async accept(raw: Buffer): Promise<string> {
    const parsed = parse(raw);
    if (!parsed) return 'malformed_body';
    const { body, params } = parsed;
    if (this.deps.corpId && body.corpId !== this.deps.corpId) return 'wrong_corp';
    const action = typeof params.action === 'string' ? params.action : '';
    const value = typeof params.value === 'string' ? params.value : '';
    const verdict = await this.deps.ledger.check(body.outTrackId, body.userId, action, value);
    if (!verdict.ok) return verdict.reason;
    const first = await this.deps.ledger.firstDelivery(raw);
    if (first === 'unavailable') return 'ledger_unavailable';
    if (!first) {
      this.deps.logger.info({ type: 'card_callback' }, 'dingtalk: duplicate card callback dropped');
      return 'accepted';
    }
    const { action: _a, value: _v, ...inputs } = params;
    this.deps.handlers.click({
      outTrackId: body.outTrackId, space: verdict.space, ...(verdict.group ? { group: verdict.group } : {}), userId: body.userId, action, value, inputs,
      correlationId: correlationIdOf(raw),
    });
    return 'accepted';
  }

  private refuse(res: ServerResponse, reason: string): void {
    this.deps.logger.warn({ reason }, 'dingtalk: card callback refused');
    sendJson(res, 401, { error: 'unauthorized' });
  }
}

function parse(raw: Buffer): { body: z.infer<typeof CardCallback>; params: Record<string, unknown> } | null {
  const body = CardCallback.safeParse(parseJson(raw));
  const content = body.success ? Content.safeParse(parseJson(Buffer.from(body.data.content))) : undefined;
  return body.success && content?.success ? { body: body.data, params: content.data.cardPrivateData.params } : null;
}
