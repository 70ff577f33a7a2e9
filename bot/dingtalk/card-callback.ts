// POST /dingtalk/card: clicks on custos's interactive cards (HTTP callback mode). DingTalk POSTs the
// URL registered for the app's card callbacks (card/callbacks/register) with a JSON body
// `{type: 'actionCallback', outTrackId, corpId, userId, content}`, `content` being the JSON string
// `{cardPrivateData: {actionIds, params}}` with the params the template's button sends (our `action`
// and `value`, and a form's inputs). The card callback carries no signature custos could check (the
// robot's `sign` header is for robot messages), so, in this order, each failure a 401 with no effect:
//  1. the registered URL's `token` (DINGTALK_CARD_CALLBACK_TOKEN) must match, before the body is read;
//  2. the body (≤ 64 KB) must be a card callback of our organisation (corpId);
//  3. the click ledger (bot/runtime/click-ledger.ts): a card we delivered, seen by the clicker, with that button now;
//  4. a redelivery of the same body is answered 200 and dropped, so a click decides once.
import { z } from 'zod';
import { callbackRoute, parseJson, sameSecret, type Acceptance } from '../http/body.ts';
import type { RouteHandler } from '../http/server.ts';
import type { Logger } from '../logger.ts';
import type { ClickLedger } from '../runtime/click-ledger.ts';
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

export interface CardCallbackDeps { corpId: string | undefined; ledger: ClickLedger; handlers: DingTalkHandlers; logger: Logger }

/** The HTTP endpoint: step 1, then steps 2-4 (clickAcceptor). */
export function cardCallback(d: CardCallbackDeps & { token: string }): RouteHandler {
  return callbackRoute({
    label: 'dingtalk: card callback', logger: d.logger, maxBytes: MAX_BODY_BYTES, accept: clickAcceptor(d),
    before: (req) => (sameSecret(new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? '', d.token) ? null : 'bad_token'),
  });
}

/** Steps 2-4 for a click's body, from the HTTP callback or the Stream (its `data`): 'accepted' (first or redelivered), else why not. */
export function clickAcceptor(d: CardCallbackDeps): (raw: Buffer) => Promise<Acceptance> {
  return async (raw) => {
    const parsed = parse(raw);
    if (!parsed) return 'malformed_body';
    const { body, params } = parsed;
    if (d.corpId && body.corpId !== d.corpId) return 'wrong_corp';
    const action = typeof params.action === 'string' ? params.action : '';
    const value = typeof params.value === 'string' ? params.value : '';
    const verdict = await d.ledger.check(body.outTrackId, body.userId, action, value);
    if (!verdict.ok) return verdict.reason;
    const first = await d.ledger.firstDelivery(raw);
    if (first === 'unavailable') return 'ledger_unavailable';
    if (!first) {
      d.logger.info({ type: 'card_callback' }, 'dingtalk: duplicate card callback dropped');
      return 'accepted';
    }
    const { action: _a, value: _v, ...inputs } = params;
    d.handlers.click({
      outTrackId: body.outTrackId, space: verdict.space, ...(verdict.group ? { group: verdict.group } : {}), userId: body.userId, action, value, inputs,
      correlationId: correlationIdOf(raw),
    });
    return 'accepted';
  };
}

function parse(raw: Buffer): { body: z.infer<typeof CardCallback>; params: Record<string, unknown> } | null {
  const body = CardCallback.safeParse(parseJson(raw));
  const content = body.success ? Content.safeParse(parseJson(Buffer.from(body.data.content))) : undefined;
  return body.success && content?.success ? { body: body.data, params: content.data.cardPrivateData.params } : null;
}
